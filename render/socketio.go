package render

import (
	"encoding/json"

	"github.com/chatsniff/chatsniff/app/socketio"
	"github.com/chatsniff/chatsniff/decode"
)

// The NDJSON of a Socket.IO message: "engineio" for the transport layer's
// packet, "socketio" for the Socket.IO packet it carries (README,
// "NDJSON"). Arguments are written as they were sent, JSON values.

// appendPolling appends the fields of an Engine.IO long-polling event.
func appendPolling(b []byte, e *decode.Event) []byte {
	b = appendBool(b, "polling", true)
	if e.Kind != decode.KindMessage {
		return b
	}
	b = appendField(b, "method", e.Method)
	b = appendField(b, "path", e.Path)
	if e.Status != 0 {
		b = append(b, `,"status":`...)
		b = appendInt(b, e.Status)
	}
	return b
}

// appendSocketIO appends `,"engineio":{…}` and, when the packet carries
// one, `,"socketio":{…}`.
func appendSocketIO(b []byte, m *socketio.Message) []byte {
	b = append(b, `,"engineio":{"eio":`...)
	b = appendInt(b, m.EIO)
	b = appendField(b, "transport", m.Transport)
	if m.SID != "" {
		b = appendField(b, "sid", m.SID)
	}
	if m.Engine == socketio.EngineError {
		b = appendField(b, "type", "error")
	} else {
		b = appendField(b, "type", m.Engine.String())
	}
	if m.Binary {
		b = appendBool(b, "binary", true)
	}
	if h := m.Open; h != nil {
		b = append(b, `,"open":{"sid":`...)
		b = appendJSONString(b, h.SID)
		b = append(b, `,"upgrades":[`...)
		for i, u := range h.Upgrades {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, u)
		}
		b = append(b, `],"ping_interval":`...)
		b = appendInt(b, int(h.PingInterval))
		b = append(b, `,"ping_timeout":`...)
		b = appendInt(b, int(h.PingTimeout))
		if h.MaxPayload != 0 {
			b = append(b, `,"max_payload":`...)
			b = appendInt(b, int(h.MaxPayload))
		}
		b = append(b, '}')
	}
	if a := m.Attachment; a != nil {
		b = append(b, `,"attachment":{"num":`...)
		b = appendInt(b, a.Num)
		b = append(b, `,"of":`...)
		b = appendInt(b, a.Of)
		if a.Event != "" {
			b = appendField(b, "event", a.Event)
		}
		b = append(b, '}')
	}
	if m.Heartbeat {
		b = appendBool(b, "heartbeat", true)
	}
	if m.Err != "" {
		b = appendField(b, "error", m.Err)
	}
	b = append(b, '}')
	if p := m.IO; p != nil {
		b = appendSocketIOPacket(b, m.EIO, p)
	}
	return b
}

func appendSocketIOPacket(b []byte, eio int, p *socketio.Packet) []byte {
	b = append(b, `,"socketio":{"eio":`...)
	b = appendInt(b, eio)
	b = appendField(b, "type", p.Type.String())
	b = appendField(b, "namespace", p.Namespace)
	if p.Query != "" {
		b = appendField(b, "query", p.Query)
	}
	if p.Type == socketio.Event || p.Type == socketio.BinaryEvent {
		b = appendField(b, "event", p.Event)
	}
	if p.Type == socketio.Event || p.Type == socketio.BinaryEvent || p.Type == socketio.Ack || p.Type == socketio.BinaryAck {
		b = append(b, `,"args":[`...)
		for i, a := range p.Args {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRawJSON(b, a)
		}
		b = append(b, ']')
	}
	if len(p.Data) > 0 {
		b = append(b, `,"data":`...)
		b = appendRawJSON(b, p.Data)
	}
	if p.ID >= 0 {
		b = append(b, `,"ack":`...)
		b = appendInt(b, int(p.ID))
	}
	if p.AckOf != "" {
		b = appendField(b, "ack_of", p.AckOf)
	}
	if p.Attachments > 0 {
		b = append(b, `,"attachments":`...)
		b = appendInt(b, p.Attachments)
		b = appendBool(b, "complete", p.Complete)
	}
	if p.User != "" {
		b = appendField(b, "user", p.User)
	}
	return append(b, '}')
}

// appendRawJSON appends a JSON value as sent; one that is not valid JSON
// (the parser keeps what it could not read) is written as a string.
func appendRawJSON(b []byte, v json.RawMessage) []byte {
	if json.Valid(v) {
		return append(b, v...)
	}
	return appendJSONBytes(b, v)
}
