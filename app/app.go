// Package app is the pipeline's application-protocol stage, after the
// WebSocket layer (package decode): it finds which protocol each
// connection carries and has that protocol read the connection's
// messages, filling in the app fields of their events (Chat, ChatLine,
// App, Heartbeat) before they are rendered.
//
// The protocols, each behind the one Protocol interface:
//
//   - socketio (package app/socketio): Socket.IO over Engine.IO, v3 and v4,
//     on WebSocket and on HTTP long-polling, claimed by its request path
//     (EIO= in the query) or, midstream, by its first text message;
//   - workerman (package app/workerman): workerman-chat's JSON, the last
//     resort, claiming whatever else has messages and reading its JSON
//     objects.
//
// A connection no protocol claims passes through unread.
package app

import "github.com/chatsniff/chatsniff/decode"

// Protocol is one application protocol carried in WebSocket messages (or
// Engine.IO polling bodies). A Protocol sees the events of the
// connections it claimed, in capture order, and only those.
type Protocol interface {
	// Name is the protocol's name, as the README lists it.
	Name() string
	// Claims reports whether a connection carries the protocol, from its
	// open event or, while no protocol has claimed the connection, from
	// one of its messages.
	Claims(e *decode.Event) bool
	// Read reads one event of a claimed connection (its messages, gaps,
	// errors and close, and the message that claimed it) and hands it to
	// next with its app fields filled in, or the events it makes of it
	// (one per packet of a polling body). Events are valid only during
	// next's call, as everywhere in the pipeline.
	Read(e *decode.Event, next decode.Sink)
}

// maxConns bounds Stage.conns: a connection whose close is never seen
// would otherwise stay. When full it starts again empty, and a connection
// still open is claimed again by its next message.
const maxConns = 1 << 16

// Stage hands each connection's events to the protocol that claimed it,
// and the events of unclaimed connections straight on. It is a
// decode.Sink; like the Decoder before it, it is not safe for concurrent
// use.
type Stage struct {
	protocols []Protocol
	next      decode.Sink
	// conns are the connections settled, by Event.ConnID, until their
	// close: the protocol that claimed each, or nil for none.
	conns map[uint64]Protocol
}

// NewStage returns a Stage trying protocols in the order given (the first
// to claim a connection reads it) and handing events on to next.
func NewStage(next decode.Sink, protocols ...Protocol) *Stage {
	return &Stage{protocols: protocols, next: next, conns: make(map[uint64]Protocol)}
}

// Event routes e to its connection's protocol.
func (s *Stage) Event(e *decode.Event) {
	p, ok := s.conns[e.ConnID]
	if !ok && (e.Kind == decode.KindOpen || e.Kind == decode.KindMessage) {
		p = s.claim(e)
	}
	if e.Kind == decode.KindClose {
		delete(s.conns, e.ConnID)
	}
	if p == nil {
		s.next.Event(e)
		return
	}
	p.Read(e, s.next)
}

// claim asks the protocols about a connection not claimed yet. An open
// event nobody claims leaves the connection open to claims by its first
// data message; after that message it is settled, claimed or not (nil), so
// that the protocols are asked once per connection, not per message.
func (s *Stage) claim(e *decode.Event) Protocol {
	if e.Kind == decode.KindMessage && (e.Opcode.IsControl() || len(e.Payload) == 0) {
		return nil // a ping or close tells nothing of the protocol
	}
	var claimed Protocol
	for _, p := range s.protocols {
		if p.Claims(e) {
			claimed = p
			break
		}
	}
	if claimed != nil || e.Kind == decode.KindMessage {
		if len(s.conns) >= maxConns {
			clear(s.conns)
		}
		s.conns[e.ConnID] = claimed
	}
	return claimed
}
