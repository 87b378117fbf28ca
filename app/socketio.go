package app

import (
	"github.com/chatsniff/chatsniff/app/socketio"
	"github.com/chatsniff/chatsniff/decode"
)

// SocketIO is Socket.IO over Engine.IO as a Protocol: a connection is
// claimed by a request target with EIO= in its query (a WebSocket upgrade
// or a long-polling request), or, when its upgrade was not captured, by a
// first text message that reads as an Engine.IO packet.
type SocketIO struct {
	r *socketio.Reader
	// paths are the request targets of the WebSocket connections claimed,
	// by connection number, until their close.
	paths map[uint64]string
	in    socketio.Input
	ev    decode.Event // the event made of one packet of a polling body
}

// NewSocketIO returns the Socket.IO protocol.
func NewSocketIO() *SocketIO {
	return &SocketIO{r: socketio.NewReader(), paths: make(map[uint64]string)}
}

// Name is "socket.io".
func (*SocketIO) Name() string { return "socket.io" }

// Claims reports whether e's request target is Engine.IO's, or e is a
// first text message that reads as an Engine.IO packet.
func (*SocketIO) Claims(e *decode.Event) bool {
	if e.Path != "" {
		return socketio.IsEngineIOPath(e.Path)
	}
	return e.Kind == decode.KindMessage && e.Opcode == decode.OpText && socketio.LooksLikeEngineIO(e.Payload)
}

// Read reads a message as Engine.IO packets: the event goes on with its
// packet (App, ChatLine, Heartbeat) when it holds one, as a WebSocket
// message does, and as one event per packet when it holds several, as a
// polling body may. Each event's App is a *socketio.Message of its own.
func (s *SocketIO) Read(e *decode.Event, next decode.Sink) {
	switch e.Kind {
	case decode.KindOpen:
		if !e.Polling {
			if len(s.paths) >= maxConns {
				clear(s.paths)
			}
			s.paths[e.ConnID] = e.Path
		}
	case decode.KindClose:
		delete(s.paths, e.ConnID)
		s.r.Close(e.ConnID)
	case decode.KindMessage:
		if s.message(e, next) {
			return
		}
	}
	next.Event(e)
}

// message reads a message event; it reports whether it handed on the
// events itself.
func (s *SocketIO) message(e *decode.Event, next decode.Sink) bool {
	if e.Truncated || (e.Opcode != decode.OpText && e.Opcode != decode.OpBinary) {
		return false // control frames are WebSocket's; a cut message cannot be read
	}
	in := &s.in
	*in = socketio.Input{
		Conn: e.ConnID, FromClient: e.FromClient, Time: e.Time,
		Path: s.paths[e.ConnID], Polling: e.Polling, Method: e.Method, Status: e.Status,
		Binary: e.Opcode == decode.OpBinary, Payload: e.Payload,
	}
	if e.Polling {
		in.Path = e.Path
	}
	msgs := s.r.Read(in)
	switch {
	case len(msgs) == 0:
		return false
	case len(msgs) == 1 && !e.Polling:
		set(e, &msgs[0])
		return false
	}
	// A polling body: one event per packet, each with the packet's own
	// bytes as it stood in the body, text or binary.
	for i := range msgs {
		m := &msgs[i]
		ev := &s.ev
		*ev = *e
		ev.Payload, ev.Opcode, ev.PayloadIsText = packetBytes(ev.Payload[:0:0], m), decode.OpText, true
		if m.Binary {
			ev.Opcode, ev.PayloadIsText = decode.OpBinary, false
		}
		ev.Length = len(ev.Payload)
		set(ev, m)
		next.Event(ev)
	}
	return true
}

// set fills in e's app fields from m.
func set(e *decode.Event, m *socketio.Message) {
	e.App = m.Clone()
	e.ChatLine = m.Line
	e.Heartbeat = m.Heartbeat
	if p := m.IO; p != nil {
		e.Talk = decode.Talk{From: p.User, To: p.To, Room: p.Room}
		if p.Type == socketio.Event || p.Type == socketio.BinaryEvent {
			e.Talk.Type = p.Event
		}
	}
}

// packetBytes appends a packet of a polling body as it would stand in a
// WebSocket message: its type digit and data, or a binary packet's bytes.
func packetBytes(b []byte, m *socketio.Message) []byte {
	if m.Binary {
		return append(b, m.Data...)
	}
	if m.Engine <= socketio.EngineNoop {
		b = append(b, '0'+byte(m.Engine))
	}
	return append(b, m.Data...)
}
