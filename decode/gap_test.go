package decode

import (
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/reassembly"
)

// TestGapResync covers bytes lost between messages, inside one, and what
// decoding resumes at.
func TestGapResync(t *testing.T) {
	big := cf(OpText, strings.Repeat("long message ", 30))
	tests := []struct {
		name string
		run  func(h *harness)
		want []string
	}{
		{"between messages", func(h *harness) {
			h.client(cf(OpText, "one"))
			h.gap(reassembly.ClientToServer, 20)
			h.client(cf(OpText, "three"))
		}, []string{`client text "one"`, "gap client 20", `client text "three"`}},
		{"inside a message", func(h *harness) {
			h.client(big[:50])
			h.gap(reassembly.ClientToServer, 100)
			h.client(big[150:200]) // the middle of the lost frame: skipped
			h.client(big[200:])
			h.client(cf(OpText, "next"))
		}, []string{"gap client 100", "error client: message lost in gap", `client text "next"`}},
		{"inside a header", func(h *harness) {
			h.server(sf(OpText, strings.Repeat("x", 200))[:1])
			h.gap(reassembly.ServerToClient, -1)
			h.server(sf(OpText, "resumed"))
		}, []string{"gap server -1", "error server: message lost in gap", `server text "resumed"`}},
		{"inside a fragmented message", func(h *harness) {
			parts := fragments(OpText, []byte("abcdefghi"), 3, false, 0)
			h.server(parts[0])
			h.gap(reassembly.ServerToClient, len(parts[1]))
			h.server(parts[2]) // a continuation: not a place to resume
			h.server(sf(OpPing, "p"))
		}, []string{"gap server 5", "error server: message lost in gap", `server ping "p"`}},
		{"unknown size", func(h *harness) {
			h.gap(reassembly.ClientToServer, -1)
			h.client([]byte("garbage that is not a frame"))
			h.client(cf(OpBinary, "\x00\x01"))
		}, []string{"gap client -1", "client binary 0001"}},
		{"the other direction goes on", func(h *harness) {
			h.client(big[:10])
			h.gap(reassembly.ClientToServer, 10)
			h.server(sf(OpText, "server"))
			h.client(big[30:])
		}, []string{"gap client 10", "error client: message lost in gap", `server text "server"`}},
		{"gap after framing was lost resumes", func(h *harness) {
			h.server([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1})
			h.gap(reassembly.ServerToClient, 5)
			h.server(sf(OpText, "x"))
		}, []string{"error server: frame length with the most significant bit set", "gap server 5", `server text "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.open()
			tt.run(h)
			equalLines(t, h.take(), tt.want)
		})
	}
}

// TestMidstream: a connection caught after its handshake is decoded only
// with Config.Midstream, every event marked.
func TestMidstream(t *testing.T) {
	feed := func(h *harness) {
		h.server(sf(OpText, `{"type":"ping"}`))
		h.client(cf(OpText, `{"type":"pong"}`))
		h.client(cf(OpText, `{"type":"say","to_client_id":"all","to_client_name":"all","content":"hi"}`))
		h.gap(reassembly.ServerToClient, 3)
		h.server(sf(OpClose, "\x03\xe8"))
		h.end()
	}
	h := newHarness(t, Config{Midstream: true})
	feed(h)
	equalLines(t, h.rec.lines, []string{
		"open  accept=bad [midstream]",
		`server text "{\"type\":\"ping\"}" [midstream]`,
		`client text "{\"type\":\"pong\"}" [midstream]`,
		`client text "{\"type\":\"say\",\"to_client_id\":\"all\",\"to_client_name\":\"all\",\"content\":\"hi\"}" [midstream]`,
		"gap server 3 [midstream]",
		`server close 1000 "" [midstream]`,
		"close [midstream]",
	})

	h = newHarness(t, Config{})
	feed(h)
	equalLines(t, h.rec.lines, nil)
}

// TestMidstreamMidFrame: decoding starts at the first Data call that
// starts with plausible frames; calls starting inside a frame are skipped.
func TestMidstreamMidFrame(t *testing.T) {
	h := newHarness(t, Config{Midstream: true})
	// Text inside a frame that looks like the start of a request line.
	h.server([]byte("OK then, see you tomorrow\nat ten"))
	h.client([]byte("GET READY "))
	h.client([]byte("for the show"))
	long := sf(OpText, strings.Repeat("z", 300))
	h.server(long[100:200]) // inside a frame: text, not a frame
	h.server(long[200:])
	h.client(cf(OpText, "late")[3:]) // inside a header
	h.server(sf(OpText, "first"))
	h.client(cf(OpText, "second"))
	equalLines(t, h.rec.lines, []string{"open  accept=bad [midstream]", `server text "first" [midstream]`, `client text "second" [midstream]`})
}

// TestMidstreamRoles: without a SYN, the side that masks is the client,
// whatever reassembly guessed.
func TestMidstreamRoles(t *testing.T) {
	info := reassembly.ConnInfo{ID: 3, Client: testServer, Server: testClient, Time: testT0}
	h := newHarnessInfo(t, Config{Midstream: true}, info)
	h.rec.keepFull = true
	h.server(cf(OpText, "masked, so from the client"))
	h.client(sf(OpText, "unmasked, so from the server"))
	equalLines(t, h.rec.lines, []string{
		"open  accept=bad [midstream]",
		`client text "masked, so from the client" [midstream]`,
		`server text "unmasked, so from the server" [midstream]`,
	})
	for _, e := range h.rec.events {
		if e.Client != testClient || e.Server != testServer {
			t.Errorf("%s: client %v server %v", describe(&e), e.Client, e.Server)
		}
	}
	// With a SYN the roles are known: masked frames from the server side
	// are not plausible.
	info.SawSYN = true
	h = newHarnessInfo(t, Config{Midstream: true}, info)
	h.server(cf(OpText, "masked"))
	equalLines(t, h.rec.lines, nil)
}

// TestMidstreamDeflate: RSV1 is taken for permessage-deflate; a message
// that stands alone inflates, one that refers to unseen ones is an error
// and is shown raw.
func TestMidstreamDeflate(t *testing.T) {
	h := newHarness(t, Config{Midstream: true})
	sd := newDeflater(true)
	repeated := strings.Repeat("abcabcabc ", 10)
	unseen := sd.compress([]byte(repeated))
	_ = unseen // sent before the capture started
	h.server(compressedFrame(OpText, sd.compress([]byte(repeated)), false))
	h.server(compressedFrame(OpText, newDeflater(false).compress([]byte("alone")), false))
	got := h.rec.lines
	if len(got) != 4 || !strings.HasPrefix(got[1], "error server: inflate:") || !strings.HasSuffix(got[2], "deflate [midstream]") ||
		got[3] != `server text "alone" deflate [midstream]` {
		t.Errorf("events:\n%s", strings.Join(got, "\n"))
	}
}

// TestMidstreamNotHTTP: with Midstream, HTTP is still recognised as HTTP,
// and a gap while the 101 is awaited leads to searching for frames.
func TestMidstreamAfterLostResponse(t *testing.T) {
	h := newHarness(t, Config{Midstream: true})
	h.client([]byte(upgradeReq("/")))
	h.gap(reassembly.ServerToClient, 129)
	h.server(sf(OpText, "after the lost 101"))
	h.client(cf(OpText, "client"))
	equalLines(t, h.rec.lines, []string{"open  accept=bad [midstream]", `server text "after the lost 101" [midstream]`, `client text "client" [midstream]`})

	// Without Midstream, the lost 101 is an error that says how to decode
	// what follows, and the connection is left.
	h = newHarness(t, Config{})
	h.client([]byte(upgradeReq("/")))
	h.gap(reassembly.ServerToClient, 129)
	h.server(sf(OpText, "after the lost 101"))
	h.client(cf(OpText, "client"))
	equalLines(t, h.rec.lines, []string{"error server: the answer to the upgrade request was lost in a gap; -p with this port decodes the frames that follow"})

	// A client gap while the 101 is awaited: reported after the open, and
	// the client's frames are decoded from the next frame start.
	for _, mid := range []bool{false, true} {
		h = newHarness(t, Config{Midstream: mid})
		h.client([]byte(upgradeReq("/")))
		h.client(cf(OpText, "before the gap")[:4])
		h.gap(reassembly.ClientToServer, 50)
		h.client([]byte("rest of a frame"))
		h.client(cf(OpText, "after"))
		h.server([]byte(upgradeResp()))
		h.client(cf(OpText, "later"))
		equalLines(t, h.rec.lines, []string{"open /", "gap client 50", `client text "after"`, `client text "later"`})
	}

	// A plain HTTP connection stays silent even with Midstream.
	h = newHarness(t, Config{Midstream: true})
	h.client([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	h.server([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	h.gap(reassembly.ServerToClient, 100)
	h.server(sf(OpText, "x"))
	equalLines(t, h.rec.lines, nil)
}

// TestPlausible judges starts of Data calls.
func TestPlausible(t *testing.T) {
	d := NewDecoder(Config{}, SinkFunc(func(*Event) {}))
	tests := []struct {
		name string
		b    []byte
		mask int
		ok   bool
	}{
		{"server text", sf(OpText, "hello"), maskNo, true},
		{"client text", cf(OpText, "hello"), maskYes, true},
		{"either, masked", cf(OpText, "hello"), maskEither, true},
		{"wrong mask bit", cf(OpText, "hello"), maskNo, false},
		{"two frames", cat(sf(OpText, "a"), sf(OpBinary, "\xff")), maskNo, true},
		{"second frame bad", cat(sf(OpText, "a"), sf(3, "")), maskNo, false},
		{"header cut short", sf(OpBinary, strings.Repeat("b", 300))[:3], maskNo, true},
		{"one byte", []byte{0x81}, maskNo, false},
		{"continuation first", frameSpec{op: OpContinuation, payload: []byte("a")}.build(), maskNo, false},
		{"fragment then continuation", cat(fragments(OpText, []byte("abcd"), 2, false, 0)...), maskNo, true},
		{"invalid UTF-8 text", sf(OpText, "\xff\xfe"), maskNo, false},
		{"cut UTF-8 text", sf(OpText, "é")[:3], maskNo, true},
		{"non-minimal length", frameSpec{op: OpText, payload: []byte("a"), lenForm: 16}.build(), maskNo, false},
		{"huge length", frameSpec{op: OpBinary, claim: 1 << 40}.build(), maskNo, false},
		{"invalid close code", sf(OpClose, "\x03\xed"), maskNo, false},
		{"close with one byte", sf(OpClose, "\x03"), maskNo, false},
		{"masked close code", cf(OpClose, "\x03\xe8"), maskYes, true},
		{"control too long", frameSpec{op: OpPing, lenForm: 16, payload: make([]byte, 130)}.build(), maskNo, false},
		{"RSV1 on a first frame", compressedFrame(OpText, []byte{1, 2}, false), maskNo, true},
		{"HTTP", []byte("HTTP/1.1 200 OK\r\n"), maskEither, false},
		{"text", []byte("hello world"), maskEither, false},
	}
	for _, tt := range tests {
		if ok, _ := d.plausible(tt.b, tt.mask, true); ok != tt.ok {
			t.Errorf("%s: plausible = %v", tt.name, ok)
		}
	}
	if ok, _ := d.plausible(compressedFrame(OpText, []byte{1, 2}, false), maskNo, false); ok {
		t.Error("RSV1 plausible without deflate")
	}
}
