package stats

import "unicode/utf8"

// The names in the tables come from the wire. render's escaper
// (render/escape.go) is not exported, so this is a copy of its rules, to
// be replaced by it once it is: printable text as it is; C0 and C1
// controls, DEL, bidirectional embeddings, overrides and isolates, line
// and paragraph separators, the BOM and invalid UTF-8 as visible escapes.

const hexDigits = "0123456789abcdef"

// appendEscaped appends s for display on a terminal.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
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

func appendUnicodeEscape(dst []byte, r rune) []byte {
	dst = append(dst, '\\', 'u')
	for shift := 12; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(r>>shift)&0xf])
	}
	return dst
}

// unsafeRune reports runes that are invisible or change how a terminal
// lays out the text around them (render's list).
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

// escapeJSON rewrites the unsafe runes of encoding/json's output as \u
// escapes, which encoding/json leaves raw (it escapes only C0 controls,
// U+2028 and U+2029): --stats --json may be read on a terminal too. The
// runes are not ASCII, so they only occur inside strings, where the
// escape means the same rune.
func escapeJSON(b []byte) []byte {
	for i := 0; i < len(b); i++ {
		if b[i] < utf8.RuneSelf {
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if !unsafeRune(r) {
			i += size - 1
			continue
		}
		out := append([]byte(nil), b[:i]...)
		for ; i < len(b); i += size {
			r, size = utf8.DecodeRune(b[i:])
			if unsafeRune(r) {
				out = appendUnicodeEscape(out, r)
			} else {
				out = append(out, b[i:i+size]...)
			}
		}
		return out
	}
	return b
}
