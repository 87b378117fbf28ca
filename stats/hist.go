package stats

import (
	"math"
	"math/bits"
)

// histSub is the number of linear sub-buckets in each power of two of the
// histogram: a value is kept to within 1/histSub of itself, and reported
// as its bucket's middle, within 1/(2·histSub) (about 3%).
const histSub = 16

// histBuckets covers every uint64: the values below histSub exactly, then
// histSub buckets for each power of two from histSub up.
const histBuckets = histSub + (64-5+1)*histSub

// hist is a log-linear histogram of non-negative values (nanoseconds of
// spread), fixed in size whatever it counts, so percentiles cost no memory
// per value. It also keeps the exact maximum.
type hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64
}

// bucket returns the index of v's bucket.
func bucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	// v>>e is in [histSub, 2·histSub): its low bits pick the sub-bucket.
	e := bits.Len64(v) - 5
	return histSub + e*histSub + int(v>>e) - histSub
}

// bucketMid returns the middle of bucket i, the value reported for it.
func bucketMid(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := (i - histSub) / histSub
	m := uint64((i-histSub)%histSub + histSub)
	low := m << e
	return low + (uint64(1)<<e)/2
}

func (h *hist) add(v uint64) {
	h.counts[bucket(v)]++
	h.n++
	h.max = max(h.max, v)
}

// merge adds o's counts to h.
func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the value at quantile q (0 < q ≤ 1): the middle of the
// bucket holding the ⌈q·n⌉th smallest value, never more than the maximum.
// 0 when the histogram is empty.
func (h *hist) quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketMid(i), h.max)
		}
	}
	return h.max
}
