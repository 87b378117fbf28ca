package render

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/decode"
)

// benchEvent is a typical server broadcast as the decoder hands it over.
func benchEvent() *decode.Event {
	payload := `{"type":"say","from_client_id":"7f00000108fd00000001","from_client_name":"alice","to_client_id":"all","content":"hello everyone, \u4f60\u597d, a line of ordinary length","time":"2026-11-24 18:42:37"}`
	return &decode.Event{
		Kind:          decode.KindMessage,
		Time:          time.Date(2026, 11, 24, 18, 42, 37, 123456789, time.UTC),
		ConnID:        42,
		Client:        netip.MustParseAddrPort("127.1.0.44:58681"),
		Server:        netip.MustParseAddrPort("127.0.0.1:7272"),
		Opcode:        decode.OpText,
		Fragments:     1,
		Length:        len(payload),
		Payload:       []byte(payload),
		PayloadIsText: true,
		Chat:          []byte(payload),
		ChatLine:      "alice → all: hello everyone, 你好, a line of ordinary length",
	}
}

// BenchmarkNDJSON writes message events as NDJSON: no allocation expected.
func BenchmarkNDJSON(b *testing.B) {
	e := benchEvent()
	n := NewNDJSON(io.Discard)
	b.SetBytes(int64(len(e.Payload)))
	b.ReportAllocs()
	for b.Loop() {
		n.Event(e)
	}
}

// BenchmarkText writes message events as the coloured conversation view.
func BenchmarkText(b *testing.B) {
	for _, compact := range []bool{false, true} {
		name := "pretty"
		if compact {
			name = "compact"
		}
		b.Run(name, func(b *testing.B) {
			e := benchEvent()
			t := NewText(io.Discard, TextOptions{Scheme: NewScheme(true), Compact: compact})
			b.SetBytes(int64(len(e.Payload)))
			b.ReportAllocs()
			for b.Loop() {
				t.Event(e)
			}
		})
	}
}

// TestAppendJSONStringLikeEncodingJSON checks the escaper, and its
// eight-bytes-at-a-time skip, against encoding/json (without HTML escaping)
// on strings with the bytes to escape at every position of a word.
func TestAppendJSONStringLikeEncodingJSON(t *testing.T) {
	specials := []string{`"`, `\`, "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "\xff", "\xe2\x80", "你"}
	for _, sp := range specials {
		for pos := range 17 {
			for _, tail := range []int{0, 3, 9} {
				s := strings.Repeat("a", pos) + sp + strings.Repeat("b", tail)
				checkJSONString(t, s)
			}
		}
	}
	checkJSONString(t, "")
	checkJSONString(t, strings.Repeat(`{"type":"say","content":"x"} `, 10))
}

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	w := strings.TrimSuffix(want.String(), "\n")
	if got := string(appendJSONBytes(nil, []byte(s))); got != w {
		t.Errorf("appendJSONBytes(%q) = %s, want %s", s, got, w)
	}
	if got := string(appendJSONString(nil, s)); got != w {
		t.Errorf("appendJSONString(%q) = %s, want %s", s, got, w)
	}
}

// TestTimeFormats checks the hand-written time writers against the
// layouts they stand for, over the range of years and zones.
func TestTimeFormats(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("east", 5*3600+1800), time.FixedZone("west", -8*3600)}
	rng := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{time.Unix(0, 0), time.Date(2026, 11, 24, 18, 42, 0, 36699493, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	for range 2000 {
		times = append(times, time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9)))
	}
	// Runs within a second, and across its edges.
	for i := range 50 {
		times = append(times, time.Unix(1795000000+int64(i/20), int64(i%20)*5e7))
	}
	var lastUTC, lastClock lastSecond
	var prev time.Time
	for _, tm := range times {
		for _, z := range zones {
			tz := tm.In(z)
			if got, want := string(appendTimeUTC(nil, tz, nil)), tz.UTC().Format(TimeLayout); got != want {
				t.Fatalf("appendTimeUTC(%v) = %s, want %s", tz, got, want)
			}
			if got, want := string(appendClock(nil, tz, nil)), tz.Format("15:04:05.000000"); got != want {
				t.Fatalf("appendClock(%v) = %s, want %s", tz, got, want)
			}
			// With a memory of the last second, whatever it holds.
			if got, want := string(appendTimeUTC(nil, tz, &lastUTC)), tz.UTC().Format(TimeLayout); got != want {
				t.Fatalf("appendTimeUTC(%v) after %v = %s, want %s", tz, prev, got, want)
			}
			if got, want := string(appendClock(nil, tz, &lastClock)), tz.Format("15:04:05.000000"); got != want {
				t.Fatalf("appendClock(%v) after %v = %s, want %s", tz, prev, got, want)
			}
			prev = tz
		}
	}
}

// BenchmarkJSONBytes escapes a long say as PHP's json_encode writes
// mixed-script text: a quote or backslash every few bytes.
func BenchmarkJSONBytes(b *testing.B) {
	p := []byte(`{"type":"say","from_client_id":"7f00000108fc00000002","from_client_name":"mynick","to_client_id":"all","content":"` +
		strings.Repeat(`\u0430\u043a atC:\\path \u00e7a \u0434\u0435\u043b\u0430a &amp; b the \u043a\u0430\u043a it&#039;s \u03c3\u03bf\u03c5\u8c22\u8c22 what<br \/>\n`, 40) +
		`","time":"2026-11-24 18:42:03"}`)
	var out []byte
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		out = appendJSONBytes(out[:0], p)
	}
}

// TestAppendJSONBytesChunkEdges puts the worst expansions (controls: six
// bytes each, then quotes: two) on both sides of a chunk's end, where the
// escaper's last word reads past the chunk.
func TestAppendJSONBytesChunkEdges(t *testing.T) {
	for _, before := range []int{jsonChunk - 9, jsonChunk - 8, jsonChunk - 1, jsonChunk, jsonChunk + 1} {
		for _, fill := range []string{"\x01", `"`, "é"} {
			s := strings.Repeat(fill, before) + strings.Repeat(`"`, 24) + strings.Repeat("\x02", 9)
			checkJSONString(t, s)
		}
	}
	// With the output buffer's spare room exactly as asked for, whatever
	// slices.Grow would round it up to.
	s := []byte(strings.Repeat("\x01", jsonChunk-1) + strings.Repeat(`"`, 24))
	want := appendJSONBytes(nil, s)
	for spare := 6*jsonChunk - 16; spare <= 6*jsonChunk+80; spare++ {
		if got := appendJSONBytes(make([]byte, 0, 1+spare), s); !bytes.Equal(got, want) {
			t.Fatalf("spare room %d: wrong output", spare)
		}
	}
}

// TestPrintableRun checks the word-at-a-time scan against a byte loop, with
// every byte value at every place of a run, across the word edges.
func TestPrintableRun(t *testing.T) {
	ref := func(s []byte) int {
		n := 0
		for n < len(s) && s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' && s[n] != '\\' {
			n++
		}
		return n
	}
	for size := range 20 {
		for at := range size {
			for c := range 256 {
				s := bytes.Repeat([]byte{'a'}, size)
				s[at] = byte(c)
				if got, want := printableRun(s), ref(s); got != want {
					t.Fatalf("printableRun(%q) = %d, want %d", s, got, want)
				}
			}
		}
	}
}
