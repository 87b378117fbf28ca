package sniff

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/internal/pcaptest"
)

// Known differences between chatsniff and Debian's tshark 4.0 on the same
// file, which the comparison below allows for, and only these:
//
//   - tshark joins the fragments of a compressed message but does not
//     inflate them (pcaptest.Message.Opaque): such a message is compared by
//     opcode, fragment count and flags only, and chatsniff must have
//     inflated it to valid text.
//   - tshark numbers connections by their first packet (tcp.stream) and
//     knows them by that number only; chatsniff's NDJSON names them by the
//     client's address. Connections are paired in the order of their first
//     message, and each direction is compared on its own.
//
// Everything else must be equal: per direction, the number of messages of
// each opcode, and in order each message's opcode, payload (text, binary
// bytes, ping/pong payload, close reason), close code, fragment count, and
// the mask and compression flags.

// tsharkDir is one direction of one tshark stream.
type tsharkDir struct {
	stream     int
	fromClient bool
}

// TestTsharkPipeline compares, for each real capture and for copies of it
// whose segments were reordered and duplicated, the messages the pipeline
// writes as NDJSON with the messages tshark finds. It skips without tshark,
// unless CI=true.
func TestTsharkPipeline(t *testing.T) {
	variants := []struct {
		name string
		fn   func([]byte) ([]byte, error)
	}{
		{"original", nil},
		{"reorder", pcaptest.Reorder},
		{"duplicate", pcaptest.Duplicate},
	}
	for _, rc := range pcaptest.Captures {
		t.Run(rc.Name, func(t *testing.T) {
			t.Parallel()
			raw := pcaptest.Load(t, rc.Name)
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					path := pcaptest.Path(t, rc.Name)
					if v.fn != nil {
						b, err := v.fn(raw)
						path = damaged(t, v.name+".pcap", b, err)
					}
					ref := pcaptest.TsharkMessages(t, path, rc.Port)
					r := runNDJSON(t, path, nil)
					checkClean(t, r)
					compareTshark(t, r, ref)
				})
			}
			// The counts tshark gives must be the table's too, so that the
			// two references agree.
			ref := pcaptest.TsharkMessages(t, pcaptest.Path(t, rc.Name), rc.Port)
			client, server := pcaptest.Tally(ref)
			if client != rc.Client || server != rc.Server {
				t.Errorf("tshark counts c→s %+v s→c %+v, pcaptest.Captures says %+v %+v", client, server, rc.Client, rc.Server)
			}
			// The known differences are only the fragmented compressed
			// messages: every fragmented message when deflate was on.
			opaque, wantOpaque := 0, 0
			for _, m := range ref {
				if m.Opaque {
					opaque++
				}
			}
			if rc.Deflate {
				wantOpaque = rc.Fragmented
			}
			if opaque != wantOpaque {
				t.Errorf("tshark could not show %d messages, want %d (the fragmented compressed ones)", opaque, wantOpaque)
			}
		})
	}
}

// TestTsharkViolations compares the pipeline's messages with tshark's on
// the captures of traffic that breaks RFC 6455 on purpose. tshark checks
// none of the rules and decodes on; so does chatsniff, flagging each
// violation. Known differences, and only these: where a direction's
// framing is lost (a length with its top bit set), tshark shows nothing
// more of it, while chatsniff resumes at a later segment; tshark shows a
// text message of invalid UTF-8 with U+FFFD for each bad byte, chatsniff
// its bytes (NDJSON "data"); tshark shows no payload for a frame with a
// reserved opcode or for a continuation with no message begun; tshark's
// compressed flag is the RSV1 bit, set without permessage-deflate too.
func TestTsharkViolations(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(pcaptest.TestdataDir(t), "violations-*.pcap*"))
	if len(paths) == 0 {
		t.Fatal("no violations-*.pcap in testdata")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			ref := pcaptest.TsharkMessages(t, path, 7272)
			r := runNDJSON(t, path, nil)
			if r.err != nil {
				t.Fatal(r.err)
			}
			// The directions whose framing was lost, and the messages
			// flagged, so that only those may differ.
			lost := map[dirKey]bool{}
			errs := 0
			for i := range r.events {
				e := &r.events[i]
				switch {
				case e.Event == "error":
					errs++
					lost[e.dir()] = lost[e.dir()] || strings.Contains(e.Error, "most significant bit")
				case e.Event == "message" && (strings.HasPrefix(e.Opcode, "reserved-") || e.Opcode == "continuation"):
					e.Text, e.Data, e.Length = nil, nil, 0
				case e.Event == "message" && len(e.Violations) > 0:
					e.Compressed = e.Compressed || slices.Contains(e.Violations, "RSV1 set without permessage-deflate")
					if slices.Contains(e.Violations, "invalid UTF-8 in text message") {
						// As tshark shows it.
						text := string([]rune(e.payload()))
						e.Text, e.Data = &text, nil
						e.Length = len(text)
					}
				}
			}
			if errs == 0 {
				t.Error("no violation reported")
			}
			compareTsharkLost(t, r, ref, lost)
		})
	}
}

