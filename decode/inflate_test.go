package decode

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/reassembly"
)

// Chromium's answer from servers that accept its offer (Node's ws): the
// client keeps its context, the server resets it per message.
const chromeDeflate = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=15"

// compressedFrame builds a frame of a compressed message (RSV1 set).
func compressedFrame(op Opcode, data []byte, masked bool) []byte {
	return frameSpec{op: op, rsv: rsv1, masked: masked, key: testKey, payload: data}.build()
}

// TestDeflateContextTakeover sends several similar messages each way
// through one deflate stream per direction: later messages refer back to
// earlier ones, which only a kept window resolves.
func TestDeflateContextTakeover(t *testing.T) {
	h := newHarness(t, Config{})
	h.open("Sec-WebSocket-Extensions: permessage-deflate")
	cd, sd := newDeflater(true), newDeflater(true)
	var want []string
	var sizes []int
	for i := range 5 {
		msg := fmt.Sprintf(`{"type":"say","to_client_id":"all","to_client_name":"all","content":"message number %d"}`, i)
		data := cd.compress([]byte(msg))
		sizes = append(sizes, len(data))
		h.client(compressedFrame(OpText, data, true))
		want = append(want, fmt.Sprintf(`client text %q deflate`, msg))
		reply := fmt.Sprintf(`{"type":"say","from_client_id":"7f00000108fd00000001","from_client_name":"alice","to_client_id":"all","content":"message number %d","time":"2026-11-24 18:42:37"}`, i)
		h.server(compressedFrame(OpText, sd.compress([]byte(reply)), false))
		want = append(want, fmt.Sprintf(`server text %q deflate`, reply))
	}
	equalLines(t, h.take(), want)
	// The later messages must have needed the window: they only hold
	// back-references to the earlier ones, so are much shorter.
	if sizes[4] > sizes[0]/2 {
		t.Errorf("compressed sizes %v: the test does not exercise context takeover", sizes)
	}
}

// TestDeflateNoContextTakeover: with server_no_context_takeover each server
// message is a fresh stream; the client's keeps its context.
func TestDeflateNoContextTakeover(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(chromeDeflate)
	cd := newDeflater(true)
	var want []string
	for i := range 4 {
		msg := strings.Repeat(fmt.Sprintf("hello %d ", i), 20)
		h.server(compressedFrame(OpText, newDeflater(false).compress([]byte(msg)), false))
		h.client(compressedFrame(OpBinary, cd.compress([]byte(msg)), true))
		want = append(want, fmt.Sprintf("server text %q deflate", msg), fmt.Sprintf("client binary <%d bytes> deflate", len(msg)))
	}
	equalLines(t, h.take(), want)
	c := h.c.(*conn)
	if c.dirs[1].takeover || !c.dirs[0].takeover || !c.dirs[0].deflate || !c.dirs[1].deflate {
		t.Errorf("negotiated: client takeover %v, server takeover %v", c.dirs[0].takeover, c.dirs[1].takeover)
	}
}

// TestDeflateFragmented: RSV1 on the first frame covers the whole message.
func TestDeflateFragmented(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(chromeDeflate)
	msg := strings.Repeat("fragmented and compressed ", 50)
	data := newDeflater(true).compress([]byte(msg))
	h.client(fragments(OpText, data, 4, true, rsv1)...)
	equalLines(t, h.take(), []string{fmt.Sprintf("client text %q frags=4 deflate", msg)})
}

// TestDeflateEmptyAndLargeWindow: an empty message, and messages longer
// than the window with context takeover.
func TestDeflateLargeMessages(t *testing.T) {
	h := newHarness(t, Config{})
	h.rec.keepFull = true
	h.open("Sec-WebSocket-Extensions: permessage-deflate")
	sd := newDeflater(true)
	var msgs [][]byte
	for i := range 4 {
		m := make([]byte, 50_000+i*20_000)
		for j := range m {
			m[j] = byte((j*7 + i) % 251)
		}
		msgs = append(msgs, m)
	}
	msgs = append(msgs, nil, msgs[0]) // empty, then a repeat of the first
	for _, m := range msgs {
		h.server(compressedFrame(OpBinary, sd.compress(m), false))
	}
	if len(h.rec.events) != 1+len(msgs) {
		t.Fatalf("events: %q", h.rec.lines)
	}
	for i, m := range msgs {
		e := h.rec.events[1+i]
		if !bytes.Equal(e.Payload, m) || e.Length != len(m) || !e.Compressed || e.Truncated {
			t.Errorf("message %d: %s", i, describe(&e))
		}
	}
}

