package render

import (
	"bytes"
	"encoding/json"
	"io"
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
