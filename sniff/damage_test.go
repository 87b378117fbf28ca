package sniff

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/internal/pcaptest"
	"github.com/chatsniff/chatsniff/render"
)

// ndEvent is the part of one NDJSON line that the end-to-end tests read.
type ndEvent struct {
	Event       string    `json:"event"`
	Time        time.Time `json:"time"`
	Client      string    `json:"client"`
	Server      string    `json:"server"`
	From        string    `json:"from"`
	Opcode      string    `json:"opcode"`
	Midstream   bool      `json:"midstream"`
	Masked      bool      `json:"masked"`
	Compressed  bool      `json:"compressed"`
	Truncated   bool      `json:"truncated"`
	Fragments   int       `json:"fragments"`
	Length      int       `json:"length"`
	Text        *string   `json:"text"`
	Data        []byte    `json:"data"` // base64 in the JSON
	CloseCode   int       `json:"close_code"`
	CloseReason string    `json:"close_reason"`
	Bytes       *int      `json:"bytes"`
	Error       string    `json:"error"`
	Violations  []string  `json:"violations"`
	TLS         *ndTLS    `json:"tls"`
	// Polling marks Engine.IO long-polling events: HTTP bodies, no
	// WebSocket frame.
	Polling bool   `json:"polling"`
	Method  string `json:"method"`
	// EngineIO and SocketIO are the Socket.IO stage's objects.
	EngineIO *ndEngineIO `json:"engineio"`
	SocketIO *ndSocketIO `json:"socketio"`
}

type ndEngineIO struct {
	EIO       int    `json:"eio"`
	Transport string `json:"transport"`
	SID       string `json:"sid"`
	Type      string `json:"type"`
	Heartbeat bool   `json:"heartbeat"`
	Error     string `json:"error"`
}

type ndSocketIO struct {
	Type        string            `json:"type"`
	Namespace   string            `json:"namespace"`
	Event       string            `json:"event"`
	Args        []json.RawMessage `json:"args"`
	Ack         *int              `json:"ack"`
	AckOf       string            `json:"ack_of"`
	Attachments int               `json:"attachments"`
	Complete    bool              `json:"complete"`
	User        string            `json:"user"`
}

// ndTLS is an open event's "tls" object.
type ndTLS struct {
	Version   string `json:"version"`
	Cipher    string `json:"cipher"`
	SNI       string `json:"sni"`
	ALPN      string `json:"alpn"`
	Decrypted bool   `json:"decrypted"`
	Reason    string `json:"reason"`
}

// payload is the message's bytes, whether NDJSON wrote them as text or data.
func (e *ndEvent) payload() string {
	if e.Text != nil {
		return *e.Text
	}
	return string(e.Data)
}

// dirKey names one direction of one connection: the client's address and
// port stay the same through every transform.
type dirKey struct {
	client     string
	fromClient bool
}

func (e *ndEvent) dir() dirKey { return dirKey{e.Client, e.From == "client"} }

func (k dirKey) String() string {
	if k.fromClient {
		return k.client + " → server"
	}
	return "server → " + k.client
}

// msg is a message reduced to what must survive damage unchanged.
type msg struct {
	Opcode     string
	Payload    string
	CloseCode  int
	Compressed bool
	Time       time.Time
	// Undecoded marks a text message shown as data: its bytes could not
	// be inflated or are not UTF-8, and an error event said why.
	Undecoded bool
}

func (m msg) String() string {
	p := m.Payload
	if len(p) > 60 {
		p = fmt.Sprintf("%.60q… (%d bytes)", p, len(p))
	} else {
		p = fmt.Sprintf("%q", p)
	}
	if m.Opcode == "close" {
		return fmt.Sprintf("close %d %s", m.CloseCode, p)
	}
	return m.Opcode + " " + p
}

// same compares two messages, leaving out the time, which damage may move.
func (m msg) same(o msg) bool {
	return m.Opcode == o.Opcode && m.Payload == o.Payload && m.CloseCode == o.CloseCode
}

// result is one pipeline run: its events, the summary line and the error.
type result struct {
	events []ndEvent
	stderr string
	err    error
}

// messages groups the message events by direction, in output order.
func (r *result) messages() map[dirKey][]msg {
	m := map[dirKey][]msg{}
	for _, e := range r.events {
		if e.Event == "message" {
			m[e.dir()] = append(m[e.dir()], msg{e.Opcode, e.payload(), e.CloseCode, e.Compressed, e.Time, e.Opcode == "text" && e.Text == nil})
		}
	}
	return m
}

