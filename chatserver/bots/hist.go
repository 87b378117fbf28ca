package bots

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts latencies in microseconds in log-linear buckets: exact
// below 32 µs, then 32 buckets per power of two (about 3% wide), up to
// 2^40 µs. Receivers add to it concurrently with atomic counters, so it
// needs no lock and no per-receiver copy.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
}

const (
	subBits     = 5
	subCount    = 1 << subBits
	histBuckets = (40 - subBits + 1) * subCount
)

func bucketOf(us uint64) int {
	if us < subCount {
		return int(us)
	}
	e := bits.Len64(us) - subBits - 1
	i := (e+1)*subCount + int(us>>uint(e)) - subCount
	return min(i, histBuckets-1)
}

// bucketLow is the smallest value that falls in bucket i.
func bucketLow(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i/subCount - 1
	return uint64(i%subCount+subCount) << uint(e)
}

func (h *histogram) add(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	h.counts[bucketOf(uint64(us))].Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// snapshot copies the counts and resets the histogram.
func (h *histogram) snapshot() latencies {
	var l latencies
	for i := range h.counts {
		n := h.counts[i].Swap(0)
		l.counts[i] = n
		l.n += n
	}
	l.max = time.Duration(h.max.Swap(0)) * time.Microsecond
	return l
}

// latencies is a histogram's frozen copy.
type latencies struct {
	counts [histBuckets]uint64
	n      uint64
	max    time.Duration
}

// quantile returns the q-quantile (0 < q <= 1), rounded down to its
// bucket's low edge; 0 with no samples.
func (l *latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	rank := uint64(q*float64(l.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range l.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketLow(i)) * time.Microsecond
		}
	}
	return l.max
}
