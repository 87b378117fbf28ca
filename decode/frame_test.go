package decode

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/reassembly"
)

// TestFrameLengths sends each length form at its boundaries, from both
// sides, and checks the payload comes back whole and unmasked.
func TestFrameLengths(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		for _, fromClient := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d/client=%v", n, fromClient), func(t *testing.T) {
				h := newHarness(t, Config{})
				h.rec.keepFull = true
				h.open()
				payload := bytes.Repeat([]byte("0123456789"), n/10+1)[:n]
				f := frameSpec{op: OpBinary, masked: fromClient, key: testKey, payload: payload}.build()
				wantHeader := 2 + map[bool]int{true: 4}[fromClient]
				switch {
				case n > 0xffff:
					wantHeader += 8
				case n > 125:
					wantHeader += 2
				}
				if len(f)-n != wantHeader {
					t.Fatalf("builder wrote a %d-byte header, want %d", len(f)-n, wantHeader)
				}
				if fromClient {
					h.client(f)
				} else {
					h.server(f)
				}
				ev := h.rec.events[len(h.rec.events)-1]
				if ev.Kind != KindMessage || ev.FromClient != fromClient || ev.Masked != fromClient ||
					ev.Length != n || !bytes.Equal(ev.Payload, payload) || ev.Truncated || ev.Fragments != 1 {
					t.Fatalf("got %s", describe(&ev))
				}
			})
		}
	}
}

// TestNonMinimalLength: a length written longer than needed is accepted
// after a handshake, as browsers and Wireshark accept it.
func TestNonMinimalLength(t *testing.T) {
	h := newHarness(t, Config{})
	h.open()
	h.client(frameSpec{op: OpText, masked: true, key: testKey, payload: []byte("hi"), lenForm: 64}.build())
	h.server(frameSpec{op: OpText, payload: []byte("ho"), lenForm: 16}.build())
	equalLines(t, h.take(), []string{`client text "hi"`, `server text "ho"`})
}

// splitStream is a mix of frames from one side: text, a 16-bit length, a
// fragmented message with a ping between its fragments, a pong, a close.
func splitStream(masked bool) []byte {
	long := bytes.Repeat([]byte("ab"), 100)
	parts := fragments(OpText, []byte("fragmented message"), 3, masked, 0)
	return cat(
		frameSpec{op: OpText, masked: masked, key: testKey, payload: []byte(`{"type":"pong"}`)}.build(),
		frameSpec{op: OpBinary, masked: masked, key: [4]byte{1, 2, 3, 4}, payload: long}.build(),
		parts[0],
		frameSpec{op: OpPing, masked: masked, key: testKey, payload: []byte("are you there")}.build(),
		parts[1], parts[2],
		frameSpec{op: OpPong, masked: masked, key: testKey}.build(),
		frameSpec{op: OpClose, masked: masked, key: testKey, payload: append([]byte{0x03, 0xe8}, "bye"...)}.build(),
	)
}

