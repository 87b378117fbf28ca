package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/decode"
)

// formatterCase is a Formatter and the formatting that remembers nothing,
// which it must match byte for byte.
type formatterCase struct {
	name string
	f    Formatter
	ref  func(b []byte, e *decode.Event) []byte
}

// formatterCases are fresh Formatters of every output.
func formatterCases() []formatterCase {
	cases := []formatterCase{{"ndjson", NewNDJSON(nil).Formatter(), AppendNDJSON}}
	for _, colour := range []bool{false, true} {
		for _, compact := range []bool{false, true} {
			o := TextOptions{Scheme: NewScheme(colour), Compact: compact}
			cases = append(cases, formatterCase{fmt.Sprintf("text/colour=%t/compact=%t", colour, compact), NewText(nil, o).Formatter(),
				func(b []byte, e *decode.Event) []byte { return AppendText(b, e, o) }})
		}
	}
	return cases
}

// chatEvent is a text message carrying payload, read as chat when it is a
// JSON object, with line as its chat line.
func chatEvent(payload []byte, line string) decode.Event {
	e := decode.Event{Kind: decode.KindMessage, Time: ts, ConnID: 3, Client: cli, Server: srv, Opcode: decode.OpText,
		Payload: payload, PayloadIsText: true, Length: len(payload), Fragments: 1, ChatLine: line}
	if json.Valid(payload) && bytes.HasPrefix(payload, []byte("{")) {
		var c bytes.Buffer
		json.Compact(&c, payload)
		e.Chat = c.Bytes()
	}
	return e
}

// TestFormatterRemembersExactly feeds the formatters messages that repeat,
// that differ from a recent one only at the end or in length, and messages
// whose buffer is reused for other bytes (as the batches' arenas are), and
// checks every line against the formatting that remembers nothing.
func TestFormatterRemembersExactly(t *testing.T) {
	say := func(content string) []byte {
		return []byte(`{"type":"say","from_client_id":"7f0000010b5400000001","from_client_name":"alice","to_client_id":"all","content":"` + content + `","time":"2026-11-24 18:42:37"}`)
	}
	long := strings.Repeat(`\u4f60\u597d \"q\" `, 200) // cut by the views
	buf := say("hi, all !")
	events := []decode.Event{
		chatEvent(buf, "alice → all: hi, all !"),
		chatEvent(buf, "alice → all: hi, all !"),
		chatEvent(say("hi, all ?"), "alice → all: hi, all ?"), // same length, one byte apart
		chatEvent(say("hi, all"), "alice → all: hi, all"),
		chatEvent(buf, "bob → all: hi, all !"), // same JSON, another line
		chatEvent(say(long), "alice → all: "+long),
		chatEvent(say(long), "alice → all: "+long),
		chatEvent(say(long+"x"), "alice → all: "+long+"x"), // differs past the cut
		chatEvent([]byte("not json \x1b[2J"), ""),
		chatEvent([]byte("not json \x1b[2J"), ""),
		chatEvent([]byte(`{"type":"ping"}`), "ping"),
		chatEvent([]byte(`{"type":"ping"}`), ""),
	}
	events[9].Opcode, events[9].PayloadIsText = decode.OpBinary, false // same bytes, binary
	for _, tc := range formatterCases() {
		t.Run(tc.name, func(t *testing.T) {
			for i := range events {
				e := events[i]
				got, want := tc.f.AppendEvent([]byte("x"), &e), tc.ref([]byte("x"), &e)
				if !bytes.Equal(got, want) {
					t.Fatalf("event %d:\n got %q\nwant %q", i, got, want)
				}
			}
			// The first message's buffer now holds other bytes of the
			// same length: nothing may be taken from the old ones.
			other := say("HI, ALL !")
			copy(buf, other)
			e := chatEvent(buf, "alice → all: HI, ALL !")
			if got, want := tc.f.AppendEvent(nil, &e), tc.ref(nil, &e); !bytes.Equal(got, want) {
				t.Fatalf("reused buffer:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// FuzzFormatter formats a run of messages made from a few payloads, in
// the order the input picks, and checks each line against the formatting
// that remembers nothing.
func FuzzFormatter(f *testing.F) {
	f.Add([]byte(`{"type":"say","content":"\u732a"}`), []byte(`{"type":"say","content":"\u732b"}`), "ab", []byte{0, 0, 1, 0, 1, 1, 2, 0})
	f.Add([]byte("hi"), []byte("\xff\x00"), "\x1b", []byte{2, 1, 1, 0, 0})
	f.Fuzz(func(t *testing.T, p0, p1 []byte, line string, order []byte) {
		payloads := [][]byte{p0, p1, append(bytes.Clone(p0), p1...)}
		for _, tc := range formatterCases() {
			for i, k := range order {
				e := chatEvent(payloads[int(k)%len(payloads)], line)
				if k&4 != 0 {
					e.ChatLine = ""
				}
				if k&8 != 0 {
					e.Opcode, e.PayloadIsText = decode.OpBinary, false
				}
				got, want := tc.f.AppendEvent(nil, &e), tc.ref(nil, &e)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: event %d:\n got %q\nwant %q", tc.name, i, got, want)
				}
			}
		}
	})
}

// TestFormatterAddressPairs: the NDJSON formatter keeps each connection's
// "client" and "server" fields; events of many connections, interleaved,
// whose numbers share slots of its table, and a number that comes back with
// other addresses (IPv6 with zones, ports 0 and 65535 among them), must
// give the lines of the formatting that remembers nothing.
func TestFormatterAddressPairs(t *testing.T) {
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:7272"),
		netip.MustParseAddrPort("127.1.2.3:0"),
		netip.MustParseAddrPort("[::1]:65535"),
		netip.MustParseAddrPort("[fe80::1%eth0]:55151"),
		netip.MustParseAddrPort("[::ffff:10.0.0.1]:443"),
		netip.MustParseAddrPort("10.0.0.1:443"),
	}
	f := NewNDJSON(nil).Formatter()
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []decode.Kind{decode.KindOpen, decode.KindMessage, decode.KindGap, decode.KindClose, decode.KindError}
	for i := range 5000 {
		e := decode.Event{
			Kind:   kinds[rng.IntN(len(kinds))],
			Time:   ts.Add(time.Duration(i) * time.Millisecond),
			ConnID: uint64(rng.IntN(3 * pairSlots)), // slots shared by up to three connections
			Client: addrs[rng.IntN(len(addrs))],
			Server: addrs[rng.IntN(len(addrs))],
			Opcode: decode.OpText, Fragments: 1, Payload: []byte("x"), Length: 1, PayloadIsText: true,
			Bytes: -1, Err: "e",
		}
		if got, want := f.AppendEvent(nil, &e), AppendNDJSON(nil, &e); !bytes.Equal(got, want) {
			t.Fatalf("event %d (conn %d):\n got %s\nwant %s", i, e.ConnID, got, want)
		}
	}
}
