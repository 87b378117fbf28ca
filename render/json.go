package render

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/internal/jsonstr"
)

// appendJSON pretty-prints src, a JSON value, with each token coloured.
// Strings are shown decoded (PHP's "\u732a\u732a" reads 猪猪, "\/" reads /)
// and then escaped for the terminal. With indent empty the value stays on
// one line. src that is not well-formed is shown as far as it scans and then
// as escaped text, never trusted.
func appendJSON(dst, src []byte, sc *Scheme, prefix, indent string) []byte {
	p := jsonPrinter{dst: dst, src: src, sc: sc, prefix: prefix, indent: indent}
	p.value()
	if p.pos < len(src) {
		p.dst = appendEscaped(p.dst, src[p.pos:])
	}
	return p.dst
}

type jsonPrinter struct {
	dst, src       []byte
	pos, depth     int
	sc             *Scheme
	prefix, indent string
}

func (p *jsonPrinter) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonPrinter) newline() {
	if p.indent == "" {
		return
	}
	p.dst = append(p.dst, '\n')
	p.dst = append(p.dst, p.prefix...)
	for i := 0; i < p.depth; i++ {
		p.dst = append(p.dst, p.indent...)
	}
}

func (p *jsonPrinter) punct(c byte) {
	p.dst = append(p.dst, p.sc.Punct.on...)
	p.dst = append(p.dst, c)
	p.dst = append(p.dst, p.sc.Punct.off...)
}

// value prints one JSON value and reports whether it was well-formed.
func (p *jsonPrinter) value() bool {
	p.skipSpace()
	if p.pos >= len(p.src) || p.depth > maxJSONDepth {
		return false
	}
	switch c := p.src[p.pos]; c {
	case '{', '[':
		return p.container(c)
	case '"':
		return p.str(p.sc.String)
	default:
		start := p.pos
		for p.pos < len(p.src) && isLiteralByte(p.src[p.pos]) {
			p.pos++
		}
		if p.pos == start {
			return false
		}
		sp := p.sc.Literal
		if c == '-' || (c >= '0' && c <= '9') {
			sp = p.sc.Number
		}
		p.dst = sp.wrap(p.dst, p.src[start:p.pos])
		return true
	}
}

// maxJSONDepth bounds recursion on hostile input.
const maxJSONDepth = 64

func isLiteralByte(c byte) bool {
	return c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func (p *jsonPrinter) container(open byte) bool {
	close := byte('}')
	if open == '[' {
		close = ']'
	}
	p.punct(open)
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == close {
		p.punct(close)
		p.pos++
		return true
	}
	p.depth++
	for {
		p.newline()
		if open == '{' {
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != '"' || !p.str(p.sc.Key) {
				return false
			}
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return false
			}
			p.pos++
			p.punct(':')
			p.dst = append(p.dst, ' ')
		}
		if !p.value() {
			return false
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.punct(',')
			if p.indent == "" {
				p.dst = append(p.dst, ' ')
			}
			continue
		case close:
			p.pos++
			p.depth--
			p.newline()
			p.punct(close)
			return true
		}
		return false
	}
}

// str prints the string at pos, decoded and escaped, in sp's colour.
func (p *jsonPrinter) str(sp span) bool {
	dst, next, ok := appendShownString(p.dst, p.src, p.pos, sp, p.sc)
	if !ok {
		return false
	}
	p.dst, p.pos = dst, next
	return true
}

