package render

import (
	"bytes"
	"encoding/base64"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/decode"
)

// refNDJSON is an NDJSON line written the straightforward way, with none
// of appendNDJSON's shortcuts: every string quoted by appendJSONString,
// numbers by strconv, the time by time.Format, the addresses by
// netip.AddrPort.MarshalText (which, unlike String, writes nothing for
// the zero AddrPort, as NDJSON does). The fast paths must give the same
// bytes.
func refNDJSON(b []byte, e *decode.Event) []byte {
	str := func(key, val string) {
		b = append(b, `,"`+key+`":`...)
		b = appendJSONString(b, val)
	}
	num := func(key string, v int) { b = append(b, `,"`+key+`":`+strconv.Itoa(v)...) }
	boolean := func(key string, v bool) { b = append(b, `,"`+key+`":`+strconv.FormatBool(v)...) }
	b = append(b, `{"event":`...)
	b = appendJSONString(b, string(e.Kind))
	str("time", e.Time.UTC().Format(TimeLayout))
	client, _ := e.Client.MarshalText()
	server, _ := e.Server.MarshalText()
	str("client", string(client))
	str("server", string(server))
	if e.Kind == decode.KindMessage || e.Kind == decode.KindGap || e.Kind == decode.KindError {
		str("from", map[bool]string{true: "client", false: "server"}[e.FromClient])
	}
	switch e.Kind {
	case decode.KindOpen:
		str("path", e.Path)
		str("origin", e.Origin)
		str("extensions", e.Extensions)
		str("subprotocol", e.Subprotocol)
		boolean("accept_ok", e.AcceptOK)
		if e.Midstream {
			boolean("midstream", true)
		}
		if e.TLS != nil {
			b = appendTLS(b, e.TLS)
		}
	case decode.KindMessage:
		str("opcode", e.Opcode.String())
		boolean("masked", e.Masked)
		boolean("compressed", e.Compressed)
		boolean("midstream", e.Midstream)
		boolean("truncated", e.Truncated)
		num("fragments", e.Fragments)
		num("length", e.Length)
		switch {
		case e.PayloadIsText:
			str("text", string(e.Payload))
		case len(e.Payload) > 0:
			str("data", base64.StdEncoding.EncodeToString(e.Payload))
		}
		if e.Opcode == decode.OpClose {
			if e.CloseCode != 0 {
				num("close_code", e.CloseCode)
			}
			str("close_reason", e.CloseReason)
		}
		if len(e.Chat) > 0 {
			b = append(b, `,"chat":`...)
			b = append(b, e.Chat...)
		}
		if e.Violations != 0 {
			b = append(b, `,"violations":[`...)
			for i, name := range e.Violations.Names() {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, name)
			}
			b = append(b, ']')
		}
	case decode.KindRejected:
		str("path", e.Path)
		str("origin", e.Origin)
		num("status", e.Status)
		str("status_text", e.StatusText)
	case decode.KindGap:
		if e.Bytes >= 0 {
			num("bytes", e.Bytes)
		}
	case decode.KindError:
		str("error", e.Err)
	}
	return append(b, "}\n"...)
}

// randomInt is an int of any size: small ones most often (where
// appendInt's digits by hand are), each decimal length's edges, negative
// ones and the extremes.
func randomInt(rng *rand.Rand) int {
	switch rng.IntN(6) {
	case 0:
		return rng.IntN(20000)
	case 1:
		p := []int{1, 10, 100, 1000, 10000, 100000}[rng.IntN(6)]
		return p + rng.IntN(3) - 1
	case 2:
		return -rng.IntN(20000)
	case 3:
		return []int{0, math.MaxInt, math.MinInt, math.MaxInt32, 65535}[rng.IntN(5)]
	case 4:
		return int(rng.Int64())
	}
	return rng.IntN(200)
}

// randomTime is a capture time: within a few seconds (events sharing one,
// or a second's first and last nanosecond), around zero, before year 1000,
// past year 9999 (which the fast path hands to time.Format), in a zone.
func randomTime(rng *rand.Rand, base time.Time) time.Time {
	var t time.Time
	switch rng.IntN(8) {
	case 0:
		t = base.Add(time.Duration(rng.IntN(3)) * time.Second).Truncate(time.Second)
		if rng.IntN(2) == 0 {
			t = t.Add(-1) // the second's last nanosecond
		}
	case 1:
		t = time.Unix(rng.Int64N(5)-2, rng.Int64N(1e9)) // zero, and negative
	case 2:
		t = time.Date(rng.IntN(1000), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), 59, 59, rng.IntN(1e9), time.UTC)
	case 3:
		t = time.Date(9999+rng.IntN(3), 12, 31, 23, 59, 59, 999999999, time.UTC).Add(time.Duration(rng.IntN(3)) * time.Nanosecond)
	case 4:
		t = time.Date(-rng.IntN(3), 1, 1, 0, 0, 0, rng.IntN(3), time.UTC)
	case 5:
		t = time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9))
	default:
		t = base.Add(time.Duration(rng.Int64N(int64(3 * time.Second))))
	}
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("east", 5*3600+1800), time.FixedZone("west", -8*3600-59)}
	return t.In(zones[rng.IntN(len(zones))])
}

