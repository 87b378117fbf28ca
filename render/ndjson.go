package render

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"github.com/chatsniff/chatsniff/app/socketio"
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
	b = appendKind(b, e.Kind)
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
		if e.Polling {
			b = appendPolling(b, e)
		}
	case decode.KindMessage:
		b = append(b, `,"opcode":"`...)
		// Opcode names are letters, digits and dashes: nothing to escape.
		b = append(b, e.Opcode.String()...)
		b = append(b, '"')
		b = appendBool(b, "masked", e.Masked)
		b = appendBool(b, "compressed", e.Compressed)
		b = appendBool(b, "midstream", e.Midstream)
		b = appendBool(b, "truncated", e.Truncated)
		b = append(b, `,"fragments":`...)
		b = appendInt(b, e.Fragments)
		b = append(b, `,"length":`...)
		b = appendInt(b, e.Length)
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
				b = appendInt(b, e.CloseCode)
			}
			b = appendField(b, "close_reason", e.CloseReason)
		}
		if len(e.Chat) > 0 {
			b = append(b, `,"chat":`...)
			b = append(b, e.Chat...)
		}
		if e.Polling {
			b = appendPolling(b, e)
		}
		if m, ok := e.App.(*socketio.Message); ok {
			b = appendSocketIO(b, m)
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
		b = appendInt(b, e.Status)
		b = appendField(b, "status_text", e.StatusText)
	case decode.KindGap:
		if e.Bytes >= 0 {
			b = append(b, `,"bytes":`...)
			b = appendInt(b, e.Bytes)
		}
	case decode.KindError:
		b = appendField(b, "error", e.Err)
	}
	return append(b, "}\n"...)
}

// appendKind appends `{"event":"…"` for k. The kinds the decoder makes
// are fixed ASCII words, written as they are; quoting one for each event
// was about 5 % of formatting a short message. Any other goes through
// appendJSONString.
func appendKind(b []byte, k decode.Kind) []byte {
	switch k {
	case decode.KindMessage:
		return append(b, `{"event":"message"`...)
	case decode.KindOpen:
		return append(b, `{"event":"open"`...)
	case decode.KindClose:
		return append(b, `{"event":"close"`...)
	case decode.KindGap:
		return append(b, `{"event":"gap"`...)
	case decode.KindError:
		return append(b, `{"event":"error"`...)
	case decode.KindRejected:
		return append(b, `{"event":"rejected"`...)
	}
	b = append(b, `{"event":`...)
	return appendJSONString(b, string(k))
}

// appendInt writes v in decimal as strconv.AppendInt does. Lengths,
// fragment counts, status and close codes are mostly under 10,000: those
// are written here by hand, two digits at a time, without strconv's calls
// and buffer (5 % of formatting a short message); others go to strconv.
func appendInt(b []byte, v int) []byte {
	switch {
	case uint(v) >= 10000: // negative too
		return strconv.AppendInt(b, int64(v), 10)
	case v < 10:
		return append(b, byte('0'+v))
	case v < 100:
		return append(b, digitPairs[2*v], digitPairs[2*v+1])
	case v < 1000:
		r := v % 100
		return append(b, byte('0'+v/100), digitPairs[2*r], digitPairs[2*r+1])
	}
	q, r := v/100, v%100
	return append(b, digitPairs[2*q], digitPairs[2*q+1], digitPairs[2*r], digitPairs[2*r+1])
}

// digitPairs holds "00" to "99": digit pairs by their value times two.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

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
	b = appendNanos(b, t.Nanosecond())
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

// appendNanos writes ns, from 0 to 999,999,999, in nine digits, as
// appendDigits(b, ns, 9) does in twice the time (a tenth of formatting a
// short message: every event has its nanoseconds). The last eight digits
// are made in one 64-bit word, a byte each, and stored at once.
func appendNanos(b []byte, ns int) []byte {
	u := uint32(ns)
	b = append(b, byte('0'+u/1e8), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint64(b[len(b)-8:], eightDigits(u%1e8))
	return b
}

// eightDigits returns v < 10^8 as eight ASCII digits in a word, the first
// in its low byte (little-endian memory order). v is split into halves of
// four digits (in two 32-bit lanes, the high half in the low lane), each
// half into two of two digits (in 16-bit lanes), and those into digits
// (in bytes); each step divides every lane at once by a multiplication
// and a shift, exact for the lane's range: x/100 = x*5243>>19 for
// x < 10^4, y/10 = y*103>>10 for y < 100. No product crosses its lane.
func eightDigits(v uint32) uint64 {
	x := uint64(v/10000) | uint64(v%10000)<<32
	hi := x * 5243 >> 19 & 0x0000007f_0000007f
	y := hi | (x-hi*100)<<16
	tens := y * 103 >> 10 & 0x000f_000f_000f_000f
	return tens | (y-tens*10)<<8 | 0x3030_3030_3030_3030
}