// TestInflateBomb: a small message that inflates to far more than the cap
// keeps the cap, reports the real length, and the window stays right for
// the next message.
func TestInflateBomb(t *testing.T) {
	const limit = 1 << 20
	h := newHarness(t, Config{MaxMessage: limit})
	h.rec.keepFull = true
	h.open("Sec-WebSocket-Extensions: permessage-deflate")
	sd := newDeflater(true)
	bomb := make([]byte, 50<<20)
	copy(bomb[len(bomb)-100:], "the end of the bomb, which the next message refers back to, and longer than thirty")
	data := sd.compress(bomb)
	if len(data) > 100<<10 {
		t.Fatalf("bomb of %d bytes is not small", len(data))
	}
	h.server(compressedFrame(OpBinary, data, false))
	next := []byte("the end of the bomb, which the next message refers back to, and longer than thirty!")
	h.server(compressedFrame(OpText, sd.compress(next), false))
	if len(h.rec.events) != 3 {
		t.Fatalf("events: %q", h.rec.lines)
	}
	e := h.rec.events[1]
	if !e.Truncated || e.Length != len(bomb) || len(e.Payload) != limit || !bytes.Equal(e.Payload, bomb[:limit]) {
		t.Errorf("bomb: %s", describe(&e))
	}
	if e := h.rec.events[2]; string(e.Payload) != string(next) {
		t.Errorf("after the bomb: %s", describe(&e))
	}
	if got := cap(h.c.(*conn).dirs[1].out); got > limit {
		t.Errorf("output buffer of %d bytes past the cap", got)
	}
}

// TestInflateErrors: bytes that are not deflate are an error, the message
// is shown raw, and decoding goes on.
func TestInflateErrors(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(chromeDeflate)
	h.server(compressedFrame(OpText, []byte{0xff, 0xff, 0xff}, false))
	h.server(compressedFrame(OpText, newDeflater(false).compress([]byte("fine")), false))
	equalLines(t, h.take(), []string{
		"error server: inflate: flate: corrupt input before offset 1",
		"server text ffffff deflate",
		`server text "fine" deflate`,
	})
}

// TestDeflateAfterGap: with context takeover, a message after a gap that
// refers back to lost messages cannot be inflated; one that does not
// refer back can.
func TestDeflateAfterGap(t *testing.T) {
	h := newHarness(t, Config{})
	h.open("Sec-WebSocket-Extensions: permessage-deflate")
	sd := newDeflater(true)
	repeated := strings.Repeat("this sentence is repeated. ", 5)
	h.server(compressedFrame(OpText, sd.compress([]byte(repeated)), false))
	lost := compressedFrame(OpText, sd.compress([]byte("lost")), false)
	h.gap(reassembly.ServerToClient, len(lost))
	h.server(compressedFrame(OpText, sd.compress([]byte(repeated)), false))
	// A fresh deflater's output refers to nothing before it.
	fresh := newDeflater(false)
	h.server(compressedFrame(OpText, fresh.compress([]byte("standalone")), false))
	got := h.take()
	if len(got) != 5 || got[1] != fmt.Sprintf("gap server %d", len(lost)) ||
		!strings.HasPrefix(got[2], "error server: inflate: flate: corrupt input") || !strings.Contains(got[2], "not decoded") ||
		!strings.HasPrefix(got[3], "server text ") || strings.Contains(got[3], `"`) || !strings.HasSuffix(got[3], " deflate") ||
		got[4] != `server text "standalone" deflate` {
		t.Errorf("events:\n%s", strings.Join(got, "\n"))
	}
}

// TestDeflateTruncatedInput: a compressed message larger than the cap is
// inflated as far as it was kept, and marked truncated.
func TestDeflateTruncatedInput(t *testing.T) {
	h := newHarness(t, Config{MaxMessage: 1000})
	h.rec.keepFull = true
	h.open("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover")
	m := make([]byte, 5000)
	for i := range m {
		m[i] = byte(i*i>>3) ^ byte(i>>5)
	}
	h.server(compressedFrame(OpBinary, newDeflater(false).compress(m), false))
	h.server(compressedFrame(OpText, newDeflater(false).compress([]byte("ok")), false))
	e := h.rec.events[1]
	if !e.Truncated || !e.Compressed || len(e.Payload) > 1000 || !bytes.Equal(e.Payload, m[:len(e.Payload)]) {
		t.Errorf("truncated compressed: %s", describe(&e))
	}
	if e := h.rec.events[2]; string(e.Payload) != "ok" {
		t.Errorf("next: %s", describe(&e))
	}
}

// TestRemember keeps the last 32 KiB whatever the sizes appended.
func TestRemember(t *testing.T) {
	var f inflater
	var all []byte
	for i, n := range []int{10, 40000, 5, 32768, 1, 20000, 20000, 20000, 3, 70000, 7} {
		p := bytes.Repeat([]byte{byte(i)}, n)
		f.remember(p)
		all = append(all, p...)
		got := f.window[max(0, len(f.window)-windowSize):]
		want := all[max(0, len(all)-windowSize):]
		if !bytes.Equal(got, want) || cap(f.window) > 2*windowSize {
			t.Fatalf("after %d appends: window differs (len %d cap %d)", i+1, len(f.window), cap(f.window))
		}
	}
}