// count counts the events of a kind, per direction.
func (r *result) count(kind string) map[dirKey]int {
	n := map[dirKey]int{}
	for _, e := range r.events {
		if e.Event == kind {
			n[e.dir()]++
		}
	}
	return n
}

// runNDJSON runs the pipeline on a file as `chatsniff read --json` does,
// naming the source by its path as the CLI does, and parses every line,
// failing the test on one that is not a JSON object.
func runNDJSON(t *testing.T, path string, ports []uint16) *result {
	t.Helper()
	return runNDJSONKeys(t, path, keysFor(path), ports)
}

// runNDJSONKeys is runNDJSON with the TLS key log keys ("" for none).
func runNDJSONKeys(t *testing.T, path, keys string, ports []uint16) *result {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &Command{
		Open:       func() (capture.Source, error) { return capture.OpenFile(path) },
		Name:       path,
		Format:     FormatNDJSON,
		Color:      render.ColorNever,
		Stdout:     &out,
		Stderr:     &errOut,
		Options:    Options{Ports: ports},
		KeyLogPath: keys,
	}
	r := &result{err: c.Execute(context.Background()), stderr: errOut.String()}
	evs, err := parseNDJSON(out.Bytes())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r.events = evs
	return r
}

// parseNDJSON parses NDJSON output, strictly: one JSON object per line.
func parseNDJSON(b []byte) ([]ndEvent, error) {
	var evs []ndEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if !json.Valid(line) {
			return nil, fmt.Errorf("line %d is not JSON: %.200q", n, line)
		}
		var e ndEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("line %d: %w: %.200q", n, err, line)
		}
		if e.Event == "" {
			return nil, fmt.Errorf("line %d has no event: %.200q", n, line)
		}
		evs = append(evs, e)
	}
	return evs, sc.Err()
}

// damaged writes a transformed capture to a temporary file.
func damaged(t *testing.T, name string, b []byte, err error) string {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return pcaptest.TempFile(t, name, b)
}

// checkClean fails unless the run ended without error and reported no gap
// and no error event.
func checkClean(t *testing.T, r *result) {
	t.Helper()
	if r.err != nil {
		t.Errorf("run: %v", r.err)
	}
	for _, e := range r.events {
		if e.Event == "gap" || e.Event == "error" {
			t.Errorf("unexpected %s event on %s: %+v", e.Event, e.dir(), e)
		}
	}
	if !strings.Contains(r.stderr, " 0 gaps, 0 errors") {
		t.Errorf("summary reports damage: %s", r.stderr)
	}
}

// sameMessages fails unless both runs have the same messages, in the same
// order, on every direction.
func sameMessages(t *testing.T, got, want map[dirKey][]msg) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if d := diffMsgs(g, w); d != "" {
			t.Errorf("%s: %s", k, d)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %d messages on a direction the undamaged capture does not have", k, len(g))
		}
	}
}

func diffMsgs(got, want []msg) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("%d messages, want %d: missing %v", len(got), len(want), want[i])
		case i >= len(want):
			return fmt.Sprintf("%d messages, want %d: extra %v", len(got), len(want), got[i])
		case !got[i].same(want[i]):
			return fmt.Sprintf("message %d is %v, want %v", i+1, got[i], want[i])
		}
	}
	return ""
}

// subsequence reports where got stops being an in-order selection of want's
// messages: damage may lose messages, never invent or reorder them.
func subsequence(got, want []msg) error {
	j := 0
	for i, g := range got {
		if g.Undecoded {
			continue // checkUndecoded's business
		}
		for j < len(want) && !g.same(want[j]) {
			j++
		}
		if j == len(want) {
			return fmt.Errorf("message %d, %v, is not one of the undamaged capture's (in order)", i+1, g)
		}
		j++
	}
	return nil
}

// original runs the undamaged capture, which must decode cleanly.
func original(t *testing.T, rc pcaptest.RealCapture) *result {
	t.Helper()
	r := runNDJSON(t, pcaptest.Path(t, rc.Name), nil)
	checkClean(t, r)
	n := 0 // WebSocket messages, which the table counts; not long-polling bodies
	for _, e := range r.events {
		if e.Event == "message" && !e.Polling {
			n++
		}
	}
	if want := rc.Client.Total() + rc.Server.Total(); n != want {
		t.Fatalf("undamaged %s: %d messages, want %d", rc.Name, n, want)
	}
	return r
}

