package decode

import (
	"net/netip"
	"time"
)

// Kind is what an Event reports; its value is the NDJSON "event" field.
type Kind string

const (
	KindOpen    Kind = "open"    // a WebSocket upgrade was seen
	KindMessage Kind = "message" // a whole message, or a control frame
	KindGap     Kind = "gap"     // bytes of one direction were lost
	KindClose   Kind = "close"   // the TCP connection ended
	KindError   Kind = "error"   // a protocol violation or a decoding failure
)

// Opcode is a WebSocket frame opcode (RFC 6455 section 5.2).
type Opcode uint8

const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// String returns the NDJSON name of the opcode: "text", "binary", "ping", "pong", "close",
// "continuation", or "reserved-0xN".
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	const hex = "0123456789abcdef"
	return "reserved-0x" + string(hex[o&0xf])
}

// IsControl reports whether o is a control opcode (close, ping, pong, or reserved 0xB-0xF).
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// Event is one thing the decoder found. Events are handed to a Sink by
// pointer and are only valid during the call: a Sink that keeps one copies it
// (byte slices included).
//
// The fields and their JSON names are the NDJSON contract (README, "NDJSON");
// a field only means something for the kinds named beside it.
type Event struct {
	Kind   Kind
	Time   time.Time // capture time of the packet that completed the event
	ConnID uint64    // the connection's number in the capture, from 1
	Client netip.AddrPort
	Server netip.AddrPort
	// FromClient says who sent it (message, gap, error).
	FromClient bool
	// Midstream is set when the connection's upgrade was not captured and
	// its bytes were recognised as frames (open-less connections on -p ports).
	Midstream bool

	// open
	Path        string // request target of the GET
	Host        string
	Origin      string
	UserAgent   string
	Extensions  string // Sec-WebSocket-Extensions of the 101 response, as negotiated
	Subprotocol string // Sec-WebSocket-Protocol of the 101 response
	AcceptOK    bool   // Sec-WebSocket-Accept matched the key

	// message
	Opcode     Opcode
	Masked     bool
	Compressed bool // RSV1 set on the first frame and inflated (permessage-deflate)
	Truncated  bool // longer than the message cap: Payload holds the first Cap bytes
	Fragments  int  // frames that made up the message (1 when unfragmented)
	Length     int  // payload bytes after unmasking and inflating (the full length, even when truncated, when known)
	Payload    []byte
	// PayloadIsText is set when Payload is valid UTF-8 and is shown as text:
	// every text message that is valid UTF-8, and ping/pong/close payloads that are.
	PayloadIsText bool
	CloseCode     int    // close frames with a status code; 0 when none
	CloseReason   string // close frames
	// Chat is the message's JSON object, compacted, when a text message is one.
	Chat []byte
	// ChatLine is the chat message in one human line, e.g. `mynick → all: hi, all !`,
	// with names resolved from what the server has sent so far; empty when the
	// JSON is not a known chat message.
	ChatLine string
	// ChatLineLen is the length ChatLine has whole when the chat layer was
	// asked to cut a long message's content (ChatOptions.MaxContent) and
	// did; 0 when ChatLine is whole.
	ChatLineLen int

	// gap
	Bytes int // bytes lost, -1 when unknown

	// error (and open, when the handshake was odd)
	Err string
}

// Sink receives events in the order they were found. An event, and the
// bytes its slices point to, are valid only during the call (a payload
// may be read where it sits in the captured packet): a Sink that keeps
// them copies them.
type Sink interface {
	Event(e *Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(e *Event)

// Event calls f(e).
func (f SinkFunc) Event(e *Event) { f(e) }