// appendShownString writes the JSON string starting at src[pos] (a quote)
// as the views show it: decoded (PHP's "\u732a\u732a" reads 猪猪, "\/"
// reads /), cut after MaxShownText decoded bytes with a mark saying how
// many there were, and escaped for the terminal (quotes and backslashes as
// in JSON, the rest as appendEscaped), between quotes in sp's colour. It
// returns the index after the closing quote; ok is false, and dst is given
// back as it was, when the string is not well-formed.
//
// Decoding, cutting and escaping are one pass: chat content is most of the
// bytes shown, and three passes over it (with a buffer for the decoded
// text) were most of the conversation view's time.
func appendShownString(dst, src []byte, pos int, sp span, sc *Scheme) (_ []byte, next int, ok bool) {
	start := len(dst)
	dst = append(dst, sp.on...)
	dst = append(dst, '"')
	w := shownWriter{dst: dst}
	i := pos + 1
	for {
		if i >= len(src) {
			return dst[:start], pos, false
		}
		if w.cut {
			// Nothing more is shown: the rest is only counted, for the
			// cut mark (long chat messages are mostly this).
			n, next, ok := countDecoded(src, i)
			if !ok {
				return dst[:start], pos, false
			}
			dst = append(w.dst, '"')
			dst = append(dst, sp.off...)
			return appendCutMark(dst, w.total+n, sc), next, true
		}
		c := src[i]
		switch {
		case c == '"':
			dst = append(w.dst, '"')
			dst = append(dst, sp.off...)
			if w.cut {
				dst = appendCutMark(dst, w.total, sc)
			}
			return dst, i + 1, true
		case c >= 0x20 && c < 0x7f && c != '\\':
			// A run of printable ASCII, shown as it is.
			j := i + 1 + printableRun(src[i+1:])
			w.ascii(src[i:j])
			i = j
		case c == '\\':
			// A run of \uXXXX escapes of characters from U+0800 up that
			// need no escaping, as PHP writes any Chinese or Japanese
			// text, in a tight loop.
			for i+6 <= len(src) && src[i] == '\\' && src[i+1] == 'u' {
				x := binary.LittleEndian.Uint32(src[i+2:])
				if !jsonstr.IsHex4Word(x) {
					break
				}
				r := jsonstr.Hex4Value(x)
				if r < 0x800 || (r >= 0xd800 && r < 0xe000) || unsafeRune(r) {
					break // ASCII, two bytes, surrogates and the rest: below
				}
				i += 6
				if w.room(3) {
					w.dst = append(w.dst, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
				}
			}
			if i >= len(src) || src[i] != '\\' {
				continue
			}
			if i+1 >= len(src) {
				return dst[:start], pos, false
			}
			e := src[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				w.rune(rune(e))
			case 'b':
				w.rune('\b')
			case 'f':
				w.rune('\f')
			case 'n':
				w.rune('\n')
			case 'r':
				w.rune('\r')
			case 't':
				w.rune('\t')
			case 'u':
				r, ok := hex4(src, i)
				if !ok {
					return dst[:start], pos, false
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := hex4(src, i+2)
					if ok && src[i] == '\\' && src[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						}
					}
					if utf16.IsSurrogate(r) {
						r = utf8.RuneError // a lone half, as utf8.AppendRune writes it
					}
				}
				w.rune(r)
			default:
				return dst[:start], pos, false
			}
		case c < utf8.RuneSelf:
			w.rune(rune(c)) // a control or DEL, raw in the string
			i++
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				w.invalid(c)
			} else {
				w.rune(r)
			}
			i += size
		}
	}
}

// printableRun returns the length of the run of printable ASCII, the quote
// and the backslash excepted, that s starts with: eight bytes at a time,
// since chat text is mostly such runs between its escapes.
func printableRun(s []byte) int {
	n := 0
	for n+8 <= len(s) {
		w := binary.LittleEndian.Uint64(s[n:])
		// Each flag is exact: controls (no bit of 0xe0 set), DEL,
		// non-ASCII (the high bit), quotes and backslashes.
		m := (jsonstr.ZeroBytes(w&(0xe0*swarOnes)) | jsonstr.ZeroBytes(w^(0x7f*swarOnes)) | w) & swarHighs
		if m |= quoteOrBackslash(w); m != 0 {
			return n + bits.TrailingZeros64(m)>>3
		}
		n += 8
	}
	for n < len(s) && s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' && s[n] != '\\' {
		n++
	}
	return n
}