// TestDamageSameMessages: reordered, duplicated and overlapping segments
// are what TCP reassembly exists for; the messages must come out exactly as
// from the undamaged capture, with no gap and no error.
func TestDamageSameMessages(t *testing.T) {
	transforms := []struct {
		name string
		fn   func([]byte) ([]byte, error)
	}{
		{"reorder", pcaptest.Reorder},
		{"duplicate", pcaptest.Duplicate},
		{"overlap", pcaptest.Overlap},
		// All three at once: overlapping halves, swapped, then sent twice.
		{"all", func(b []byte) ([]byte, error) {
			b, err := pcaptest.Overlap(b)
			if err == nil {
				b, err = pcaptest.Reorder(b)
			}
			if err == nil {
				b, err = pcaptest.Duplicate(b)
			}
			return b, err
		}},
	}
	for _, rc := range pcaptest.Captures {
		t.Run(rc.Name, func(t *testing.T) {
			t.Parallel()
			want := original(t, rc).messages()
			raw := pcaptest.Load(t, rc.Name)
			for _, tr := range transforms {
				t.Run(tr.name, func(t *testing.T) {
					b, err := tr.fn(raw)
					r := runNDJSON(t, damaged(t, tr.name+".pcap", b, err), nil)
					checkClean(t, r)
					sameMessages(t, r.messages(), want)
				})
			}
		})
	}
}

// droppedPacket finds the record DropSegment removed: the first one where
// the damaged capture differs from the original.
func droppedPacket(t *testing.T, orig, bad []byte) pcaptest.Packet {
	t.Helper()
	a, err := pcaptest.Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pcaptest.Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Packets) != len(a.Packets)-1 {
		t.Fatalf("damaged capture has %d packets, want %d", len(b.Packets), len(a.Packets)-1)
	}
	for i := range b.Packets {
		if !bytes.Equal(a.Packets[i].Data, b.Packets[i].Data) {
			return a.Packets[i]
		}
	}
	return a.Packets[len(a.Packets)-1]
}

// TestDamageDropSegment removes one WebSocket segment (the first, one in
// the middle and the last of each side) and checks that the loss is
// reported as a gap on that direction alone, that only messages of the
// undamaged capture come out (lost ones missing, never garbage: a message
// that cannot be inflated without the lost bytes is an error event), that
// everything that direction sent before the loss is there, and that
// decoding resumes after it.
func TestDamageDropSegment(t *testing.T) {
	for _, rc := range pcaptest.Captures {
		t.Run(rc.Name, func(t *testing.T) {
			t.Parallel()
			orig := original(t, rc)
			want := orig.messages()
			raw := pcaptest.Load(t, rc.Name)
			for _, side := range []pcaptest.Side{pcaptest.Client, pcaptest.Server} {
				nseg, err := pcaptest.FrameSegments(raw, side)
				if err != nil {
					t.Fatal(err)
				}
				if nseg < 3 {
					t.Fatalf("%s sent only %d WebSocket segments", side, nseg)
				}
				for _, n := range []int{0, nseg / 2, nseg - 1} {
					t.Run(fmt.Sprintf("%s-%d", side, n), func(t *testing.T) {
						b, err := pcaptest.DropSegment(raw, side, n)
						path := damaged(t, "dropped.pcap", b, err)
						lost := droppedPacket(t, raw, b).CI.Timestamp
						r := runNDJSON(t, path, nil)
						if r.err != nil {
							t.Fatalf("run: %v", r.err)
						}
						checkDropped(t, r, want, side == pcaptest.Client, lost)
					})
				}
			}
		})
	}
}

