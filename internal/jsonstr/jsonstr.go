// Package jsonstr reads JSON string escapes for the two places that decode
// chat text: the chat layer (package decode) and the views (package
// render). Chat servers written in PHP send every non-ASCII character as
// \uXXXX, so reading four hex digits is on the hot path of both.
package jsonstr

// hexDigitVal maps a byte to its value as a hex digit, or -1.
var hexDigitVal = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range "0123456789abcdef" {
		t[c] = int8(i)
	}
	for i, c := range "ABCDEF" {
		t[c] = int8(10 + i)
	}
	return t
}()

// Hex4 reads the four hex digits that b starts with (it must hold four
// bytes), or returns -1 when they are not all hex digits.
func Hex4(b []byte) rune {
	_ = b[3]
	a, c, d, e := hexDigitVal[b[0]], hexDigitVal[b[1]], hexDigitVal[b[2]], hexDigitVal[b[3]]
	if a|c|d|e < 0 {
		return -1
	}
	return rune(a)<<12 | rune(c)<<8 | rune(d)<<4 | rune(e)
}