// TestSplitEverywhere feeds a stream split in two at every byte offset,
// and byte by byte, and expects the events of the stream fed whole.
func TestSplitEverywhere(t *testing.T) {
	for _, fromClient := range []bool{true, false} {
		stream := splitStream(fromClient)
		feed := func(h *harness, bs ...[]byte) {
			if fromClient {
				h.client(bs...)
			} else {
				h.server(bs...)
			}
		}
		h := newHarness(t, Config{})
		h.open()
		feed(h, stream)
		want := h.take()
		if len(want) != 6 || strings.Contains(strings.Join(want, "\n"), "error") {
			t.Fatalf("whole stream: %q", want)
		}
		for i := 1; i < len(stream); i++ {
			h := newHarness(t, Config{})
			h.open()
			feed(h, stream[:i], stream[i:])
			if got := h.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("client=%v split at %d:\n%s\nwant\n%s", fromClient, i, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
		h = newHarness(t, Config{})
		h.open()
		for i := range stream {
			feed(h, stream[i:i+1])
		}
		equalLines(t, h.take(), want)
	}
}

// TestFragmentedWithControl checks the joined message and that control
// frames between fragments come out first, in order.
func TestFragmentedWithControl(t *testing.T) {
	h := newHarness(t, Config{})
	h.open()
	h.client(splitStream(true))
	equalLines(t, h.take(), []string{
		`client text "{\"type\":\"pong\"}"`,
		`client binary <200 bytes>`,
		`client ping "are you there"`,
		`client text "fragmented message" frags=3`,
		`client pong`,
		`client close 1000 "bye"`,
	})
}

// TestViolations: each violation is an error, and the frame is decoded
// all the same, flagged, since its header still says where it ends; the
// frames after it are decoded as usual, and so is the other direction.
func TestViolations(t *testing.T) {
	tests := []struct {
		name   string
		client bool
		frames [][]byte
		want   []string
	}{
		{"reserved opcode 3", true, [][]byte{frameSpec{op: 3, masked: true, key: testKey, payload: []byte("x")}.build()},
			[]string{"error client: reserved opcode 0x3", `client reserved-0x3 "x" viol=reserved opcode`}},
		{"reserved control opcode B", false, [][]byte{frameSpec{op: 0xb}.build()},
			[]string{"error server: reserved opcode 0xb", "server reserved-0xb viol=reserved opcode"}},
		{"RSV2", true, [][]byte{frameSpec{op: OpText, rsv: rsv2, masked: true, payload: []byte("a")}.build()},
			[]string{"error client: RSV2 set", `client text "a" viol=RSV2 set`}},
		{"RSV2 and RSV3", false, [][]byte{frameSpec{op: OpBinary, rsv: rsv2 | rsv3, payload: []byte{1}}.build()},
			[]string{"error server: RSV2 set; RSV3 set", "server binary 01 viol=RSV2 set,RSV3 set"}},
		{"RSV1 without extension", false, [][]byte{frameSpec{op: OpText, rsv: rsv1, payload: []byte("x")}.build()},
			[]string{"error server: RSV1 set without permessage-deflate", `server text "x" viol=RSV1 set without permessage-deflate`}},
		{"unmasked client frame", true, [][]byte{sf(OpText, "hi"), sf(OpBinary, "\x01"), sf(OpClose, "\x03\xe8")},
			[]string{
				"error client: unmasked client frame", `client text "hi" viol=unmasked client frame`,
				"error client: unmasked client frame", "client binary 01 viol=unmasked client frame",
				"error client: unmasked client frame", `client close 1000 "" viol=unmasked client frame`,
				"error client: frame after a close frame", `client text "after" viol=frame after a close frame`,
			}},
		{"masked server frame", false, [][]byte{cf(OpText, "hi")},
			[]string{"error server: masked server frame", `server text "hi" viol=masked server frame`}},
		{"control fragmented", true, [][]byte{frameSpec{op: OpPing, notFin: true, masked: true, payload: []byte("p")}.build()},
			[]string{"error client: control frame fragmented", `client ping "p" viol=control frame fragmented`}},
		{"control too long", false, [][]byte{frameSpec{op: OpPong, payload: bytes.Repeat([]byte("a"), 126)}.build()},
			[]string{"error server: control frame longer than 125 bytes", `server pong "` + strings.Repeat("a", 126) + `" viol=control frame longer than 125 bytes`}},
		{"close too long", false, [][]byte{sf(OpClose, "\x03\xe8"+strings.Repeat("r", 124))},
			[]string{"error server: control frame longer than 125 bytes", `server close 1000 "` + strings.Repeat("r", 124) + `" viol=control frame longer than 125 bytes`,
				"error server: frame after a close frame", `server text "after" viol=frame after a close frame`}},
		{"continuation without message", true, [][]byte{frameSpec{op: OpContinuation, masked: true, key: testKey, payload: []byte("x")}.build()},
			[]string{"error client: continuation without a message", `client continuation "x" viol=continuation without a message`}},
		{"fragmented continuation without message", false, [][]byte{
			frameSpec{op: OpContinuation, notFin: true, payload: []byte{0xff}}.build(),
			frameSpec{op: OpContinuation, payload: []byte{0xfe}}.build()},
			[]string{"error server: continuation without a message", "server continuation fffe frags=2 viol=continuation without a message"}},
		{"new message inside fragmented", false, [][]byte{
			frameSpec{op: OpText, notFin: true, payload: []byte("a")}.build(),
			sf(OpText, "b")},
			[]string{"error server: new message inside a fragmented message", `server text "b" viol=new message inside a fragmented message`}},
		{"frame after close", true, [][]byte{cf(OpClose, ""), cf(OpText, "late")},
			[]string{"client close", "error client: frame after a close frame", `client text "late" viol=frame after a close frame`,
				"error client: frame after a close frame", `client text "after" viol=frame after a close frame`}},
		{"RSV1 on a control frame", false, [][]byte{frameSpec{op: OpPing, rsv: rsv1}.build()},
			[]string{"error server: RSV1 set on a control frame", "server ping viol=RSV1 set on a control frame"}},
		{"invalid UTF-8", true, [][]byte{cf(OpText, "\xff\xfe")},
			[]string{"error client: invalid UTF-8 in text message", "client text fffe viol=invalid UTF-8 in text message"}},
		{"1-byte close", false, [][]byte{sf(OpClose, "\x03")},
			[]string{"error server: close frame with a 1-byte payload", `server close "\x03" viol=close frame with a 1-byte payload`,
				"error server: frame after a close frame", `server text "after" viol=frame after a close frame`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.open()
			after := `server text "after"`
			if tt.client {
				h.client(tt.frames...)
				h.client(cf(OpText, "after"))
				h.server(sf(OpText, "other side"))
				after = `client text "after"`
			} else {
				h.server(tt.frames...)
				h.server(sf(OpText, "after"))
				h.client(cf(OpText, "other side"))
			}
			want := tt.want
			if !strings.Contains(strings.Join(want, "\n"), after) {
				want = append(want, after)
			}
			want = append(want, map[bool]string{true: `server text "other side"`, false: `client text "other side"`}[tt.client])
			equalLines(t, h.take(), want)
		})
	}
}

// TestFramingLost: where a header cannot be right, the direction stops and
// resumes at the next Data call that starts with plausible frames, as
// after a gap.
func TestFramingLost(t *testing.T) {
	tests := []struct {
		name  string
		bytes []byte
		want  []string
	}{
		{"64-bit length with top bit", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1},
			[]string{"error server: frame length with the most significant bit set"}},
		{"reserved opcode, then bytes that break new rules", cat(frameSpec{op: 3, payload: []byte("x")}.build(), []byte{0xf4, 0x93, 0, 0, 0, 0}),
			[]string{"error server: reserved opcode 0x3", `server reserved-0x3 "x" viol=reserved opcode`,
				"error server: framing lost at a frame header: masked server frame; RSV2 set; RSV3 set; reserved opcode 0x4"}},
		{"control frame with a 64-bit length", frameSpec{op: OpPing, claim: 1 << 20}.build(),
			[]string{"error server: framing lost at a frame header: control frame longer than 125 bytes"}},
		{"unmasked length over 1 GiB with RSV2", frameSpec{op: OpBinary, rsv: rsv2, claim: 1 << 40}.build(),
			[]string{"error server: framing lost at a frame header: RSV2 set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.open()
			h.server(append(tt.bytes, sf(OpText, "same segment: lost")...))
			h.server([]byte{0xff, 0xff, 0xff}) // no frame starts here
			h.server(sf(OpText, "resumed"))
			want := append(tt.want, `server text "resumed"`)
			equalLines(t, h.take(), want)
		})
	}
	// A client that sends unmasked frames resumes unmasked.
	h := newHarness(t, Config{})
	h.open()
	h.client(sf(OpText, "a"), []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1})
	h.client(sf(OpText, "b"))
	equalLines(t, h.take(), []string{
		"error client: unmasked client frame", `client text "a" viol=unmasked client frame`,
		"error client: frame length with the most significant bit set",
		"error client: unmasked client frame", `client text "b" viol=unmasked client frame`,
	})
}