func checkDropped(t *testing.T, r *result, want map[dirKey][]msg, fromClient bool, lost time.Time) {
	t.Helper()
	checkUndecoded(t, r)
	gaps := r.count("gap")
	var hit dirKey // the direction that lost the segment
	for k, n := range gaps {
		if k.fromClient != fromClient {
			t.Errorf("%d gaps on %s, which lost nothing", n, k)
			continue
		}
		if hit.client != "" {
			t.Errorf("gaps on %s and %s: one segment was dropped", hit, k)
		}
		hit = k
	}
	if hit.client == "" {
		t.Fatalf("no gap event on the direction that lost a segment (%v)", r.count("gap"))
	}
	for k, n := range r.count("error") {
		if k != hit {
			t.Errorf("%d errors on %s, which lost nothing", n, k)
		}
	}
	got := r.messages()
	for k, w := range want {
		if k != hit {
			if d := diffMsgs(got[k], w); d != "" {
				t.Errorf("%s, which lost nothing: %s", k, d)
			}
			continue
		}
		g := got[k]
		if err := subsequence(g, w); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		if len(g) >= len(w) {
			t.Errorf("%s: %d messages, as many as undamaged: the lost segment lost none", k, len(g))
		}
		// Everything sent before the lost packet is intact.
		var before, after []msg
		for _, m := range w {
			switch {
			case m.Time.Before(lost):
				before = append(before, m)
			case m.Time.After(lost):
				after = append(after, m)
			}
		}
		if len(g) < len(before) || diffMsgs(g[:len(before)], before) != "" {
			t.Errorf("%s: messages before the gap: %s", k, diffMsgs(g[:min(len(g), len(before))], before))
		}
		// Decoding resumes: of the messages that followed, those that do
		// not depend on the lost bytes (uncompressed ones; a control frame
		// is never compressed) come out, except one that the lost segment
		// began. A later compressed message may need the lost bytes as
		// deflate history: it is either right or an error event.
		var indep []msg
		for _, m := range after {
			if !m.Compressed {
				indep = append(indep, m)
			}
		}
		found := 0
		for _, m := range g[len(before):] {
			if !m.Compressed {
				found++
			}
		}
		if len(indep) >= 2 && found < len(indep)-1 {
			t.Errorf("%s: decoding did not resume after the gap: %d of the %d later uncompressed messages, want at least %d", k, found, len(indep), len(indep)-1)
		}
	}
}

// TestDamageCutHandshake drops each connection's SYNs, GET and 101. Without
// -p nothing marks the bytes as WebSocket, so nothing is decoded; with -p
// 7272 the connections are decoded midstream, and every uncompressed
// message comes out as it was (permessage-deflate was negotiated in the
// lost handshake, so compressed ones may or may not).
func TestDamageCutHandshake(t *testing.T) {
	for _, rc := range pcaptest.Captures {
		t.Run(rc.Name, func(t *testing.T) {
			t.Parallel()
			want := original(t, rc).messages()
			b, err := pcaptest.CutHandshake(pcaptest.Load(t, rc.Name))
			path := damaged(t, "cut-handshake.pcap", b, err)

			r := runNDJSON(t, path, nil)
			if r.err != nil {
				t.Fatalf("run: %v", r.err)
			}
			// Long-polling connections never upgrade: CutHandshake leaves
			// them, and they are decoded as before.
			for _, e := range r.events {
				if (e.Event == "message" || e.Event == "open") && !e.Polling {
					t.Errorf("without -p, a %s event: %+v", e.Event, e)
				}
			}

			r = runNDJSON(t, path, []uint16{uint16(rc.Port)})
			if r.err != nil {
				t.Fatalf("-p %d: run: %v", rc.Port, r.err)
			}
			checkUndecoded(t, r)
			for _, e := range r.events {
				if e.Event == "message" && !e.Midstream && !e.Polling {
					t.Errorf("-p %d: message not marked midstream: %+v", rc.Port, e)
				}
			}
			got := r.messages()
			for k, w := range want {
				if err := subsequence(got[k], w); err != nil {
					t.Errorf("-p %d: %s: %v", rc.Port, k, err)
				}
				if d := diffMsgs(uncompressed(got[k]), uncompressed(w)); d != "" {
					t.Errorf("-p %d: %s: uncompressed messages: %s", rc.Port, k, d)
				}
				if !rc.Deflate && len(got[k]) != len(w) {
					t.Errorf("-p %d: %s: %d messages, want %d", rc.Port, k, len(got[k]), len(w))
				}
			}
		})
	}
}

func uncompressed(ms []msg) []msg {
	var out []msg
	for _, m := range ms {
		if !m.Compressed {
			out = append(out, m)
		}
	}
	return out
}

