package render

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/internal/jsonstr"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// TimeLayout is how NDJSON writes times: RFC 3339 in UTC with all nine
// digits of nanoseconds, so that lines sort as text.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// NDJSON writes one JSON object per event, per the contract in the README.
// The encoder is written out by hand rather than through encoding/json: it
// runs once per message and reflection would dominate the profile.
type NDJSON struct {
	w   *bufio.Writer
	f   ndjsonFormatter // Event's
	buf []byte
}

// NewNDJSON returns an NDJSON writer; call Flush at the end.
func NewNDJSON(w io.Writer) *NDJSON {
	return &NDJSON{w: bufio.NewWriterSize(w, 64<<10)}
}

// Formatter returns a new Formatter of events as Event writes them.
func (n *NDJSON) Formatter() Formatter { return &ndjsonFormatter{} }

type ndjsonFormatter struct {
	texts recalled // the escaped texts of recent payloads
	time  lastSecond
	pairs [pairSlots]addrPair
}

// The "client" and "server" fields of a connection are the same in each of
// its events, and formatting two addresses was about a tenth of --json's
// CPU on a chatty capture: they are kept per connection, in a small table
// indexed by connection number (a few connections interleave at a time).
const pairSlots = 64

// addrPair is one connection's formatted "client" and "server" fields.
type addrPair struct {
	client, server netip.AddrPort
	text           []byte // `,"client":"…","server":"…"`; nil when unused
}

// appendPair appends e's client and server fields, from f's table when f
// is not nil.
func appendPair(b []byte, e *decode.Event, f *ndjsonFormatter) []byte {
	if f == nil {
		return appendPairText(b, e.Client, e.Server)
	}
	p := &f.pairs[e.ConnID%pairSlots]
	if p.text == nil || p.client != e.Client || p.server != e.Server {
		p.client, p.server = e.Client, e.Server
		p.text = appendPairText(p.text[:0], e.Client, e.Server)
	}
	return append(b, p.text...)
}

func appendPairText(b []byte, client, server netip.AddrPort) []byte {
	b = append(b, `,"client":`...)
	b = appendAddrPort(b, client)
	b = append(b, `,"server":`...)
	return appendAddrPort(b, server)
}

func (f *ndjsonFormatter) AppendEvent(dst []byte, e *decode.Event) []byte {
	return appendNDJSON(dst, e, f)
}

// Write writes p, events formatted by a Formatter, after what was written
// before.
func (n *NDJSON) Write(p []byte) (int, error) { return n.w.Write(p) }

// Flush writes out what is buffered.
func (n *NDJSON) Flush() error { return n.w.Flush() }

// Event writes e as one line.
func (n *NDJSON) Event(e *decode.Event) {
	n.buf = n.f.AppendEvent(n.buf[:0], e)
	n.w.Write(n.buf)
}

// AppendNDJSON appends e's NDJSON line, newline included.
func AppendNDJSON(b []byte, e *decode.Event) []byte { return appendNDJSON(b, e, nil) }