// TestErrorCap: a connection reports MaxConnErrors errors; the rest are
// counted.
func TestErrorCap(t *testing.T) {
	h := newHarness(t, Config{})
	h.open()
	for range MaxConnErrors + 5 {
		h.client(sf(OpText, "unmasked"))
	}
	errs, msgs := 0, 0
	for _, l := range h.take() {
		switch {
		case strings.HasPrefix(l, "error "):
			errs++
		case strings.HasSuffix(l, "viol=unmasked client frame"):
			msgs++
		}
	}
	if errs != MaxConnErrors || msgs != MaxConnErrors+5 {
		t.Errorf("%d errors, %d flagged messages; want %d, %d", errs, msgs, MaxConnErrors, MaxConnErrors+5)
	}
	if st := h.d.Stats(); st.Errors != MaxConnErrors || st.ErrorsHidden != 5 {
		t.Errorf("stats: %d errors, %d hidden", st.Errors, st.ErrorsHidden)
	}
}

// TestRSV1OnContinuation: with permessage-deflate RSV1 belongs on the first
// frame only.
func TestRSV1OnContinuation(t *testing.T) {
	h := newHarness(t, Config{})
	h.open("Sec-WebSocket-Extensions: permessage-deflate")
	h.server(frameSpec{op: OpBinary, notFin: true, payload: []byte{1}}.build(),
		frameSpec{op: OpContinuation, rsv: rsv1, payload: []byte{2}}.build())
	equalLines(t, h.take(), []string{"error server: RSV1 set on a continuation frame", "server binary 0102 frags=2 viol=RSV1 set on a continuation frame"})
}

