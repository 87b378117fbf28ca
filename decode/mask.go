package decode

import "encoding/binary"

// Mask XORs b in place with the masking key of a client frame (RFC 6455
// section 5.3), starting at key offset pos: byte i of b is XORed with
// key[(pos+i)%4]. It returns the key offset for the byte after b, so that a
// payload that arrives in pieces (TCP segments) is unmasked piece by piece.
// Masking and unmasking are the same operation.
//
// This is the one place where the decoder unmasks client frames. It works on
// 8 bytes at a time: the key is rotated once to the starting offset and
// repeated into a 64-bit word, and since 8 is a multiple of 4 that word lines
// up with every later 8-byte block.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	end := (pos + len(b)) & 3
	if len(b) == 0 {
		return end
	}
	// rk is the key as seen from b[0].
	rk := [4]byte{key[pos], key[(pos+1)&3], key[(pos+2)&3], key[(pos+3)&3]}
	k32 := binary.LittleEndian.Uint32(rk[:])
	k := uint64(k32) | uint64(k32)<<32

	// Unrolled by 8 words: the loads and stores are independent, so the CPU
	// overlaps them; the bounds check is hoisted by re-slicing.
	for len(b) >= 64 {
		w := b[:64:64]
		binary.LittleEndian.PutUint64(w[0:], binary.LittleEndian.Uint64(w[0:])^k)
		binary.LittleEndian.PutUint64(w[8:], binary.LittleEndian.Uint64(w[8:])^k)
		binary.LittleEndian.PutUint64(w[16:], binary.LittleEndian.Uint64(w[16:])^k)
		binary.LittleEndian.PutUint64(w[24:], binary.LittleEndian.Uint64(w[24:])^k)
		binary.LittleEndian.PutUint64(w[32:], binary.LittleEndian.Uint64(w[32:])^k)
		binary.LittleEndian.PutUint64(w[40:], binary.LittleEndian.Uint64(w[40:])^k)
		binary.LittleEndian.PutUint64(w[48:], binary.LittleEndian.Uint64(w[48:])^k)
		binary.LittleEndian.PutUint64(w[56:], binary.LittleEndian.Uint64(w[56:])^k)
		b = b[64:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= rk[i&3]
	}
	return end
}
