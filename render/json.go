package render

import (
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// scratchPool holds appendJSON's string decoding buffers; one above
// maxPooledScratch (a huge message's) is left to the garbage collector.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledScratch = 64 << 10

// appendJSON pretty-prints src, a JSON value, with each token coloured.
// Strings are shown decoded (PHP's "\u732a\u732a" reads 猪猪, "\/" reads /)
// and then escaped for the terminal. With indent empty the value stays on
// one line. src that is not well-formed is shown as far as it scans and then
// as escaped text, never trusted.
func appendJSON(dst, src []byte, sc *Scheme, prefix, indent string) []byte {
	// The decoding buffer is reused across calls: a fresh one per call was
	// every allocation of the conversation view.
	sp := scratchPool.Get().(*[]byte)
	p := jsonPrinter{dst: dst, src: src, sc: sc, prefix: prefix, indent: indent, scratch: (*sp)[:0]}
	defer func() {
		if cap(p.scratch) <= maxPooledScratch {
			*sp = p.scratch[:0]
			scratchPool.Put(sp)
		}
	}()
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
	scratch        []byte
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
	end, ok := decodeJSONString(p.src, p.pos, p.scratch[:0])
	if !ok {
		return false
	}
	p.scratch = end.decoded
	p.pos = end.next
	shown, cut := cutText(p.scratch, maxShownText)
	p.dst = append(p.dst, sp.on...)
	p.dst = append(p.dst, '"')
	p.dst = appendQuotedContent(p.dst, shown)
	p.dst = append(p.dst, '"')
	p.dst = append(p.dst, sp.off...)
	if cut {
		p.dst = appendCutMark(p.dst, len(p.scratch), p.sc)
	}
	return true
}

// appendQuotedContent escapes decoded string content for display between
// double quotes: quotes and backslashes as in JSON, the rest as appendEscaped.
func appendQuotedContent(dst, s []byte) []byte {
	start := 0
	for i, c := range s {
		if c == '"' || c == '\\' {
			dst = appendEscaped(dst, s[start:i])
			dst = append(dst, '\\', c)
			start = i + 1
		}
	}
	return appendEscaped(dst, s[start:])
}

type decodedString struct {
	decoded []byte
	next    int // index after the closing quote
}

// decodeJSONString decodes the JSON string starting at src[pos] (a quote)
// into buf.
func decodeJSONString(src []byte, pos int, buf []byte) (decodedString, bool) {
	i := pos + 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			return decodedString{decoded: buf, next: i + 1}, true
		case c != '\\':
			// Copy the run up to the next quote or escape at once.
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\\' {
				j++
			}
			buf = append(buf, src[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(src) {
			return decodedString{}, false
		}
		e := src[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(src, i)
			if !ok {
				return decodedString{}, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(src, i+2); ok && i+1 < len(src) && src[i] == '\\' && src[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					}
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return decodedString{}, false
		}
	}
	return decodedString{}, false
}

func hex4(src []byte, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var r rune
	for _, c := range src[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