// TestInterruptedDeflate: a compressed message cut short by a new one
// takes the window with it; later messages say the window is unknown
// rather than inflating wrongly.
func TestInterruptedDeflate(t *testing.T) {
	h := newHarness(t, Config{})
	h.open("Sec-WebSocket-Extensions: permessage-deflate")
	d := newDeflater(true)
	first := d.compress([]byte("the first message, cut short"))
	h.server(frameSpec{op: OpText, rsv: rsv1, notFin: true, payload: first[:5]}.build())
	h.server(compressedFrame(OpText, d.compress([]byte("the first message, again")), false))
	lines := h.take()
	if len(lines) < 2 || lines[0] != "error server: new message inside a fragmented message" {
		t.Fatalf("events: %q", lines)
	}
	for _, l := range lines[1:] {
		if strings.Contains(l, `"the first message, again"`) {
			t.Errorf("inflated with a window that missed a message: %q", lines)
		}
	}
}

// TestClose covers close frames with and without code and reason, and the
// codes that may not be sent.
func TestClose(t *testing.T) {
	code := func(c int, reason string) string {
		return string([]byte{byte(c >> 8), byte(c)}) + reason
	}
	tests := []struct {
		payload string
		want    []string
	}{
		{"", []string{"server close"}},
		{code(1000, ""), []string{`server close 1000 ""`}},
		{code(1001, "going away"), []string{`server close 1001 "going away"`}},
		{code(4000, "private"), []string{`server close 4000 "private"`}},
		{code(3000, ""), []string{`server close 3000 ""`}},
		{code(1005, ""), []string{"error server: invalid close code 1005", `server close 1005 "" viol=invalid close code`}},
		{code(1006, ""), []string{"error server: invalid close code 1006", `server close 1006 "" viol=invalid close code`}},
		{code(1015, ""), []string{"error server: invalid close code 1015", `server close 1015 "" viol=invalid close code`}},
		{code(999, ""), []string{"error server: invalid close code 999", `server close 999 "" viol=invalid close code`}},
		{code(1016, ""), []string{"error server: invalid close code 1016", `server close 1016 "" viol=invalid close code`}},
		{code(2999, ""), []string{"error server: invalid close code 2999", `server close 2999 "" viol=invalid close code`}},
		{code(5000, ""), []string{"error server: invalid close code 5000", `server close 5000 "" viol=invalid close code`}},
		{"\x03", []string{"error server: close frame with a 1-byte payload", `server close "\x03" viol=close frame with a 1-byte payload`}},
		{code(1000, "\xff\xfe"), []string{"error server: invalid UTF-8 in close reason", `server close 1000 "" viol=invalid UTF-8 in close reason`}},
	}
	for _, tt := range tests {
		h := newHarness(t, Config{})
		h.open()
		h.server(sf(OpClose, tt.payload))
		equalLines(t, h.take(), tt.want)
	}
}

