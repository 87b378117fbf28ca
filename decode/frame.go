package decode

import (
	"encoding/binary"
	"unicode/utf8"
)

// The RSV bits of a frame's first byte.
const (
	rsv1 = 0x40
	rsv2 = 0x20
	rsv3 = 0x10
)

// header is a frame header (RFC 6455 section 5.2), read before any of the
// payload so that its length is checked before the payload is touched.
type header struct {
	fin    bool
	rsv    byte // the RSV bits as they sit in the first byte
	op     Opcode
	masked bool
	key    [4]byte
	length uint64
	size   int // bytes the header took on the wire, 2 to 14
}

// headerSize returns the size of a header whose first two bytes are b0, b1.
func headerSize(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// parseHeader decodes the header at the start of b, which must hold at
// least headerSize(b[0], b[1]) bytes.
func parseHeader(b []byte) header {
	h := header{
		fin:    b[0]&0x80 != 0,
		rsv:    b[0] & (rsv1 | rsv2 | rsv3),
		op:     Opcode(b[0] & 0x0f),
		masked: b[1]&0x80 != 0,
		size:   2,
	}
	switch l := b[1] & 0x7f; l {
	case 126:
		h.length = uint64(binary.BigEndian.Uint16(b[2:4]))
		h.size = 4
	case 127:
		h.length = binary.BigEndian.Uint64(b[2:10])
		h.size = 10
	default:
		h.length = uint64(l)
	}
	if h.masked {
		copy(h.key[:], b[h.size:h.size+4])
		h.size += 4
	}
	return h
}

// minimal reports whether the length was written in its shortest form, as
// RFC 6455 requires. Real senders always do; the check is only used to judge
// whether unknown bytes are frames, not to reject frames after a handshake.
func (h *header) minimal(b1 byte) bool {
	switch b1 & 0x7f {
	case 126:
		return h.length >= 126
	case 127:
		return h.length > 0xffff
	}
	return true
}

// violations returns the rules h breaks as the next frame from one side.
// deflate says that RSV1 may mark a compressed message (permessage-deflate);
// inMsg that a fragmented data message is open. None of them makes the
// frame's boundaries uncertain: its length is read all the same.
func (h *header) violations(fromClient, deflate, inMsg bool) Violations {
	var v Violations
	if h.rsv&rsv2 != 0 {
		v |= ViolRSV2
	}
	if h.rsv&rsv3 != 0 {
		v |= ViolRSV3
	}
	switch {
	case fromClient && !h.masked:
		v |= ViolUnmaskedClient
	case !fromClient && h.masked:
		v |= ViolMaskedServer
	}
	if h.op.IsReserved() {
		// Nothing else is known of a frame no RFC defines.
		return v | ViolReservedOpcode
	}
	if h.op.IsControl() {
		if !h.fin {
			v |= ViolControlFragmented
		}
		if h.length > maxControlPayload {
			v |= ViolControlTooLong
		}
	}
	switch {
	case h.rsv&rsv1 == 0:
	case h.op.IsControl():
		v |= ViolRSV1Control
	case h.op == OpContinuation:
		v |= ViolRSV1Continuation
	case !deflate:
		v |= ViolRSV1NoDeflate
	}
	switch {
	case h.op == OpContinuation && !inMsg:
		v |= ViolOrphanContinuation
	case (h.op == OpText || h.op == OpBinary) && inMsg:
		v |= ViolInterrupted
	}
	return v
}

// violationText names the violations of the frame h for an error event,
// with the reserved opcode's value.
func violationText(v Violations, h *header) string {
	var b []byte
	for i, name := range violationNames {
		bit := Violations(1) << i
		if v&bit == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, "; "...)
		}
		b = append(b, name...)
		if bit == ViolReservedOpcode {
			b = append(b, " 0x"...)
			b = append(b, "0123456789abcdef"[h.op&0xf])
		}
	}
	return string(b)
}

// validCloseCode reports whether code may be sent in a close frame. RFC 6455
// section 7.4 reserves 0-999, and 1005, 1006 and 1015 are only for reporting
// locally; 1016-2999 are for future RFCs and 3000-4999 for registered and
// private use. 1004 and 1012-1014 are accepted: the first is merely reserved,
// the others are registered with IANA and sent by real servers.
func validCloseCode(code int) bool {
	switch {
	case code < 1000, code >= 5000:
		return false
	case code == 1005, code == 1006, code == 1015:
		return false
	case code >= 1016 && code <= 2999:
		return false
	}
	return true
}

