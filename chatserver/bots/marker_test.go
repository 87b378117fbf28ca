package bots

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestMarkerRoundTrip(t *testing.T) {
	for _, m := range []marker{
		{1, 0, 1, 0},
		{7, 9999, 123456, time.Now().UnixNano()},
		{1<<32 - 1, 1<<32 - 1, 1<<32 - 1, 1<<63 - 1},
	} {
		content := appendContent(nil, m, 64)
		if len(content) < 64 {
			t.Errorf("content %q shorter than 64", content)
		}
		msg := fmt.Sprintf(`{"type":"say","from_uid":1,"to_uid":"all","content":"%s","time":"x"}`, content)
		got, ok := parseMarker([]byte(msg))
		if !ok || got != m {
			t.Errorf("parseMarker(%s) = %+v, %v; want %+v", msg, got, ok, m)
		}
	}
}

func TestParseMarkerRejects(t *testing.T) {
	for _, msg := range []string{
		`{"type":"say","content":"hello"}`,
		`{"type":"say","content":"~1.2.3~"}`,
		`{"type":"say","content":"~1.2.3.4.5~"}`,
		`{"type":"say","content":"~1.2.x.4~"}`,
		`{"type":"say","content":"~1.2.3.99999999999999999999~"}`,
		`{"type":"say","content":"~4294967296.1.1.1~"}`,
		`{"type":"say","content":"~1..3.4~"}`,
		`{"type":"say","content":"~1.2.3.4`,
	} {
		if m, ok := parseMarker([]byte(msg)); ok {
			t.Errorf("parseMarker(%s) accepted: %+v", msg, m)
		}
	}
}

func FuzzParseMarker(f *testing.F) {
	f.Add([]byte(`{"type":"say","content":"~1.2.3.4~xxxx"}`))
	f.Add([]byte(`"content":"~`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := parseMarker(b)
		if !ok {
			return
		}
		// What parses must survive a round trip.
		again, ok := parseMarker([]byte(`"content":"` + string(appendContent(nil, m, 40))))
		if !ok || again != m {
			t.Fatalf("round trip of %+v gave %+v, %v", m, again, ok)
		}
	})
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	r := rand.New(rand.NewPCG(1, 2))
	// 990 fast (100 µs .. 1 ms), 10 slow (50 ms).
	for range 990 {
		h.add(time.Duration(100+r.IntN(900)) * time.Microsecond)
	}
	for range 10 {
		h.add(50 * time.Millisecond)
	}
	l := h.snapshot()
	if l.n != 1000 {
		t.Fatalf("n = %d", l.n)
	}
	if p50 := l.quantile(0.5); p50 < 400*time.Microsecond || p50 > 700*time.Microsecond {
		t.Errorf("p50 = %v", p50)
	}
	if p99 := l.quantile(0.99); p99 > time.Millisecond {
		t.Errorf("p99 = %v, want under 1 ms (the 10 slow ones are the top 1%%)", p99)
	}
	if p999 := l.quantile(0.999); p999 < 48*time.Millisecond {
		t.Errorf("p99.9 = %v, want about 50 ms", p999)
	}
	if l.max != 50*time.Millisecond {
		t.Errorf("max = %v", l.max)
	}
	if again := h.snapshot(); again.n != 0 || again.max != 0 {
		t.Errorf("snapshot did not reset: %d samples, max %v", again.n, again.max)
	}
}

func TestBuckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<22; us = us*17/16 + 1 {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucketOf not monotonic at %d", us)
		}
		prev = b
		if low := bucketLow(b); low > us || (us >= 32 && float64(us-low) > 0.04*float64(us)) {
			t.Fatalf("value %d in bucket %d whose low edge is %d", us, b, low)
		}
	}
}