// TestPingPongPayloads: text payloads are shown as text, others as bytes.
func TestPingPongPayloads(t *testing.T) {
	h := newHarness(t, Config{})
	h.open()
	h.client(cf(OpPing, "hello"), cf(OpPing, "\x00\xff"))
	h.server(sf(OpPong, "hello"), sf(OpPong, ""))
	equalLines(t, h.take(), []string{`client ping "hello"`, "client ping 00ff", `server pong "hello"`, "server pong"})
}

// TestInvalidUTF8 is an error, and the message is shown as bytes; decoding
// goes on, as the framing is intact.
func TestInvalidUTF8(t *testing.T) {
	h := newHarness(t, Config{})
	h.open()
	h.server(sf(OpText, "ok\xc3\x28"), sf(OpText, "next"))
	// Split inside a character across fragments is fine.
	parts := fragments(OpText, []byte("é"), 2, true, 0)
	h.client(parts...)
	equalLines(t, h.take(), []string{
		"error server: invalid UTF-8 in text message",
		"server text 6f6bc328 viol=invalid UTF-8 in text message",
		`server text "next"`,
		`client text "é" frags=2`,
	})
}

// TestTruncation caps a message: the first MaxMessage bytes are kept, the
// real length is reported, and decoding goes on with the next frame.
func TestTruncation(t *testing.T) {
	h := newHarness(t, Config{MaxMessage: 100})
	h.rec.keepFull = true
	h.open()
	payload := bytes.Repeat([]byte("x"), 250)
	h.client(fragments(OpText, payload, 3, true, 0)...)
	h.client(cf(OpText, "small"))
	equalLines(t, h.take(), []string{
		`client text "` + strings.Repeat("x", 100) + `" frags=3 len=250 truncated`,
		`client text "small"`,
	})
	// A truncated text message cut inside a character is still text.
	h.server(sf(OpText, strings.Repeat("é", 60)))
	lines := h.take()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `server text "éé`) || !strings.HasSuffix(lines[0], "len=120 truncated") {
		t.Errorf("cut text: %q", lines)
	}
}

// TestHugeClaimedLength: a header claiming 2^63-1 bytes allocates nothing
// for them; the bytes that come are counted, and the end of the stream
// reports the message incomplete.
func TestHugeClaimedLength(t *testing.T) {
	h := newHarness(t, Config{MaxMessage: 1 << 20})
	h.open()
	h.server(frameSpec{op: OpBinary, claim: math.MaxInt64}.build())
	chunk := make([]byte, 1000)
	for range 10 {
		h.server(chunk)
	}
	c := h.c.(*conn)
	if got := cap(c.dirs[1].buf); got > 2*10000 {
		t.Errorf("buffer grew to %d bytes for 10000 received", got)
	}
	h.end()
	equalLines(t, h.take(), []string{"error server: message incomplete at end of stream", "close"})
}

// TestHugeClaimedLengthTruncates: past the cap nothing more is kept.
func TestCapBoundsBuffer(t *testing.T) {
	h := newHarness(t, Config{MaxMessage: 4096})
	h.open()
	h.server(frameSpec{op: OpBinary, claim: 1 << 40}.build())
	chunk := make([]byte, 64<<10)
	for range 16 {
		h.server(chunk)
	}
	if got := cap(h.c.(*conn).dirs[1].buf); got > 4096 {
		t.Errorf("buffer grew to %d past the cap of 4096", got)
	}
	if c := h.c.(*conn); c.dirs[1].total != 16*64<<10 || !c.dirs[1].truncated {
		t.Errorf("counted %d bytes, truncated %v", c.dirs[1].total, c.dirs[1].truncated)
	}
}

