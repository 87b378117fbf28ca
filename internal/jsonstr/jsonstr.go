// Package jsonstr holds what the two scanners of JSON strings share: the
// chat layer (package decode) and the views and NDJSON (package render).
// Chat servers written in PHP send every non-ASCII character as \uXXXX, so
// reading four hex digits is on the hot path of both, done with arithmetic
// on the four bytes at once, with no table to load from; and both look at
// eight bytes of a string at a time (ZeroBytes).
package jsonstr

import "encoding/binary"

// Hex4 reads the four hex digits that b starts with (it must hold four
// bytes), or returns -1 when they are not all hex digits.
func Hex4(b []byte) rune {
	return Hex4Word(binary.LittleEndian.Uint32(b))
}

// Hex4Word is Hex4 for four bytes read as a little-endian word: the first
// digit in the lowest byte.
func Hex4Word(x uint32) rune {
	if !IsHex4Word(x) {
		return -1
	}
	return Hex4Value(x)
}

// Hex4Value is Hex4Word for four bytes known to be hex digits (in a JSON
// string already validated): garbage otherwise, but small enough to be
// inlined into the loops that decode text.
func Hex4Value(x uint32) rune {
	// A hex digit's value is its low nibble, plus 9 for a letter (bit 6).
	v := x&(0x0f*ones) + 9*(x>>6&ones)
	// Two digits to a byte: the first of each pair is the high nibble.
	t := v<<4 | v>>8
	return rune(t&0xff)<<8 | rune(t>>16&0xff)
}

const ones, highs = 0x01010101, 0x80808080

// IsHex4Word reports whether the four bytes of x are all hex digits. Each
// byte, once known to be ASCII, is tested against the ranges 0-9 and a-f
// (A-F folded onto it) by adding what carries into its high bit at each
// end of the range; no carry crosses into the next byte.
func IsHex4Word(x uint32) bool {
	if x&highs != 0 {
		return false
	}
	digit := (x + (0x80-'0')*ones) &^ (x + (0x80-'9'-1)*ones)
	l := x | 0x20*ones
	letter := (l + (0x80-'a')*ones) &^ (l + (0x80-'f'-1)*ones)
	return (digit|letter)&highs == highs
}

// ZeroBytes sets the high bit of each byte of w that is zero, exactly
// (the other bits are noise): adding 0x7f to a byte's low seven bits
// carries into its high bit when they are not all zero, and never into the
// next byte. Both scanners test eight bytes of a string at once with it.
func ZeroBytes(w uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	return ^((w&low7 + low7) | w)
}
