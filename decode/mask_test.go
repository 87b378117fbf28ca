package decode

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestMaskReference compares Mask with the byte-by-byte reference for every
// key offset and every length up to well past the unrolled loop, at every
// alignment of the slice.
func TestMaskReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	key := [4]byte{0x12, 0x9a, 0xfe, 0x01}
	src := make([]byte, 300)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	for align := 0; align < 8; align++ {
		for pos := 0; pos < 4; pos++ {
			for n := 0; n <= 200; n++ {
				got := bytes.Clone(src[align : align+n])
				want := bytes.Clone(got)
				gp := Mask(key, pos, got)
				wp := maskRef(key, pos, want)
				if gp != wp || !bytes.Equal(got, want) {
					t.Fatalf("align %d pos %d len %d: pos %d want %d, bytes differ: %v", align, pos, n, gp, wp, !bytes.Equal(got, want))
				}
			}
		}
	}
}

// TestMaskResumable unmasks a payload in random pieces, as segments bring
// it, and checks it against unmasking it whole.
func TestMaskResumable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 200; round++ {
		var key [4]byte
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		p := make([]byte, rng.IntN(5000))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		want := bytes.Clone(p)
		maskRef(key, 0, want)
		pos := 0
		for rest := p; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(100))
			pos = Mask(key, pos, rest[:n])
			rest = rest[n:]
		}
		if !bytes.Equal(p, want) || pos != len(p)&3 {
			t.Fatalf("round %d: pieces differ from whole (pos %d)", round, pos)
		}
	}
}

// TestMaskNegativeOrLargePos: pos is taken modulo 4.
func TestMaskLargePos(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	for _, pos := range []int{4, 5, 1 << 40, 7} {
		got, want := []byte("hello, world!"), []byte("hello, world!")
		if Mask(key, pos, got) != maskRef(key, pos, want) || !bytes.Equal(got, want) {
			t.Errorf("pos %d differs", pos)
		}
	}
}

// BenchmarkMask reports the unmasking speed; the goal is at least 5 GB/s
// per core for payloads of a few KiB and more.
func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x12, 0x9a, 0xfe, 0x01}
	for _, n := range []int{16, 128, 1 << 10, 16 << 10, 1 << 20} {
		buf := make([]byte, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			pos := 0
			for b.Loop() {
				pos = Mask(key, pos+1, buf)
			}
		})
	}
}

// BenchmarkMaskRef is the byte-by-byte reference, for comparison.
func BenchmarkMaskRef(b *testing.B) {
	key := [4]byte{0x12, 0x9a, 0xfe, 0x01}
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		maskRef(key, 1, buf)
	}
}
