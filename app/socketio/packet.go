package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
)

// PacketType is a Socket.IO packet type: CONNECT 0, DISCONNECT 1, EVENT 2,
// ACK 3, CONNECT_ERROR 4 (ERROR in Socket.IO v2), BINARY_EVENT 5,
// BINARY_ACK 6.
type PacketType uint8

// The Socket.IO packet types, by their number on the wire.
const (
	Connect PacketType = iota
	Disconnect
	Event
	Ack
	ConnectError
	BinaryEvent
	BinaryAck
)

var packetNames = [...]string{"connect", "disconnect", "event", "ack", "connect_error", "binary_event", "binary_ack"}

func (t PacketType) String() string {
	if int(t) < len(packetNames) {
		return packetNames[t]
	}
	return fmt.Sprintf("socket.io type %d", uint8(t))
}

// Packet is a Socket.IO packet: what an Engine.IO message carries.
type Packet struct {
	Type      PacketType
	Namespace string // "/" when not written
	// Query is what followed "?" in the namespace of a Socket.IO v2
	// CONNECT ("0/chat?token=x,"), cut off Namespace; "" when none.
	Query string
	ID    int64  // ack id, -1 when none
	Event string // EVENT/BINARY_EVENT: the event name (first argument, when a string)
	// Args are the arguments after the event name (ACK: all of them), as
	// written; for a completed binary packet, placeholders are replaced by
	// {"_placeholder":true,"num":K,"length":N,"base64":"..."}.
	Args []json.RawMessage
	// Data is the CONNECT / CONNECT_ERROR / DISCONNECT payload when any
	// (v5 CONNECT: auth from the client, {"sid":...} from the server).
	Data        json.RawMessage
	Attachments int    // BINARY_*: announced number of attachments
	Complete    bool   // BINARY_*: every attachment has been joined
	AckOf       string // ACK/BINARY_ACK: the event name of the emit it answers, when seen
	User        string // the sending socket's user name, when learned
	// To and Room are where a chat emit went, when the chat reading
	// knows: "all", a user's name or "room R"; the room the session
	// joined, or the one the emit names. They are for the filters and
	// statistics (decode.Talk), not in the NDJSON object.
	To, Room string
}

// Limits of the packet text.
const (
	// maxAckDigits keeps an ack id within int64.
	maxAckDigits = 18
	// maxAttachDigits bounds the attachment count's digits (the count
	// itself is checked against MaxAttachments by the Reader).
	maxAttachDigits = 9
)

var (
	errEmptySIO      = errors.New("empty socket.io packet")
	errAttachments   = errors.New("illegal attachments count")
	errAckID         = errors.New("ack id too long")
	errInvalidJSON   = errors.New("payload is not valid JSON")
	errEventPayload  = errors.New("event payload is not a non-empty array")
	errAckPayload    = errors.New("ack payload is not an array")
	errAckWithoutID  = errors.New("ack without an id")
	errConnectObject = errors.New("connect payload is not an object")
)

// ParsePacket reads Socket.IO packet text (an Engine.IO message's data,
// e.g. `2["chat message","hi"]`). The Packet's slices alias s. On an
// error the Packet holds what was read before it.
func ParsePacket(s []byte) (*Packet, error) {
	p := new(Packet)
	err := parsePacket(s, p, nil)
	return p, err
}

// parsePacket reads s into p, reusing p.Args; strings go through in when
// it is not nil.
func parsePacket(s []byte, p *Packet, in *interner) error {
	*p = Packet{Namespace: "/", ID: -1, Args: p.Args[:0]}
	if len(s) == 0 {
		return errEmptySIO
	}
	if s[0] < '0' || s[0] > '6' {
		return fmt.Errorf("unknown socket.io packet type %q", rune(s[0]))
	}
	p.Type = PacketType(s[0] - '0')
	i := 1
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		j, n := i, 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' && j-i < maxAttachDigits {
			n = n*10 + int(s[j]-'0')
			j++
		}
		if j == i || j >= len(s) || s[j] != '-' {
			return errAttachments
		}
		p.Attachments = n
		i = j + 1
	}
	if i < len(s) && s[i] == '/' {
		j := i
		for j < len(s) && s[j] != ',' {
			j++
		}
		ns := s[i:j]
		for k, c := range ns {
			if c == '?' {
				p.Query = string(ns[k+1:])
				ns = ns[:k]
				break
			}
		}
		p.Namespace = in.str(ns)
		i = j
		if i < len(s) {
			i++ // the comma
		}
	}
	if i < len(s) && s[i] >= '0' && s[i] <= '9' {
		j := i
		var id int64
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			if j-i == maxAckDigits {
				return errAckID
			}
			id = id*10 + int64(s[j]-'0')
			j++
		}
		p.ID = id
		i = j
	}
	payload := trimSpace(s[i:])
	if len(payload) > 0 && !json.Valid(payload) {
		return errInvalidJSON
	}
	switch p.Type {
	case Connect:
		if len(payload) > 0 {
			if payload[0] != '{' {
				return errConnectObject
			}
			p.Data = payload
		}
	case Disconnect, ConnectError:
		if len(payload) > 0 {
			p.Data = payload
		}
	case Event, BinaryEvent:
		if len(payload) == 0 || payload[0] != '[' {
			return errEventPayload
		}
		p.Args = appendElems(p.Args, payload)
		if len(p.Args) == 0 {
			return errEventPayload
		}
		if isString(p.Args[0]) {
			if name, ok := in.unquote(p.Args[0]); ok {
				p.Event = name
				// Shift rather than reslice, so that the reused
				// slice keeps its start and capacity.
				n := copy(p.Args, p.Args[1:])
				p.Args = p.Args[:n]
			}
		}
	case Ack, BinaryAck:
		if len(payload) == 0 || payload[0] != '[' {
			return errAckPayload
		}
		p.Args = appendElems(p.Args, payload)
		if p.ID < 0 {
			return errAckWithoutID
		}
	}
	return nil
}

// interner shares the strings that recur (event names, namespaces) so that
// reading them again costs no allocation. It is bounded: it starts again
// empty when full, and long strings are not kept.
type interner struct{ m map[string]string }

const (
	maxInterned   = 4096
	maxInternSize = 128
)

// str returns b as a string, shared when seen before.
func (in *interner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in == nil || len(b) > maxInternSize {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	return in.add(string(b))
}

// unquote decodes the JSON string raw, shared with the last decoding of
// the same text (keyed by raw, quotes included, which no bare string
// given to str starts with).
func (in *interner) unquote(raw []byte) (string, bool) {
	if in == nil || len(raw) > maxInternSize {
		return unquote(raw)
	}
	if s, ok := in.m[string(raw)]; ok {
		return s, true
	}
	s, ok := unquote(raw)
	if !ok {
		return "", false
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string)
	}
	in.m[string(raw)] = s
	return s, true
}

func (in *interner) add(s string) string {
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string)
	}
	in.m[s] = s
	return s
}
