package decode

import (
	"net/netip"
	"time"

	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// Kind is what an Event reports; its value is the NDJSON "event" field.
type Kind string

const (
	KindOpen    Kind = "open"    // a WebSocket upgrade was seen, or a TLS connection that cannot be decrypted
	KindMessage Kind = "message" // a whole message, or a control frame
	KindGap     Kind = "gap"     // bytes of one direction were lost
	KindClose   Kind = "close"   // the TCP connection ended
	KindError   Kind = "error"   // a protocol violation or a decoding failure
	// KindRejected is an upgrade request the server answered with another
	// status than 101: the connection stays HTTP and is not decoded.
	KindRejected Kind = "rejected"
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

// IsReserved reports whether o is not defined by RFC 6455 (0x3-0x7, 0xB-0xF).
func (o Opcode) IsReserved() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return false
	}
	return true
}

// Violations is the set of RFC 6455 rules a message broke on the wire. The
// decoder goes on past them wherever the frame boundaries are still
// certain, as Wireshark and Zeek do, and flags the message; each also gets
// an error event (Event.Err names it, with details such as the opcode).
type Violations uint32

const (
	ViolUnmaskedClient     Violations = 1 << iota // a client frame without a mask
	ViolMaskedServer                              // a server frame with a mask (unmasked to decode it)
	ViolRSV1NoDeflate                             // RSV1 without permessage-deflate: the payload is not inflated
	ViolRSV1Control                               // RSV1 on a control frame
	ViolRSV1Continuation                          // RSV1 on a continuation frame
	ViolRSV2                                      // RSV2 set, no extension defines it
	ViolRSV3                                      // RSV3 set, no extension defines it
	ViolReservedOpcode                            // an opcode RFC 6455 does not define
	ViolControlFragmented                         // a control frame with FIN clear
	ViolControlTooLong                            // a control frame over 125 bytes
	ViolOrphanContinuation                        // a continuation frame with no message begun
	ViolInterrupted                               // a new data frame inside a fragmented message, which is dropped
	ViolInvalidUTF8                               // a text message that is not UTF-8
	ViolCloseLength                               // a close frame with a 1-byte payload
	ViolCloseCode                                 // a close code that may not be sent
	ViolCloseReason                               // a close reason that is not UTF-8
	ViolAfterClose                                // a frame after the sender's close frame

	numViolations = iota // how many there are
)

// violationNames are the names of the Violations bits, in bit order: the
// words of the NDJSON "violations" array.
var violationNames = [...]string{
	"unmasked client frame",
	"masked server frame",
	"RSV1 set without permessage-deflate",
	"RSV1 set on a control frame",
	"RSV1 set on a continuation frame",
	"RSV2 set",
	"RSV3 set",
	"reserved opcode",
	"control frame fragmented",
	"control frame longer than 125 bytes",
	"continuation without a message",
	"new message inside a fragmented message",
	"invalid UTF-8 in text message",
	"close frame with a 1-byte payload",
	"invalid close code",
	"invalid UTF-8 in close reason",
	"frame after a close frame",
}

// The names and the bits must agree.
var _ [len(violationNames)]struct{} = [numViolations]struct{}{}

// Names returns the names of the violations in v, in a fixed order.
func (v Violations) Names() []string {
	var names []string
	for i, name := range violationNames {
		if v&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return names
}

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
	// Polling is set on the events of an Engine.IO HTTP long-polling
	// connection (requests whose target has transport=polling), which
	// never upgrades to WebSocket: its open event is its first polling
	// request, and each request or response body is one message event
	// (Opcode text, or binary for an application/octet-stream body), with
	// Method and Path naming the request it belongs to, and Status the
	// response's code (0 on a request body).
	Polling bool
	Method  string // polling messages: the request's method, "GET" or "POST"

	// open
	Path        string // request target of the GET (of a polling message's request)
	Host        string
	Origin      string
	UserAgent   string
	Extensions  string // Sec-WebSocket-Extensions of the 101 response, as negotiated
	Subprotocol string // Sec-WebSocket-Protocol of the 101 response
	AcceptOK    bool   // Sec-WebSocket-Accept matched the key
	// Handshake is the upgrade's request and response heads as sent,
	// header by header (the HAR export's); nil on open events without an
	// HTTP upgrade (midstream, long-polling, TLS not decrypted) and when
	// only the 101 was captured. Rejected events carry it too. It is a new
	// value for each upgrade, never changed once reported, so a Sink may
	// keep the pointer.
	Handshake *Handshake
	// TLS is the connection's TLS layer (wss://), nil over plain TCP. An
	// open event of a TLS connection that cannot be decrypted has only it
	// (Decrypted false, with the reason): nothing else of it is shown.
	TLS *tlsdecrypt.Info

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
	// Violations are the protocol rules the message's frames broke; each
	// was also reported in an error event before the message.
	Violations Violations
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
	// Talk is who said what where, as the app stage read a chat message
	// (names as learned so far): what --user, --room and --type filter on
	// and --stats counts by. Its zero value is "not chat, or not known".
	Talk Talk
	// App is the app-protocol stage's reading of a message beyond Chat
	// and ChatLine (package app): a *socketio.Message for Socket.IO and
	// Engine.IO; nil otherwise. It is a new value for each event, so a
	// Sink may keep the pointer.
	App any
	// Heartbeat marks a keep-alive rather than a conversation: a
	// WebSocket ping or pong, a workerman-chat ping/pong message, an
	// Engine.IO ping/pong. --no-heartbeat hides them.
	Heartbeat bool

	// gap
	Bytes int // bytes lost, -1 when unknown

	// rejected: the server's answer to the upgrade request (open events
	// carry the request's Path, Host, Origin and UserAgent too); polling
	// messages: the response's status
	Status     int    // HTTP status code, e.g. 403
	StatusText string // its reason phrase, e.g. "Forbidden"

	// error (and open, when the handshake was odd)
	Err string
}

// Talk is the app stage's reading of a chat message, for filters and
// statistics.
type Talk struct {
	// Type is the chat message's type: workerman-chat's "login", "say",
	// "logout"...; a Socket.IO event's name.
	Type string
	// From is the user who said it, or whom a login or logout is about;
	// To is whom it was said to ("all" for everyone, a room as "room 1").
	From, To string
	// Room is the room it was said in or to, when known (the room a
	// connection logged in to).
	Room string
}

// Handshake is an HTTP upgrade's two heads: the request line and headers
// as the client sent them, the status and headers of the server's answer.
type Handshake struct {
	Method, Target, Proto string // request line, e.g. GET / HTTP/1.1
	Request               []Header
	Status                int    // e.g. 101
	StatusText            string // e.g. Switching Protocols
	ResponseProto         string // e.g. HTTP/1.1
	Response              []Header
	// RequestSize and ResponseSize are the heads' sizes in bytes, blank
	// line included.
	RequestSize, ResponseSize int
}

// Header is one HTTP header line, its name as written.
type Header struct{ Name, Value string }

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
