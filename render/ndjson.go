package render

import (
	"bufio"
	"encoding/base64"
	"io"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/decode"
)

// TimeLayout is how NDJSON writes times: RFC 3339 in UTC with all nine
// digits of nanoseconds, so that lines sort as text.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// NDJSON writes one JSON object per event, per the contract in the README.
// The encoder is written out by hand rather than through encoding/json: it
// runs once per message and reflection would dominate the profile.
type NDJSON struct {
	w   *bufio.Writer
	buf []byte
}

// NewNDJSON returns an NDJSON writer; call Flush at the end.
func NewNDJSON(w io.Writer) *NDJSON {
	return &NDJSON{w: bufio.NewWriterSize(w, 64<<10)}
}

// Flush writes out what is buffered.
func (n *NDJSON) Flush() error { return n.w.Flush() }

// Event writes e as one line.
func (n *NDJSON) Event(e *decode.Event) {
	n.buf = AppendNDJSON(n.buf[:0], e)
	n.w.Write(n.buf)
}

// AppendNDJSON appends e's NDJSON line, newline included.
func AppendNDJSON(b []byte, e *decode.Event) []byte {
	b = append(b, `{"event":`...)
	b = appendJSONString(b, string(e.Kind))
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, TimeLayout)
	b = append(b, `","client":`...)
	b = appendAddrPort(b, e.Client)
	b = append(b, `,"server":`...)
	b = appendAddrPort(b, e.Server)
	if e.Kind == decode.KindMessage || e.Kind == decode.KindGap || e.Kind == decode.KindError {
		b = append(b, `,"from":`...)
		if e.FromClient {
			b = append(b, `"client"`...)
		} else {
			b = append(b, `"server"`...)
		}
	}
	switch e.Kind {
	case decode.KindOpen:
		b = appendField(b, "path", e.Path)
		b = appendField(b, "origin", e.Origin)
		b = appendField(b, "extensions", e.Extensions)
		b = appendField(b, "subprotocol", e.Subprotocol)
		b = appendBool(b, "accept_ok", e.AcceptOK)
		if e.Midstream {
			b = appendBool(b, "midstream", true)
		}
	case decode.KindMessage:
		b = append(b, `,"opcode":`...)
		b = appendJSONString(b, e.Opcode.String())
		b = appendBool(b, "masked", e.Masked)
		b = appendBool(b, "compressed", e.Compressed)
		b = appendBool(b, "midstream", e.Midstream)
		b = appendBool(b, "truncated", e.Truncated)
		b = append(b, `,"fragments":`...)
		b = strconv.AppendInt(b, int64(e.Fragments), 10)
		b = append(b, `,"length":`...)
		b = strconv.AppendInt(b, int64(e.Length), 10)
		switch {
		case e.PayloadIsText:
			b = append(b, `,"text":`...)
			b = appendJSONString(b, e.Payload)
		case len(e.Payload) > 0:
			b = append(b, `,"data":"`...)
			b = base64.StdEncoding.AppendEncode(b, e.Payload)
			b = append(b, '"')
		}
		if e.Opcode == decode.OpClose {
			if e.CloseCode != 0 {
				b = append(b, `,"close_code":`...)
				b = strconv.AppendInt(b, int64(e.CloseCode), 10)
			}
			b = appendField(b, "close_reason", e.CloseReason)
		}
		if len(e.Chat) > 0 {
			b = append(b, `,"chat":`...)
			b = append(b, e.Chat...)
		}
	case decode.KindGap:
		if e.Bytes >= 0 {
			b = append(b, `,"bytes":`...)
			b = strconv.AppendInt(b, int64(e.Bytes), 10)
		}
	case decode.KindError:
		b = appendField(b, "error", e.Err)
	}
	return append(b, "}\n"...)
}

func appendField(b []byte, key, val string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, val)
}

func appendBool(b []byte, key string, v bool) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendBool(b, v)
}

// appendAddrPort writes "ip:port", or "[ip]:port" for IPv6, as netip does.
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	b = append(b, '"')
	b = ap.AppendTo(b)
	return append(b, '"')
}

// appendJSONString quotes s as JSON: invalid UTF-8 becomes U+FFFD, controls
// and the JavaScript line separators are escaped, as encoding/json does.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i = plainASCII(s, i+1)
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// SWAR constants: a byte repeated over a 64-bit word.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// plainASCII returns the index of the first byte at or after i that
// appendJSONString must look at: not ASCII, a control, a quote or a
// backslash (or len(s)). It checks eight bytes at a time: payloads are
// most of the bytes written and most of them need no escaping.
func plainASCII[T string | []byte](s T, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q := w ^ ('"' * swarOnes)
		bs := w ^ ('\\' * swarOnes)
		// The high bit flags a non-ASCII byte; the others are the classic
		// "has a byte less than n" and "has a zero byte" tests, which
		// never flag a word without one.
		if (w|(w-0x20*swarOnes)&^w|(q-swarOnes)&^q|(bs-swarOnes)&^bs)&swarHighs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// appendClock writes the time of day with microseconds, in local time, as
// tcpdump prints it; the text renderers share it.
func appendClock(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, "15:04:05.000000")
}