// compareTshark compares the pipeline's messages with tshark's, direction
// by direction.
func compareTshark(t *testing.T, r *result, ref []pcaptest.Message) {
	t.Helper()
	compareTsharkLost(t, r, ref, nil)
}

// compareTsharkLost is compareTshark, except that in the directions of
// lost, where tshark stopped at a frame that cannot be right, chatsniff
// may have more messages after tshark's.
func compareTsharkLost(t *testing.T, r *result, ref []pcaptest.Message, lost map[dirKey]bool) {
	t.Helper()
	// tshark: messages by stream and direction; streams in the order of
	// their first message.
	theirs := map[tsharkDir][]pcaptest.Message{}
	var streams []int
	for _, m := range ref {
		k := tsharkDir{m.Stream, m.FromClient}
		theirs[k] = append(theirs[k], m)
		if !slices.Contains(streams, m.Stream) {
			streams = append(streams, m.Stream)
		}
	}
	// chatsniff: message events by client and direction; connections in
	// the order of their first message.
	ours := map[dirKey][]ndEvent{}
	var clients []string
	for _, e := range r.events {
		if e.Event != "message" || e.Polling {
			continue // long-polling bodies are HTTP, which tshark's websocket filter leaves out
		}
		ours[e.dir()] = append(ours[e.dir()], e)
		if !slices.Contains(clients, e.Client) {
			clients = append(clients, e.Client)
		}
	}
	if len(streams) != len(clients) {
		t.Fatalf("tshark has messages on %d connections, chatsniff on %d", len(streams), len(clients))
	}
	if len(streams) == 0 {
		t.Fatal("no messages at all: nothing compared")
	}
	for i, stream := range streams {
		for _, fromClient := range []bool{true, false} {
			k := dirKey{clients[i], fromClient}
			tk := tsharkDir{stream, fromClient}
			o := ours[k]
			if lost[k] && len(o) > len(theirs[tk]) {
				t.Logf("%s: framing lost; tshark stops after %d messages, chatsniff resumes for %d more (known difference)", k, len(theirs[tk]), len(o)-len(theirs[tk]))
				o = o[:len(theirs[tk])]
			}
			compareDir(t, k.String(), o, theirs[tk])
		}
	}
}

func compareDir(t *testing.T, name string, ours []ndEvent, theirs []pcaptest.Message) {
	t.Helper()
	var oc, tc pcaptest.Counts
	for _, e := range ours {
		oc.Add(e.Opcode)
	}
	for _, m := range theirs {
		tc.Add(m.Opcode)
	}
	if oc != tc || len(ours) != len(theirs) {
		t.Errorf("%s: chatsniff counts %+v (%d messages), tshark %+v (%d)", name, oc, len(ours), tc, len(theirs))
		return
	}
	for i := range ours {
		if d := diffTshark(&ours[i], &theirs[i]); d != "" {
			t.Errorf("%s: message %d (tshark frame %d): %s", name, i+1, theirs[i].Frame, d)
		}
	}
}

// diffTshark says how one message differs, or "".
func diffTshark(e *ndEvent, m *pcaptest.Message) string {
	switch {
	case e.Opcode != m.Opcode:
		return fmt.Sprintf("opcode %s, tshark %s", e.Opcode, m.Opcode)
	case e.Fragments != m.Fragments:
		return fmt.Sprintf("%d fragments, tshark %d", e.Fragments, m.Fragments)
	case e.Compressed != m.Compressed:
		return fmt.Sprintf("compressed %v, tshark %v", e.Compressed, m.Compressed)
	case e.Masked != m.Masked:
		return fmt.Sprintf("masked %v, tshark %v", e.Masked, m.Masked)
	case e.Truncated:
		return "truncated"
	}
	if m.Opaque {
		// Known difference: tshark left it deflated. chatsniff must have
		// inflated it.
		if e.Opcode == "text" && e.Text == nil {
			return "tshark could not inflate it, and neither could chatsniff"
		}
		return ""
	}
	if e.Opcode == "close" {
		if e.CloseCode != m.CloseCode || e.CloseReason != m.Text {
			return fmt.Sprintf("close %d %q, tshark %d %q", e.CloseCode, e.CloseReason, m.CloseCode, m.Text)
		}
		return ""
	}
	if e.Opcode == "text" && e.Text == nil {
		return "text message without text"
	}
	if got := e.payload(); got != m.Text {
		return fmt.Sprintf("payload %.80q (%d bytes), tshark %.80q (%d bytes)", got, len(got), m.Text, len(m.Text))
	}
	if e.Length != len(m.Text) {
		return fmt.Sprintf("length %d, tshark's payload has %d bytes", e.Length, len(m.Text))
	}
	return ""
}