// appendNDJSON is AppendNDJSON taking what it can from the memory of f
// (which may be nil).
func appendNDJSON(b []byte, e *decode.Event, f *ndjsonFormatter) []byte {
	var texts *recalled
	var last *lastSecond
	if f != nil {
		texts, last = &f.texts, &f.time
	}
	b = append(b, `{"event":`...)
	b = appendJSONString(b, string(e.Kind))
	b = append(b, `,"time":"`...)
	b = appendTimeUTC(b, e.Time, last)
	b = append(b, '"')
	b = appendPair(b, e, f)
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
		if e.TLS != nil {
			b = appendTLS(b, e.TLS)
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
			b = appendRecalled(b, e.Payload, texts, appendJSONBytes)
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
		if e.Violations != 0 {
			b = append(b, `,"violations":[`...)
			for i, name := range e.Violations.Names() {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, name)
			}
			b = append(b, ']')
		}
	case decode.KindRejected:
		b = appendField(b, "path", e.Path)
		b = appendField(b, "origin", e.Origin)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
		b = appendField(b, "status_text", e.StatusText)
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

// appendTLS appends the "tls" object of an open event: version, cipher,
// sni and alpn ("" when unknown or absent), decrypted, and the reason
// when not decrypted.
func appendTLS(b []byte, info *tlsdecrypt.Info) []byte {
	b = append(b, `,"tls":{"version":`...)
	b = appendJSONString(b, info.VersionName())
	b = appendField(b, "cipher", info.CipherName())
	b = appendField(b, "sni", info.SNI)
	b = appendField(b, "alpn", info.ALPN)
	b = appendBool(b, "decrypted", info.Decrypted)
	if !info.Decrypted {
		b = appendField(b, "reason", info.Reason)
	}
	return append(b, '}')
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
// It is for short strings; payloads go through appendJSONBytes.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscapedASCII(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = appendEscapedRune(b, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEscapedASCII writes c, a quote, a backslash or a control, escaped.
func appendEscapedASCII(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendEscapedRune writes r, the replacement for an invalid byte or a
// line or paragraph separator, escaped.
func appendEscapedRune(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// SWAR constants: a byte repeated over a 64-bit word.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// quoteOrBackslash flags, by their high bits, exactly the quotes and
// backslashes of w. Each test here is exact (no borrow crosses bytes), so
// every flag may be acted on, not only the lowest.
func quoteOrBackslash(w uint64) uint64 {
	return (jsonstr.ZeroBytes(w^('"'*swarOnes)) | jsonstr.ZeroBytes(w^('\\'*swarOnes))) & swarHighs
}

// jsonChunk is how much of s appendJSONBytes escapes per growth of b: an
// input byte becomes at most six output bytes, and growing for the whole
// of a 16 MB message at once would take six times that.
const jsonChunk = 4096

// appendJSONBytes is appendJSONString for payloads, which are most of the
// bytes NDJSON writes. Chat payloads are JSON themselves, with a quote or a
// backslash every few bytes (PHP writes non-ASCII text as \uXXXX), so runs
// between escapes are short: the loop reads eight bytes at a time and
// stores them whole, and a word whose only special bytes are quotes and
// backslashes is escaped without leaving it: a backslash before each, then
// the rest of the word stored again from it on.
func appendJSONBytes(b []byte, s []byte) []byte {
	b = append(b, '"')
	for len(s) > 0 {
		n := min(len(s), jsonChunk)
		// Room for the worst case: the chunk's bytes and those a last
		// word or rune may run past it (at most ten), six output bytes
		// each, and the eight a word store writes past the end.
		b = slices.Grow(b, 6*(n+16)+8)
		out := b[len(b):cap(b)]
		i, j := 0, 0
		for i < n {
			if i+8 <= len(s) {
				w := binary.LittleEndian.Uint64(s[i:])
				binary.LittleEndian.PutUint64(out[j:], w)
				qb := quoteOrBackslash(w)
				other := (jsonstr.ZeroBytes(w&(0xe0*swarOnes)) | w) & swarHighs // controls, non-ASCII
				if qb|other == 0 {
					i += 8
					j += 8
					continue
				}
				if other == 0 {
					// Only quotes and backslashes, as in JSON text:
					// before each, a backslash, and from it on the
					// rest of the word again.
					m, prev := qb, 0
					for m != 0 {
						k := bits.TrailingZeros64(m) >> 3
						j += k - prev
						out[j] = '\\'
						binary.LittleEndian.PutUint64(out[j+1:], w>>(8*k))
						j++
						prev = k
						m &= m - 1
					}
					i += 8
					j += 8 - prev
					continue
				}
				m := qb | other
				k := bits.TrailingZeros64(m) >> 3
				i += k
				j += k
			}
			// s[i] is special, or the last word is done bytewise.
			c := s[i]
			switch {
			case c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\':
				out[j] = c
				i++
				j++
			case c < utf8.RuneSelf:
				j += len(appendEscapedASCII(out[j:j], c))
				i++
			default:
				r, size := utf8.DecodeRune(s[i:])
				if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
					j += len(appendEscapedRune(out[j:j], r))
				} else {
					j += copy(out[j:], s[i:i+size])
				}
				i += size
			}
		}
		// A rune may have ended past the chunk: i, not n, is where the
		// next one starts.
		b = b[:len(b)+j]
		s = s[i:]
	}
	return append(b, '"')
}

// appendTimeUTC writes t in UTC as TimeLayout does. Every event has a
// time, and parsing the layout on each call was a tenth of writing a
// short event. The second is taken from last (which may be nil).
func appendTimeUTC(b []byte, t time.Time, last *lastSecond) []byte {
	t = t.UTC()
	if u := t.Unix(); u < unixYear0 || u >= unixYear10000 {
		return t.AppendFormat(b, TimeLayout)
	}
	b = last.append(b, t, appendSecondUTC)
	b = appendDigits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

// The seconds of years 0 to 9999, which TimeLayout writes in four digits.
var (
	unixYear0     = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	unixYear10000 = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// appendSecondUTC writes t's "2006-01-02T15:04:05." in UTC.
func appendSecondUTC(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	return appendTimeOfDay(b, t)
}

// appendClock writes the time of day with microseconds, in local time, as
// tcpdump prints it; the text renderers share it. The second is taken
// from last (which may be nil).
func appendClock(b []byte, t time.Time, last *lastSecond) []byte {
	b = last.append(b, t, appendTimeOfDay)
	return appendDigits(b, t.Nanosecond()/1000, 6)
}

// lastSecond is how a Formatter wrote the last second of capture time it
// saw: the events of one second share all of their time but its
// fraction, so the rest is written once a second, not once an event.
type lastSecond struct {
	unix int64
	loc  *time.Location
	text []byte // nil before the first
}

// append appends write(b, t) for t to the second, from memory when t is
// in the second written last, in the same location. s may be nil.
func (s *lastSecond) append(b []byte, t time.Time, write func([]byte, time.Time) []byte) []byte {
	if s == nil {
		return write(b, t)
	}
	if u, loc := t.Unix(), t.Location(); s.text == nil || u != s.unix || loc != s.loc {
		s.text = write(s.text[:0], t)
		s.unix, s.loc = u, loc
	}
	return append(b, s.text...)
}

// appendTimeOfDay writes t's "15:04:05." in t's location.
func appendTimeOfDay(b []byte, t time.Time) []byte {
	h, mi, sec := t.Clock()
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	return append(b, '.')
}

// appendDigits writes v, which is not negative and has at most n digits,
// in exactly n digits.
func appendDigits(b []byte, v, n int) []byte {
	b = append(b, "000000000"[:n]...)
	for i := len(b) - 1; v > 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}