// TestNDJSONLikeStraightforward formats many random events of every kind,
// by the Formatter (with its memory of seconds and connections), by
// AppendNDJSON, and the straightforward way (refNDJSON), which must agree
// byte for byte: odd kinds and opcodes, IPv6 with zones, ports 0 and 65535,
// times at second edges, around zero, before year 1000 and past 9999,
// numbers of every length and negative ones.
func TestNDJSONLikeStraightforward(t *testing.T) {
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:7272"),
		netip.MustParseAddrPort("0.0.0.0:0"),
		netip.MustParseAddrPort("255.255.255.255:65535"),
		netip.MustParseAddrPort("[::1]:9"),
		netip.MustParseAddrPort("[fe80::1%eth0]:55151"),
		netip.MustParseAddrPort("[fe80::2%2]:1"),
		// (A zone JSON must escape, as `%a"b`, comes out unescaped:
		// addresses read from packets have no zone.)
		netip.MustParseAddrPort("[::ffff:10.0.0.1]:443"),
		netip.MustParseAddrPort("[2001:db8::abcd:1]:80"),
		{}, // the zero AddrPort: ""
	}
	kinds := []decode.Kind{decode.KindOpen, decode.KindMessage, decode.KindMessage, decode.KindMessage,
		decode.KindGap, decode.KindClose, decode.KindError, decode.KindRejected, "", "odd\"kind", "é\x00"}
	payloads := [][]byte{nil, []byte("hi"), []byte(`{"type":"say","content":"\u4f60"}`), []byte("\xff\x00\x1b")}
	base := time.Date(2026, 11, 24, 18, 42, 59, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	f := NewNDJSON(nil).Formatter()
	for i := range 20000 {
		p := payloads[rng.IntN(len(payloads))]
		e := decode.Event{
			Kind:          kinds[rng.IntN(len(kinds))],
			Time:          randomTime(rng, base),
			ConnID:        uint64(rng.IntN(3 * pairSlots)),
			Client:        addrs[rng.IntN(len(addrs))],
			Server:        addrs[rng.IntN(len(addrs))],
			FromClient:    rng.IntN(2) == 0,
			Midstream:     rng.IntN(4) == 0,
			Path:          "/p",
			Origin:        "o",
			AcceptOK:      rng.IntN(2) == 0,
			Opcode:        decode.Opcode(rng.IntN(256)), // String reads the low four bits
			Masked:        rng.IntN(2) == 0,
			Compressed:    rng.IntN(2) == 0,
			Truncated:     rng.IntN(2) == 0,
			Fragments:     randomInt(rng),
			Length:        randomInt(rng),
			Payload:       p,
			PayloadIsText: rng.IntN(2) == 0,
			CloseCode:     randomInt(rng),
			CloseReason:   "bye",
			Violations:    decode.Violations(rng.Uint32() & rng.Uint32() & rng.Uint32()),
			Bytes:         randomInt(rng),
			Status:        randomInt(rng),
			StatusText:    "Forbidden",
			Err:           "bad",
		}
		if rng.IntN(3) == 0 {
			e.Opcode = decode.OpClose
		}
		if e.PayloadIsText && bytes.HasPrefix(p, []byte("{")) {
			e.Chat = p
		}
		want := refNDJSON([]byte("x"), &e)
		if got := AppendNDJSON([]byte("x"), &e); !bytes.Equal(got, want) {
			t.Fatalf("event %d: AppendNDJSON\n got %s\nwant %s", i, got, want)
		}
		if got := f.AppendEvent([]byte("x"), &e); !bytes.Equal(got, want) {
			t.Fatalf("event %d: Formatter\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestAppendIntLikeStrconv checks the digits by hand on every value up to
// past their range, and on the edges of every length and sign.
func TestAppendIntLikeStrconv(t *testing.T) {
	check := func(v int) {
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.Itoa(v); got != want {
			t.Fatalf("appendInt(%d) = %s, want %s", v, got, want)
		}
	}
	for v := -1000; v <= 100000; v++ {
		check(v)
	}
	for p := 1; p > 0 && p <= math.MaxInt/10; p *= 10 {
		check(p - 1)
		check(p)
		check(-p)
	}
	check(math.MaxInt)
	check(math.MinInt)
}

// TestAppendDigits checks the fixed-width digits against strconv, padded,
// for every width the formatters use.
func TestAppendDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= 9; n++ {
		limit := int(math.Pow10(n))
		vals := []int{0, 1, 9, 10, 99, 100, limit/10 - 1, limit / 10, limit - 1}
		for range 2000 {
			vals = append(vals, rng.IntN(limit))
		}
		for _, v := range vals {
			if v >= limit {
				continue
			}
			want := strconv.Itoa(v)
			want = "x" + string(bytes.Repeat([]byte("0"), n-len(want))) + want
			if got := string(appendDigits([]byte("x"), v, n)); got != want {
				t.Fatalf("appendDigits(%d, %d) = %s, want %s", v, n, got, want)
			}
		}
	}
}

// TestAppendNanos checks the nine digits made in a word against
// appendDigits: every value below 10^6, each digit's edges, and about a
// million values spread over the rest.
func TestAppendNanos(t *testing.T) {
	check := func(v int) {
		if got, want := appendNanos([]byte("x"), v), appendDigits([]byte("x"), v, 9); !bytes.Equal(got, want) {
			t.Fatalf("appendNanos(%d) = %s, want %s", v, got, want)
		}
	}
	for v := range 1000000 {
		check(v)
	}
	for p := 10; p <= 1e9; p *= 10 {
		for d := 1; d <= 9; d++ {
			check(d*p/10 - 1)
			check(d * p / 10)
		}
		check(p - 1)
	}
	for v := 1000000; v < 1e9; v += 997 {
		check(v)
	}
}
