package reassembly

import "math/bits"

// Out-of-order data is copied into buffers of a few sizes, powers of two
// from minBuf to maxBuf, kept for reuse once delivered: after a warm-up,
// buffering a segment allocates nothing. A segment larger than maxBuf (only
// possible with offloaded super-packets) gets a buffer of its own.
const (
	minBufShift = 8 // 256 bytes
	bufClasses  = 11
	maxBuf      = 1 << (minBufShift + bufClasses - 1) // 256 KiB
	// segOverhead is what a buffered segment costs besides its buffer,
	// counted so that many tiny segments cannot get around the bounds.
	segOverhead = 64
	// maxFreeBuf bounds the bytes kept for reuse, so that a burst of
	// reordering does not pin its peak memory for the rest of the run.
	maxFreeBuf = 8 << 20
)

// bufPool holds free buffers by size class.
type bufPool struct {
	free      [bufClasses][][]byte
	freeBytes int
}

func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufShift
}

// get returns a buffer of length n.
func (p *bufPool) get(n int) []byte {
	c := bufClass(n)
	if c >= bufClasses {
		return make([]byte, n)
	}
	if l := len(p.free[c]); l > 0 {
		b := p.free[c][l-1]
		p.free[c][l-1] = nil
		p.free[c] = p.free[c][:l-1]
		p.freeBytes -= cap(b)
		return b[:n]
	}
	return make([]byte, n, 1<<(minBufShift+c))
}

// put takes back a buffer from get.
func (p *bufPool) put(b []byte) {
	c := bufClass(cap(b))
	if c >= bufClasses || cap(b) != 1<<(minBufShift+c) || p.freeBytes+cap(b) > maxFreeBuf {
		return
	}
	p.free[c] = append(p.free[c], b[:0])
	p.freeBytes += cap(b)
}

// cost is what a buffered segment counts against the bounds.
func cost(s *segment) int { return cap(s.buf) + segOverhead }
