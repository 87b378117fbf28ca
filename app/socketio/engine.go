package socketio

import (
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"
)

// EngineType is an Engine.IO packet type: open 0, close 1, ping 2, pong 3,
// message 4, upgrade 5, noop 6. EngineError is none of them: a packet or
// body that did not parse.
type EngineType uint8

// The Engine.IO packet types, by their number on the wire.
const (
	EngineOpen EngineType = iota
	EngineClose
	EnginePing
	EnginePong
	EngineMessage
	EngineUpgrade
	EngineNoop
	// EngineError marks a Message made of what did not parse (Err says
	// what): an unknown type, a broken payload, an HTTP error answer.
	EngineError EngineType = 255
)

var engineNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

func (t EngineType) String() string {
	if int(t) < len(engineNames) {
		return engineNames[t]
	}
	if t == EngineError {
		return "error"
	}
	return fmt.Sprintf("engine.io type %d", uint8(t))
}

// EnginePacket is one Engine.IO packet as read from a WebSocket message or
// a long-polling payload, before any Socket.IO.
type EnginePacket struct {
	Type   EngineType
	Binary bool   // a binary packet (raw bytes, or base64 in a text payload)
	Data   []byte // after the type; aliases the input unless base64 was decoded
}

// Wire constants of the payload encodings.
const (
	recordSeparator = 0x1e // v4: between the packets of a polling payload
	v3BinarySep     = 0xff // v3 binary payload: after the length digits
	// maxLengthDigits bounds the digits of a v3 length: no body is near
	// 10^10 bytes, so more digits are an error, not a number to trust.
	maxLengthDigits = 10
)

var (
	errEmptyPacket = errors.New("empty packet")
	errBadLength   = errors.New("v3 payload: bad packet length")
	errPastEnd     = errors.New("v3 payload: packet length past the end of the body")
	errSplitChar   = errors.New("v3 payload: packet length ends inside a character")
	errBinaryKind  = errors.New("v3 binary payload: packet kind is not 0 (string) or 1 (binary)")
	errBadBase64   = errors.New("invalid base64")
)

// DecodeEnginePacket reads one WebSocket message (binary when it was a
// binary message) as an Engine.IO packet of revision eio (3 or 4; 0 is
// read as 4).
func DecodeEnginePacket(p []byte, binary bool, eio int) (EnginePacket, error) {
	var buf []byte
	return decodeMessage(p, binary, eio, &buf)
}

// DecodePayload splits an HTTP long-polling body into its Engine.IO
// packets: binary is set for an application/octet-stream body (a v3
// binary payload). A text body is read as revision eio's payload, or when
// eio is 0, as v3 if it starts with "<digits>:" and as v4 otherwise. On an
// error it returns the packets before it.
func DecodePayload(body []byte, binary bool, eio int) ([]EnginePacket, error) {
	var buf []byte
	return decodePayload(nil, body, binary, eio, &buf)
}

// decodeMessage reads a WebSocket message; base64 is decoded onto *buf.
func decodeMessage(p []byte, binary bool, eio int, buf *[]byte) (EnginePacket, error) {
	if !binary {
		return decodeText(p, eio, buf)
	}
	if eio != 3 {
		// v4: a binary frame is a message packet's raw data.
		return EnginePacket{Type: EngineMessage, Binary: true, Data: p}, nil
	}
	return decodeV3Binary(p)
}

// decodeV3Binary reads a v3 binary packet: its first byte is the type.
func decodeV3Binary(p []byte) (EnginePacket, error) {
	if len(p) == 0 {
		return EnginePacket{Type: EngineError, Binary: true}, errEmptyPacket
	}
	if p[0] > byte(EngineNoop) {
		return EnginePacket{Type: EngineError, Binary: true, Data: p}, fmt.Errorf("binary packet of unknown type %d", p[0])
	}
	return EnginePacket{Type: EngineType(p[0]), Binary: true, Data: p[1:]}, nil
}

// decodeText reads a text packet: a type digit and data, or "b" and base64
// (v4: of a message; v3: "b" and the type digit before the base64).
func decodeText(p []byte, eio int, buf *[]byte) (EnginePacket, error) {
	if len(p) == 0 {
		return EnginePacket{Type: EngineError}, errEmptyPacket
	}
	c := p[0]
	if c >= '0' && c <= '6' {
		return EnginePacket{Type: EngineType(c - '0'), Data: p[1:]}, nil
	}
	if c != 'b' {
		return EnginePacket{Type: EngineError, Data: p}, fmt.Errorf("unknown packet type %q", rune(c))
	}
	t, b64 := EngineMessage, p[1:]
	if eio == 3 {
		if len(b64) == 0 || b64[0] < '0' || b64[0] > '6' {
			return EnginePacket{Type: EngineError, Data: p}, errors.New("base64 packet without a type")
		}
		t, b64 = EngineType(b64[0]-'0'), b64[1:]
	}
	data, ok := appendBase64(buf, b64)
	if !ok {
		return EnginePacket{Type: EngineError, Binary: true, Data: p}, errBadBase64
	}
	return EnginePacket{Type: t, Binary: true, Data: data}, nil
}

