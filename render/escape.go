package render

import (
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendEscaped appends s for display on a terminal: printable text as it
// is, and everything that could move the cursor, change colours, rewrite
// the line or reorder it (C0 and C1 controls, DEL, ESC, bidirectional
// overrides, invalid UTF-8) written as a visible escape instead.
func appendEscaped[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			// Fast path: a run of printable ASCII.
			j := i + 1
			for j < len(s) && s[j] >= 0x20 && s[j] < 0x7f {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if c < utf8.RuneSelf {
			dst = appendControl(dst, rune(c))
			i++
			continue
		}
		r, size := decodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case unsafeRune(r):
			dst = appendUnicodeEscape(dst, r)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

func decodeRune[T string | []byte](s T) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.RuneError, 1
}

func appendControl(dst []byte, r rune) []byte {
	switch r {
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'x', hexDigits[r>>4], hexDigits[r&0xf])
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	dst = append(dst, '\\', 'u')
	for shift := 12; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(r>>shift)&0xf])
	}
	return dst
}

// unsafeRune reports runes that are invisible or change how a terminal lays
// out the text around them: C1 controls, bidirectional embeddings, overrides
// and isolates (the "Trojan Source" characters), line and paragraph
// separators, and the BOM.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e || r == 0x200f || r == 0x061c:
		return true
	case r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return true
	}
	return false
}

// cutText shortens s to at most n bytes without splitting a UTF-8
// sequence, and reports whether it cut anything.
func cutText[T string | []byte](s T, n int) (T, bool) {
	if len(s) <= n {
		return s, false
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], true
}

// appendCutMark notes how much of a long text was left out.
func appendCutMark(b []byte, total int, sc *Scheme) []byte {
	b = append(b, sc.Dim.on...)
	b = append(b, " …("...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, " bytes)"...)
	return append(b, sc.Dim.off...)
}

// AppendEscaped appends s as the views write captured text: for other
// packages' tables of it (--stats).
func AppendEscaped(dst []byte, s string) []byte { return appendEscaped(dst, s) }

// AppendEscapedJSON appends JSON that encoding/json wrote, with the runes
// it leaves raw that would move or hide text on a terminal (C1 controls,
// bidirectional overrides, the BOM) as \u escapes: JSON is read on
// terminals too. Those runes are not ASCII, so they only stand inside
// strings, where the escape means the same rune.
func AppendEscapedJSON(dst, js []byte) []byte {
	for i := 0; i < len(js); {
		if js[i] < utf8.RuneSelf {
			dst = append(dst, js[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		if unsafeRune(r) {
			dst = appendUnicodeEscape(dst, r)
		} else {
			dst = append(dst, js[i:i+size]...)
		}
		i += size
	}
	return dst
}
