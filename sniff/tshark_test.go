package sniff

import (
	"fmt"
	"slices"
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

// compareTshark compares the pipeline's messages with tshark's, direction
// by direction.
func compareTshark(t *testing.T, r *result, ref []pcaptest.Message) {
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
		if e.Event != "message" {
			continue
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
			compareDir(t, k.String(), ours[k], theirs[tk])
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
	case (e.From == "client") != m.Masked:
		return fmt.Sprintf("from %s, tshark masked %v", e.From, m.Masked)
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