// countDecoded returns how many bytes the rest of a JSON string, from
// src[i] to its closing quote, decodes to (as appendShownString counts
// them), and the index after the quote; ok is false when the string is not
// well-formed. Raw bytes count one each: a valid rune as many as it has,
// an invalid byte the one it is.
func countDecoded(src []byte, i int) (n, next int, ok bool) {
	for i < len(src) {
		// \uXXXX escapes (but surrogates) within the word that starts
		// with them: PHP's text is mostly these.
		for i+8 <= len(src) {
			w := binary.LittleEndian.Uint64(src[i:])
			if uint16(w) != 'u'<<8|'\\' {
				break
			}
			x := uint32(w >> 16)
			if !jsonstr.IsHex4Word(x) {
				break
			}
			r := jsonstr.Hex4Value(x) // both inlined: Hex4Word is not
			if utf16.IsSurrogate(r) {
				break
			}
			n += utf8.RuneLen(r)
			i += 6
		}
		// Raw bytes up to the next quote or backslash, a word at a time.
		for i+8 <= len(src) {
			m := quoteOrBackslash(binary.LittleEndian.Uint64(src[i:]))
			if m != 0 {
				k := bits.TrailingZeros64(m) >> 3
				n += k
				i += k
				break
			}
			n += 8
			i += 8
		}
		if i >= len(src) {
			break
		}
		switch c := src[i]; c {
		case '"':
			return n, i + 1, true
		case '\\':
			if i+1 >= len(src) {
				return 0, 0, false
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				n++
				i += 2
			case 'u':
				r, ok := hex4(src, i+2)
				if !ok {
					return 0, 0, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := hex4(src, i+2)
					if ok && src[i] == '\\' && src[i+1] == 'u' && utf16.DecodeRune(r, r2) != utf8.RuneError {
						n += 4
						i += 6
						continue
					}
					r = utf8.RuneError
				}
				n += utf8.RuneLen(r)
			default:
				return 0, 0, false
			}
		default:
			n++
			i++
		}
	}
	return 0, 0, false
}

// shownWriter writes decoded string content for appendShownString,
// counting decoded bytes: past MaxShownText it writes no more.
type shownWriter struct {
	dst          []byte
	shown, total int // decoded bytes written, and met
	cut          bool
}

// room reports whether n more decoded bytes may be written.
func (w *shownWriter) room(n int) bool {
	w.total += n
	if w.cut || w.shown+n > MaxShownText {
		w.cut = true
		return false
	}
	w.shown += n
	return true
}

// ascii writes printable ASCII other than the quote and the backslash.
func (w *shownWriter) ascii(s []byte) {
	if n := MaxShownText - w.shown; !w.cut && len(s) > n {
		w.dst = append(w.dst, s[:n]...)
		w.shown += n
		w.total += len(s)
		w.cut = true
		return
	}
	if w.room(len(s)) {
		w.dst = append(w.dst, s...)
	}
}

func (w *shownWriter) rune(r rune) {
	if !w.room(utf8.RuneLen(r)) {
		return
	}
	switch {
	case r == '"' || r == '\\':
		w.dst = append(w.dst, '\\', byte(r))
	case r >= 0x20 && r < 0x7f:
		w.dst = append(w.dst, byte(r))
	case r < utf8.RuneSelf:
		w.dst = appendControl(w.dst, r)
	case unsafeRune(r):
		w.dst = appendUnicodeEscape(w.dst, r)
	default:
		w.dst = utf8.AppendRune(w.dst, r)
	}
}

// invalid writes a byte that is not UTF-8.
func (w *shownWriter) invalid(c byte) {
	if w.room(1) {
		w.dst = append(w.dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
	}
}

// hex4 reads the four hex digits at src[i:].
func hex4(src []byte, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	r := jsonstr.Hex4(src[i:])
	return r, r >= 0
}
