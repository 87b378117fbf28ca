package chat

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendPHPEscaped appends src, the output of encoding/json (with HTML
// escaping off), to dst as PHP's json_encode without flags writes it: "/" as
// "\/" and every non-ASCII rune as \uXXXX, surrogate pairs past the BMP. It
// is how the real server's bytes are reproduced by the bundled server and the
// capture generator. "/" and non-ASCII bytes only occur inside strings in
// encoding/json's output, and that output is valid UTF-8 (invalid bytes were
// already replaced by \ufffd), so a byte scan is safe.
func AppendPHPEscaped(dst, src []byte) []byte {
	for len(src) > 0 {
		c := src[0]
		if c < utf8.RuneSelf {
			if c == '/' {
				dst = append(dst, '\\', '/')
			} else {
				dst = append(dst, c)
			}
			src = src[1:]
			continue
		}
		r, size := utf8.DecodeRune(src)
		src = src[size:]
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendU4(dst, 0xd800+(r>>10))
			dst = appendU4(dst, 0xdc00+(r&0x3ff))
			continue
		}
		dst = appendU4(dst, r)
	}
	return dst
}

func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		hexDigits[(r>>12)&0xf], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
}
