package socketio

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// replacer appends what stands for binary placeholder num in a line.
type replacer func(dst []byte, num int) ([]byte, bool)

// lineOf writes a Socket.IO packet's human line; repl, when not nil,
// rewrites binary placeholders in its arguments.
func (r *Reader) lineOf(s *session, p *Packet, fromClient bool, repl replacer) string {
	b := r.line[:0]
	if p.Type == Event {
		if c, ok := r.chatLine(b, s, p, fromClient); ok {
			if p.ID >= 0 {
				c = strconv.AppendInt(append(c, "  ack "...), p.ID, 10)
			}
			return r.finish(c)
		}
	}
	if p.Namespace != "/" && p.Type != Connect && p.Type != ConnectError && p.Type != Disconnect {
		b = append(b, '[')
		b = append(b, p.Namespace...)
		b = append(b, "] "...)
	}
	switch p.Type {
	case Event, BinaryEvent:
		b = append(b, "emit "...)
		if p.Event != "" || len(p.Args) == 0 {
			b = strconv.AppendQuote(b, p.Event)
			b = appendArgs(b, p.Args, repl, true)
		} else {
			// The first argument is not a string: written as the name.
			b = walkJSON(b, p.Args[0], 0, MaxLine, repl)
			b = appendArgs(b, p.Args[1:], repl, true)
		}
		if p.ID >= 0 {
			b = strconv.AppendInt(append(b, "  ack "...), p.ID, 10)
		}
	case Ack, BinaryAck:
		b = strconv.AppendInt(append(b, "ack "...), p.ID, 10)
		if p.AckOf != "" {
			b = strconv.AppendQuote(append(b, " of "...), p.AckOf)
		}
		b = append(b, " → "...)
		b = appendArgs(b, p.Args, repl, false)
	case Connect:
		if fromClient {
			b = append(append(b, "connect "...), p.Namespace...)
			if p.Query != "" {
				b = append(append(b, '?'), p.Query...)
			}
			if len(p.Data) > 0 {
				b = appendCompact(append(b, " auth "...), p.Data, MaxLine)
			}
		} else {
			b = append(append(b, "connected "...), p.Namespace...)
			if v := field(p.Data, "sid"); v != nil {
				if id, ok := textOf(v); ok {
					b = append(append(b, " as "...), id...)
				}
			} else if len(p.Data) > 0 {
				b = appendCompact(append(b, ' '), p.Data, MaxLine)
			}
		}
	case ConnectError:
		b = append(append(b, "connect error "...), p.Namespace...)
		if len(p.Data) > 0 {
			b = append(b, ": "...)
			msg := p.Data
			if v := field(msg, "message"); v != nil {
				msg = v
			}
			if t, ok := textOf(msg); ok && isString(msg) {
				b = append(b, t...)
			} else {
				b = appendCompact(b, msg, MaxLine)
			}
		}
	case Disconnect:
		b = append(append(b, "disconnect "...), p.Namespace...)
	}
	if p.Attachments > 0 && !p.Complete && repl != nil {
		b = strconv.AppendInt(append(b, "  ["...), int64(p.Attachments), 10)
		if p.Attachments == 1 {
			b = append(b, " attachment follows]"...)
		} else {
			b = append(b, " attachments follow]"...)
		}
	}
	return r.finish(b)
}

// appendArgs writes (a, b, c) compactly, after a space when omitEmpty is
// set, which writes nothing for no arguments (an ack writes "()").
func appendArgs(b []byte, args []json.RawMessage, repl replacer, omitEmpty bool) []byte {
	if len(args) == 0 {
		if omitEmpty {
			return b
		}
		return append(b, "()"...)
	}
	if omitEmpty {
		b = append(b, ' ')
	}
	b = append(b, '(')
	for i, a := range args {
		if i > 0 {
			b = append(b, ", "...)
		}
		if repl != nil {
			b = walkJSON(b, a, 0, MaxLine, repl)
		} else {
			b = appendCompact(b, a, MaxLine)
		}
		if len(b) >= MaxLine {
			return b
		}
	}
	return append(b, ')')
}

// openLine writes `engine.io open sid X (ping every 25s, timeout 20s, upgrades: websocket)`.
func (r *Reader) openLine(h *Handshake, data []byte, bad bool) []byte {
	b := append(r.line[:0], "engine.io open"...)
	if bad {
		return appendQuoted(append(b, ' '), data)
	}
	if h.SID != "" {
		b = append(append(b, " sid "...), h.SID...)
	}
	b = appendMS(append(b, " (ping every "...), h.PingInterval)
	b = appendMS(append(b, ", timeout "...), h.PingTimeout)
	if len(h.Upgrades) > 0 {
		b = append(b, ", upgrades: "...)
		for i, u := range h.Upgrades {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, u...)
			if len(b) >= MaxLine {
				break
			}
		}
	}
	return append(b, ')')
}

// appendMS writes milliseconds as 25s, 2.5s or 300ms.
func appendMS(b []byte, ms int64) []byte {
	switch {
	case ms >= 1000 && ms%1000 == 0:
		return append(strconv.AppendInt(b, ms/1000, 10), 's')
	case ms >= 1000:
		return append(strconv.AppendFloat(b, float64(ms)/1000, 'f', -1, 64), 's')
	}
	return append(strconv.AppendInt(b, ms, 10), "ms"...)
}

// appendQuoted writes text as a Go-quoted string, at most MaxLine bytes of it.
func appendQuoted(b, text []byte) []byte {
	if len(text) > MaxLine {
		text = text[:MaxLine]
	}
	return strconv.AppendQuote(b, string(text))
}

// finish makes the line a string: one line of valid UTF-8 with control
// characters written as escapes, cut at MaxLine. The copies of a broadcast
// read the same line and share one string.
func (r *Reader) finish(b []byte) string {
	r.line = b[:0]
	if needsEscape(b) {
		r.safe = appendSafe(r.safe[:0], b)
		b = r.safe
	}
	if len(b) > MaxLine {
		n := MaxLine
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = append(b[:n], "…"...)
	}
	if string(b) != r.lastLine {
		r.lastLine = string(b)
	}
	return r.lastLine
}

// needsEscape reports whether b holds anything other than printable ASCII
// that appendSafe would change.
func needsEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < 0x20 || c == 0x7f {
			return true
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 || unsafeRune(r) {
				return true
			}
			i += size - 1
		}
	}
	return false
}

// unsafeRune reports C1 controls and the line and paragraph separators.
func unsafeRune(r rune) bool {
	return r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029
}

// appendSafe writes b with control characters as \n, \t, \r, \xNN or
// \uNNNN and each invalid UTF-8 byte as \xNN.
func appendSafe(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '\r':
			dst = append(dst, `\r`...)
		case c == '\t':
			dst = append(dst, `\t`...)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&15])
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			r, size := utf8.DecodeRune(b[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, '\\', 'x', hex[c>>4], hex[c&15])
			case unsafeRune(r):
				dst = append(dst, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
			default:
				dst = append(dst, b[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return dst
}