// Sides for plausible's mask argument.
const (
	maskEither = -1
	maskNo     = 0
	maskYes    = 1
)

// plausible reports whether b starts with frames one side could have sent:
// it is how a direction's bytes are recognised without a handshake (midstream)
// and where decoding resumes after a gap. Every header that b holds must
// have no violations for a sender with the given mask bit (maskEither: whatever the
// first header says, the same for the rest), starting outside a message (so
// not with a continuation); it must also use the minimal length encoding and
// a length under maxPlausibleFrame. Text frames must be UTF-8 as far as b
// holds them, close frames must carry a valid code. It also returns the mask
// bit found. deflate allows RSV1 on a message's first frame.
func (d *Decoder) plausible(b []byte, mask int, deflate bool) (ok, masked bool) {
	return d.plausibleFrom(b, mask, deflate, false)
}

// plausibleFrom is plausible, except that with orphans b may also start
// with the continuation frames of a message whose start was lost (after a
// gap, the segment that follows may hold the last fragments of a message,
// then whole messages); they are judged like any other frame.
func (d *Decoder) plausibleFrom(b []byte, mask int, deflate, orphans bool) (ok, masked bool) {
	inMsg := false
	frames := 0
	for pos := 0; pos < len(b); {
		rest := b[pos:]
		if len(rest) < 2 {
			// A lone byte cannot be judged; what came before can.
			return frames > 0, masked
		}
		b0, b1 := rest[0], rest[1]
		if mask == maskEither {
			mask = maskNo
			if b1&0x80 != 0 {
				mask = maskYes
			}
		}
		masked = mask == maskYes
		// The rules of a frame after a handshake, judged on the first two
		// bytes (a 7-bit length of 126 or 127 is over 125 for control
		// frames, as the longer forms are), for a sender with this mask bit.
		first := header{fin: b0&0x80 != 0, rsv: b0 & (rsv1 | rsv2 | rsv3), op: Opcode(b0 & 0x0f), masked: b1&0x80 != 0, length: uint64(b1 & 0x7f)}
		if orphans && !first.op.IsControl() {
			// The lost message's continuations, until its last, may
			// come before a new message starts.
			inMsg = first.op == OpContinuation
		}
		if first.violations(masked, deflate, inMsg) != 0 {
			return false, masked
		}
		size := headerSize(b0, b1)
		if len(rest) < size {
			return true, masked
		}
		h := parseHeader(rest)
		op, rsv, fin := h.op, h.rsv, h.fin
		if !h.minimal(b1) || h.length > maxPlausibleFrame || (op == OpClose && h.length == 1) {
			return false, masked
		}
		payload := rest[size:]
		whole := uint64(len(payload)) >= h.length
		if whole {
			payload = payload[:h.length]
		}
		// Text that is not compressed must be UTF-8: random bytes rarely are.
		if op == OpText && rsv == 0 && !d.plausibleText(payload, &h, whole && fin) {
			return false, masked
		}
		if op == OpClose && whole && len(payload) >= 2 {
			code := int(payload[0]^h.key[0])<<8 | int(payload[1]^h.key[1])
			if !h.masked {
				code = int(binary.BigEndian.Uint16(payload))
			}
			if !validCloseCode(code) {
				return false, masked
			}
		}
		if !op.IsControl() {
			inMsg = !fin
			orphans = orphans && op == OpContinuation && !fin
		}
		frames++
		if !whole {
			return true, masked
		}
		pos += size + int(h.length)
	}
	return frames > 0, masked
}

// plausibleText reports whether p, the start of a text frame's payload,
// unmasks to UTF-8; unless whole, p may end inside a character.
func (d *Decoder) plausibleText(p []byte, h *header, whole bool) bool {
	if h.masked {
		d.scratch = append(d.scratch[:0], p...)
		Mask(h.key, 0, d.scratch)
		p = d.scratch
	}
	if whole {
		return utf8.Valid(p)
	}
	return validUTF8Prefix(p)
}

// validUTF8Prefix reports whether p is valid UTF-8 or valid UTF-8 cut inside
// its last character, as text is when a message is truncated or split.
func validUTF8Prefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if utf8.RuneStart(p[i]) {
			// FullRune is false only for the valid start of a longer
			// character: an invalid byte counts as a full (error) rune.
			return !utf8.FullRune(p[i:]) && utf8.Valid(p[:i])
		}
	}
	return false
}