// TestDamageSnaplen cuts every packet to 96 bytes, as `tcpdump -s 96`
// would: most payloads are lost, and so is each upgrade request. The run
// must end normally with the damage in its summary, and whatever is decoded
// must be a message that was sent. Without -p the cut handshakes leave
// nothing to decode, and the summary says why (packets cut short); with -p
// the connections are decoded midstream and the lost bytes are gaps.
func TestDamageSnaplen(t *testing.T) {
	for _, rc := range pcaptest.Captures {
		t.Run(rc.Name, func(t *testing.T) {
			t.Parallel()
			want := original(t, rc).messages()
			b, err := pcaptest.Snaplen(pcaptest.Load(t, rc.Name), 96)
			path := damaged(t, "snap96.pcap", b, err)
			for _, ports := range [][]uint16{nil, {uint16(rc.Port)}} {
				r := runNDJSON(t, path, ports)
				if r.err != nil {
					t.Fatalf("-p %v: run: %v", ports, r.err)
				}
				lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], " packets, ") {
					t.Errorf("-p %v: stderr is not one summary line: %q", ports, r.stderr)
				}
				if !strings.Contains(r.stderr, " packets cut short by the snap length") {
					t.Errorf("-p %v: summary does not say packets were cut: %s", ports, r.stderr)
				}
				if ports != nil {
					if strings.Contains(r.stderr, " 0 gaps") || len(r.count("gap")) == 0 {
						t.Errorf("-p %v: no gap reported: %s", ports, r.stderr)
					}
				}
				checkUndecoded(t, r)
				for k, g := range r.messages() {
					if err := subsequence(g, want[k]); err != nil {
						t.Errorf("-p %v: %s: %v", ports, k, err)
					}
				}
			}
		})
	}
}

// TestDamageCutMidRecord cuts the file inside a record, as copying a
// capture that tcpdump is still writing does: every packet before the cut
// is decoded and printed, then the run fails with one line that names the
// file.
func TestDamageCutMidRecord(t *testing.T) {
	for _, rc := range pcaptest.Captures {
		t.Run(rc.Name, func(t *testing.T) {
			t.Parallel()
			want := original(t, rc).messages()
			raw := pcaptest.Load(t, rc.Name)
			b, err := pcaptest.CutMidRecord(raw)
			path := damaged(t, "cut.pcap", b, err)
			// The cut record's header is whole: its timestamp says where
			// the cut is.
			c, err := pcaptest.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			cut := c.Packets[wholeRecords(t, b)].CI.Timestamp

			r := runNDJSON(t, path, nil)
			if r.err == nil {
				t.Fatal("no error for a file cut mid-record")
			}
			emsg := r.err.Error()
			if !errors.Is(r.err, capture.ErrTruncated) || strings.Contains(emsg, "\n") ||
				strings.Count(emsg, path) != 1 {
				t.Errorf("error %q: want one line naming %s once and wrapping capture.ErrTruncated", emsg, path)
			}
			if !strings.Contains(r.stderr, " packets, ") {
				t.Errorf("no summary before the error: %q", r.stderr)
			}
			checkUndecoded(t, r)
			got := r.messages()
			total := 0
			for k, w := range want {
				var before []msg
				for _, m := range w {
					if m.Time.Before(cut) {
						before = append(before, m)
					}
				}
				total += len(before)
				if len(got[k]) < len(before) || diffMsgs(got[k][:len(before)], before) != "" {
					t.Errorf("%s: messages before the cut: %s", k, diffMsgs(got[k], before))
				}
				if err := subsequence(got[k], w); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
			if total == 0 {
				t.Fatal("the cut is before the first message: nothing tested")
			}
		})
	}
}

// wholeRecords counts the whole records of a pcap file that ends inside a
// record.
func wholeRecords(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) < 24 {
		t.Fatalf("pcap of %d bytes", len(b))
	}
	var order binary.ByteOrder = binary.LittleEndian
	if m := binary.BigEndian.Uint32(b); m == 0xa1b2c3d4 || m == 0xa1b23c4d {
		order = binary.BigEndian
	}
	n := 0
	for off := 24; ; n++ {
		if off+16 > len(b) {
			t.Fatalf("the file ends in a record header, at record %d", n+1)
		}
		end := off + 16 + int(order.Uint32(b[off+8:]))
		if end > len(b) {
			return n
		}
		off = end
	}
}

// checkUndecoded fails when a text message is shown as data (not text)
// without an error event just before it on its direction saying why.
func checkUndecoded(t *testing.T, r *result) {
	t.Helper()
	last := map[dirKey]string{} // the previous event's kind, per direction
	for _, e := range r.events {
		if e.Event == "message" && e.Opcode == "text" && e.Text == nil && last[e.dir()] != "error" {
			t.Errorf("%s: text message shown as data with no error event before it: %+v", e.dir(), e)
		}
		if e.Event == "message" || e.Event == "error" || e.Event == "gap" {
			last[e.dir()] = e.Event
		}
	}
}