// TestEnd: a message cut by the end is an error; the close event follows.
// Connections that were never WebSocket end silently.
func TestEnd(t *testing.T) {
	h := newHarness(t, Config{})
	h.open()
	h.client(fragments(OpText, []byte("abcdef"), 2, true, 0)[0])
	h.server(sf(OpText, "whole")[:3])
	h.end()
	h.end() // a second End is ignored
	equalLines(t, h.take(), []string{
		"error client: message incomplete at end of stream",
		"error server: message incomplete at end of stream",
		"close",
	})

	h = newHarness(t, Config{})
	h.client([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	h.end()
	equalLines(t, h.rec.lines, nil)
}

// TestStats counts connections, WebSockets, messages by direction, gaps
// and errors.
func TestStats(t *testing.T) {
	h := newHarness(t, Config{})
	h.open()
	h.client(cf(OpText, "a"), cf(OpText, "b"))
	h.server(sf(OpText, "c"))
	h.gap(reassembly.ServerToClient, 10)
	h.server(sf(OpText, "d"))
	h.client(frameSpec{op: 3, masked: true}.build())
	h.d.NewConn(reassembly.ConnInfo{ID: 2, Client: testClient, Server: testServer}).End(reassembly.EndFIN, testT0)
	h.end()
	want := Stats{Connections: 2, WebSockets: 1, Messages: [2]uint64{3, 2}, Gaps: 1, Errors: 1}
	if got := h.d.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

// TestHeaderViolationsTable exercises header.violations directly.
func TestHeaderViolationsTable(t *testing.T) {
	tests := []struct {
		h          header
		fromClient bool
		deflate    bool
		inMsg      bool
		want       Violations
	}{
		{header{fin: true, op: OpText, masked: true}, true, false, false, 0},
		{header{fin: true, op: OpText}, false, false, false, 0},
		{header{fin: true, op: OpText}, true, false, false, ViolUnmaskedClient},
		{header{fin: true, op: OpText, rsv: rsv2 | rsv3}, false, false, false, ViolRSV2 | ViolRSV3},
		{header{fin: true, op: 0x7}, false, false, false, ViolReservedOpcode},
		{header{fin: false, op: 0xc, rsv: rsv1, masked: true}, false, false, true, ViolReservedOpcode | ViolMaskedServer},
		{header{fin: true, op: OpText, rsv: rsv1}, false, true, false, 0},
		{header{fin: true, op: OpText, rsv: rsv1}, false, false, false, ViolRSV1NoDeflate},
		{header{fin: false, op: OpContinuation}, false, false, true, 0},
		{header{fin: false, op: OpContinuation}, false, false, false, ViolOrphanContinuation},
		{header{fin: true, op: OpBinary}, false, false, true, ViolInterrupted},
		{header{fin: true, op: OpPing, length: 125}, false, false, true, 0},
		{header{fin: false, op: OpClose, length: 126, rsv: rsv1}, false, true, false, ViolControlFragmented | ViolControlTooLong | ViolRSV1Control},
	}
	for i, tt := range tests {
		if got := tt.h.violations(tt.fromClient, tt.deflate, tt.inMsg); got != tt.want {
			t.Errorf("%d: violations = %q, want %q", i, got.Names(), tt.want.Names())
		}
	}
}

// TestOpcodeString covers the NDJSON names.
func TestOpcodeString(t *testing.T) {
	for op, want := range map[Opcode]string{0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong", 3: "reserved-0x3", 0xf: "reserved-0xf"} {
		if got := op.String(); got != want {
			t.Errorf("%d: %q, want %q", op, got, want)
		}
	}
}

// TestPayloadReadInPlace: a server's message that comes whole in one Data
// call is read where it sits, so the decoder must be done with those bytes
// when the call returns: here they are overwritten before the next call,
// which finishes a message begun in them.
func TestPayloadReadInPlace(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		h := newHarness(t, Config{})
		h.rec.keepFull = true
		a, b, c := sf(OpText, "first, whole"), sf(OpText, "second, split"), sf(OpBinary, "third")
		if deflate {
			// With the context kept, as the window must outlive the input.
			h.open("Sec-WebSocket-Extensions: permessage-deflate")
			d := newDeflater(true)
			a = compressedFrame(OpText, d.compress([]byte("first, whole")), false)
			b = compressedFrame(OpText, d.compress([]byte("second, split")), false)
			c = compressedFrame(OpBinary, d.compress([]byte("third")), false)
		} else {
			h.open()
		}
		in := append(append([]byte{}, a...), b[:4]...)
		h.server(in)
		for i := range in {
			in[i] = 'X'
		}
		h.server(append(append([]byte{}, b[4:]...), c...))
		var got []string
		for _, e := range h.rec.events {
			if e.Kind == KindMessage {
				got = append(got, string(e.Payload))
			}
		}
		equalLines(t, got, []string{"first, whole", "second, split", "third"})
	}
}