// appendBase64 decodes b64 (padded or not) onto *buf and returns the
// decoded bytes.
func appendBase64(buf *[]byte, b64 []byte) ([]byte, bool) {
	start := len(*buf)
	enc := base64.StdEncoding
	if len(b64)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out, err := enc.AppendDecode(*buf, b64)
	if err != nil {
		return nil, false
	}
	*buf = out
	return out[start:len(out):len(out)], true
}

// decodePayload appends a polling body's packets to dst.
func decodePayload(dst []EnginePacket, body []byte, binary bool, eio int, buf *[]byte) ([]EnginePacket, error) {
	switch {
	case len(body) == 0:
		return dst, nil
	case binary:
		return decodeV3BinaryPayload(dst, body, buf)
	case eio == 3 || eio == 0 && looksV3(body):
		return decodeV3Payload(dst, body, buf)
	}
	for len(body) > 0 {
		i := 0
		for i < len(body) && body[i] != recordSeparator {
			i++
		}
		p, err := decodeText(body[:i], 4, buf)
		if err != nil {
			return dst, err
		}
		dst = append(dst, p)
		if i == len(body) {
			break
		}
		body = body[i+1:]
		if len(body) == 0 {
			return dst, errEmptyPacket // a separator with nothing after it
		}
	}
	return dst, nil
}

// looksV3 reports whether a text body starts like a v3 string payload.
func looksV3(body []byte) bool {
	i := 0
	for i < len(body) && i <= maxLengthDigits && body[i] >= '0' && body[i] <= '9' {
		i++
	}
	return i > 0 && i < len(body) && body[i] == ':'
}

// decodeV3Payload reads "<length>:<packet>" repeated, the length counting
// UTF-16 code units (the packet's JavaScript string length). A length is
// never used before it is checked against the bytes left: a code unit takes
// at least one byte of UTF-8.
func decodeV3Payload(dst []EnginePacket, body []byte, buf *[]byte) ([]EnginePacket, error) {
	for i := 0; i < len(body); {
		j, n := i, 0
		for j < len(body) && body[j] >= '0' && body[j] <= '9' && j-i < maxLengthDigits {
			n = n*10 + int(body[j]-'0')
			j++
		}
		if j == i || j >= len(body) || body[j] != ':' {
			return dst, errBadLength
		}
		start := j + 1
		if n > len(body)-start {
			return dst, errPastEnd
		}
		k := start
		for units := 0; units < n; {
			if k >= len(body) {
				return dst, errPastEnd
			}
			u, size := 1, 1
			if c := body[k]; c >= utf8.RuneSelf {
				var r rune
				r, size = utf8.DecodeRune(body[k:])
				if r > 0xffff {
					u = 2
				}
			}
			if units+u > n {
				return dst, errSplitChar
			}
			units += u
			k += size
		}
		if k > start { // "0:" is an empty packet, skipped as engine.io-parser does
			p, err := decodeText(body[start:k], 3, buf)
			if err != nil {
				return dst, err
			}
			dst = append(dst, p)
		}
		i = k
	}
	return dst, nil
}

// decodeV3BinaryPayload reads an application/octet-stream body: each
// packet is <0 string | 1 binary>, its length in bytes as digits of value
// 0-9, 0xff, then the packet (a string packet's UTF-8; a binary packet's
// type byte and data).
func decodeV3BinaryPayload(dst []EnginePacket, body []byte, buf *[]byte) ([]EnginePacket, error) {
	for i := 0; i < len(body); {
		kind := body[i]
		if kind > 1 {
			return dst, errBinaryKind
		}
		j, n := i+1, 0
		for j < len(body) && body[j] != v3BinarySep {
			if body[j] > 9 || j-i > maxLengthDigits {
				return dst, errBadLength
			}
			n = n*10 + int(body[j])
			j++
		}
		if j == i+1 || j >= len(body) {
			return dst, errBadLength
		}
		start := j + 1
		if n > len(body)-start {
			return dst, errPastEnd
		}
		pkt := body[start : start+n]
		var p EnginePacket
		var err error
		if kind == 0 {
			p, err = decodeText(pkt, 3, buf)
		} else {
			p, err = decodeV3Binary(pkt)
		}
		if err != nil {
			return dst, err
		}
		dst = append(dst, p)
		i = start + n
	}
	return dst, nil
}
