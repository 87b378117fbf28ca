package jsonstr

import (
	"strconv"
	"testing"
)

func TestHex4(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rune
	}{
		{"0000", 0}, {"732a", 0x732a}, {"732A", 0x732a}, {"FFFF", 0xffff}, {"d83dx", 0xd83d},
		{"00g0", -1}, {"-123", -1}, {" 123", -1}, {"12\x00f", -1}, {"+fff", -1},
	} {
		if got := Hex4([]byte(tc.in)); got != tc.want {
			t.Errorf("Hex4(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

// FuzzHex4 checks Hex4 against strconv.ParseUint, which also takes only
// hex digits (once signs and prefixes are ruled out).
func FuzzHex4(f *testing.F) {
	f.Add([]byte("732a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 4 {
			return
		}
		want := rune(-1)
		if b[0] != '+' && b[0] != '-' && b[0] != '_' {
			if v, err := strconv.ParseUint(string(b[:4]), 16, 16); err == nil {
				want = rune(v)
			}
		}
		for _, c := range b[:4] {
			if c == '_' { // ParseUint takes underscores only with a base prefix; rule them out anyway
				want = -1
			}
		}
		if got := Hex4(b); got != want {
			t.Fatalf("Hex4(%q) = %#x, want %#x", b[:4], got, want)
		}
	})
}

// TestHex4EveryByte checks every byte value in every position (the bytes
// are read independently) against strconv.
func TestHex4EveryByte(t *testing.T) {
	for pos := range 4 {
		for c := range 256 {
			b := []byte("0aF9")
			b[pos] = byte(c)
			want := rune(-1)
			if c != '+' && c != '-' && c != '_' {
				if v, err := strconv.ParseUint(string(b), 16, 16); err == nil {
					want = rune(v)
				}
			}
			if got := Hex4(b); got != want {
				t.Fatalf("Hex4(%q) = %#x, want %#x", b, got, want)
			}
		}
	}
}

// TestHex4Value checks the unchecked reader on every four hex digits.
func TestHex4Value(t *testing.T) {
	const digits = "0123456789abcdefABCDEF"
	var b [4]byte
	for _, a := range []byte(digits) {
		for _, c := range []byte(digits) {
			for _, d := range []byte(digits) {
				for _, e := range []byte(digits) {
					b = [4]byte{a, c, d, e}
					x := uint32(a) | uint32(c)<<8 | uint32(d)<<16 | uint32(e)<<24
					if got, want := Hex4Value(x), Hex4(b[:]); got != want {
						t.Fatalf("Hex4Value(%q) = %#x, want %#x", b[:], got, want)
					}
				}
			}
		}
	}
}

// TestZeroBytes checks every byte value in every position of a word whose
// other bytes are zero or not.
func TestZeroBytes(t *testing.T) {
	for _, fill := range []byte{0, 1, 0x80, 0xff} {
		for pos := range 8 {
			for c := range 256 {
				var w uint64
				for i := range 8 {
					b := uint64(fill)
					if i == pos {
						b = uint64(c)
					}
					w |= b << (8 * i)
				}
				got := ZeroBytes(w) & 0x8080808080808080
				var want uint64
				for i := range 8 {
					if byte(w>>(8*i)) == 0 {
						want |= 0x80 << (8 * i)
					}
				}
				if got != want {
					t.Fatalf("ZeroBytes(%#016x) flags %#016x, want %#016x", w, got, want)
				}
			}
		}
	}
}
