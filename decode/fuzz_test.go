package decode

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/reassembly"
)

// fuzzCap is a small message cap, so that fuzzing reaches truncation.
const fuzzCap = 4 << 10

// fuzzSink checks every event against the contract and that nothing comes
// after the close event.
type fuzzSink struct {
	t      *testing.T
	closed bool
}

func (s *fuzzSink) Event(e *Event) {
	checkEvent(s.t, e, fuzzCap)
	if s.closed {
		s.t.Fatalf("event after close: %s", describe(e))
	}
	if e.Kind == KindClose {
		s.closed = true
	}
	if e.Chat != nil && (!json.Valid(e.Chat) || e.Chat[0] != '{') {
		s.t.Fatalf("Chat is not a JSON object: %q", e.Chat)
	}
	if e.Kind == KindMessage && e.Polling && (e.Method == "" || e.Path == "" || e.FromClient != (e.Status == 0)) {
		s.t.Fatalf("polling message without its request, or with a status on the wrong side: %s", describe(e))
	}
	if e.Kind == KindMessage && e.Truncated && e.Length <= len(e.Payload) && !e.Compressed {
		s.t.Fatalf("truncated message with its whole length kept: %s", describe(e))
	}
}

func fuzzConn(t *testing.T, cfg Config) (*Decoder, reassembly.Conn) {
	cfg.MaxMessage = fuzzCap
	d := NewDecoder(cfg, &fuzzSink{t: t})
	return d, d.NewConn(reassembly.ConnInfo{ID: 1, Client: testClient, Server: testServer, SawSYN: true, Time: testT0})
}

// feedChunks delivers client and server bytes alternately in pieces of
// size chunk, with a gap before every fourth piece when gaps is set.
func feedChunks(c reassembly.Conn, cb, sb []byte, chunk int, gaps bool) {
	chunk = max(chunk, 1)
	t := testT0
	for i := 0; len(cb) > 0 || len(sb) > 0; i++ {
		t = t.Add(1)
		dir, b := reassembly.ClientToServer, &cb
		if i%2 == 1 {
			dir, b = reassembly.ServerToClient, &sb
		}
		if len(*b) == 0 {
			continue
		}
		if gaps && i%8 >= 6 {
			c.Gap(dir, i, t)
		}
		n := min(chunk, len(*b))
		c.Data(dir, (*b)[:n], t)
		*b = (*b)[n:]
	}
	c.End(reassembly.EndFIN, t.Add(1))
}

// FuzzFrames feeds random bytes as both directions of a WebSocket after a
// valid handshake (with or without permessage-deflate), or of a connection
// without one (midstream), in pieces, with gaps.
func FuzzFrames(f *testing.F) {
	f.Add(splitStream(true), splitStream(false), uint8(7), uint8(0))
	f.Add(cf(OpText, `{"type":"login","name":"x"}`), sf(OpText, `{"type":"user_list","user_list":[{"uid":1,"name":"x"}]}`), uint8(200), uint8(1))
	f.Add(compressedFrame(OpText, newDeflater(true).compress([]byte("hello hello hello")), true),
		compressedFrame(OpBinary, newDeflater(true).compress(make([]byte, 10000)), false), uint8(3), uint8(4))
	f.Add(cat(fragments(OpText, []byte("abcdef"), 3, true, rsv1)...), frameSpec{op: OpBinary, claim: 1 << 62}.build(), uint8(1), uint8(8))
	f.Add([]byte{0x81, 0xfe, 0xff}, []byte{0x89, 0x7e, 0, 0x7e}, uint8(2), uint8(2|1))
	f.Add(cf(OpClose, "\x03\xe8bye"), sf(3, "x"), uint8(1), uint8(16))
	f.Fuzz(func(t *testing.T, cb, sb []byte, chunk, flags uint8) {
		_, c := fuzzConn(t, Config{Midstream: flags&1 != 0})
		if flags&2 == 0 {
			ext := ""
			switch flags & 0x0c {
			case 4:
				ext = "Sec-WebSocket-Extensions: permessage-deflate"
			case 8:
				ext = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"
			}
			c.Data(reassembly.ClientToServer, []byte(upgradeReq("/")), testT0)
			if ext != "" {
				c.Data(reassembly.ServerToClient, []byte(upgradeResp(ext)), testT0)
			} else {
				c.Data(reassembly.ServerToClient, []byte(upgradeResp()), testT0)
			}
		}
		feedChunks(c, cb, sb, int(chunk), flags&16 != 0)
	})
}

// FuzzUpgrade feeds random request and response heads, then frames.
func FuzzUpgrade(f *testing.F) {
	f.Add([]byte(seedRequest), []byte(seedResponse), uint8(0))
	f.Add([]byte(upgradeReq("/x", "Sec-WebSocket-Extensions: permessage-deflate")),
		[]byte(upgradeResp("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover")), uint8(9))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"+upgradeReq("/")),
		[]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+upgradeResp()), uint8(1))
	f.Add([]byte("HEAD / HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), uint8(3))
	f.Add([]byte("\n\n"), []byte("HTTP/1.1 101\n\n"), uint8(2))
	f.Fuzz(func(t *testing.T, req, resp []byte, flags uint8) {
		_, c := fuzzConn(t, Config{Midstream: flags&1 != 0})
		cb := append(req, cf(OpText, "client")...)
		sb := append(resp, sf(OpText, "server")...)
		feedChunks(c, cb, sb, int(flags>>1)+1, false)
	})
}

// FuzzInflate feeds random bytes as compressed messages, with and without
// context takeover.
func FuzzInflate(f *testing.F) {
	d := newDeflater(true)
	f.Add(d.compress([]byte("hello")), d.compress([]byte("hello again")), false)
	f.Add(newDeflater(false).compress(make([]byte, 1<<20)), []byte{0xff}, true)
	f.Add([]byte{0x01, 0x00, 0x00}, []byte{0x00}, false)
	f.Fuzz(func(t *testing.T, a, b []byte, noTakeover bool) {
		_, c := fuzzConn(t, Config{})
		ext := "Sec-WebSocket-Extensions: permessage-deflate"
		if noTakeover {
			ext += "; server_no_context_takeover"
		}
		c.Data(reassembly.ClientToServer, []byte(upgradeReq("/")), testT0)
		c.Data(reassembly.ServerToClient, []byte(upgradeResp(ext)), testT0)
		c.Data(reassembly.ServerToClient, compressedFrame(OpText, a, false), testT0)
		c.Data(reassembly.ServerToClient, compressedFrame(OpBinary, b, false), testT0)
		c.Data(reassembly.ServerToClient, compressedFrame(OpText, a, false), testT0)
		c.End(reassembly.EndFIN, testT0)
	})
}

// FuzzFramesLikeReference checks the incremental frame parser against a
// reference that parses one side's bytes whole, frame after frame: on a
// stream that breaks no rule (any stream the decoder accepted before it
// learnt to decode through violations), the decoder must report no error
// and the reference's messages exactly, however the bytes are split; and
// a direction the decoder reports no error for must be one the reference
// accepts, with the same messages.
func FuzzFramesLikeReference(f *testing.F) {
	f.Add(splitStream(true), splitStream(false), uint8(7))
	f.Add(cf(OpText, `{"type":"login","name":"x"}`), sf(OpText, `{"type":"user_list","user_list":[]}`), uint8(200))
	f.Add(cat(fragments(OpText, []byte("abcdef"), 3, true, 0)...), cat(sf(OpPing, "p"), sf(OpBinary, strings.Repeat("b", 5000))), uint8(1))
	f.Add(cat(cf(OpText, "é"), cf(OpClose, "\x03\xe8bye")), sf(OpText, strings.Repeat("é", 3000)), uint8(3))
	f.Fuzz(func(t *testing.T, cb, sb []byte, chunk uint8) {
		rec := &recorder{tb: t, max: fuzzCap, keepFull: true}
		d := NewDecoder(Config{MaxMessage: fuzzCap}, rec)
		c := d.NewConn(reassembly.ConnInfo{ID: 1, Client: testClient, Server: testServer, SawSYN: true, Time: testT0})
		c.Data(reassembly.ClientToServer, []byte(upgradeReq("/")), testT0)
		c.Data(reassembly.ServerToClient, []byte(upgradeResp()), testT0)
		feedChunks(c, cb, sb, int(chunk), false)
		got := map[bool][]string{}
		errs := map[bool][]string{}
		for i := range rec.events {
			e := &rec.events[i]
			switch e.Kind {
			case KindMessage:
				got[e.FromClient] = append(got[e.FromClient], refKey(e.Opcode, e.Masked, e.Payload, e.Fragments, e.Length, e.Truncated))
			case KindError:
				errs[e.FromClient] = append(errs[e.FromClient], e.Err)
			}
		}
		// Past the cap on a connection's errors, which side an error
		// was from is not known.
		hidden := d.Stats().ErrorsHidden > 0
		for _, fromClient := range []bool{true, false} {
			b := sb
			if fromClient {
				b = cb
			}
			want, ok := refDecode(b, fromClient, fuzzCap)
			switch {
			case hidden && !ok:
			case ok && len(errs[fromClient]) > 0:
				t.Fatalf("client=%v: errors %q on a stream that breaks no rule", fromClient, errs[fromClient])
			case !ok && len(errs[fromClient]) == 0:
				t.Fatalf("client=%v: no error on a stream the reference rejects; messages %q", fromClient, got[fromClient])
			case ok && strings.Join(got[fromClient], "\n") != strings.Join(want, "\n"):
				t.Fatalf("client=%v:\n got %q\nwant %q", fromClient, got[fromClient], want)
			}
		}
	})
}

// refKey is what FuzzFramesLikeReference compares of a message.
func refKey(op Opcode, masked bool, payload []byte, frags, length int, truncated bool) string {
	return fmt.Sprintf("%s masked=%v %q frags=%d len=%d truncated=%v", op, masked, payload, frags, length, truncated)
}

// refDecode parses b, all one side sent after a handshake without
// extensions, in one pass over the whole of it. ok is false when b breaks
// a rule of RFC 6455 or ends inside a frame or a fragmented message: the
// decoder reports an error then.
func refDecode(b []byte, fromClient bool, limit int) (msgs []string, ok bool) {
	var msg []byte
	var op Opcode
	frags, inMsg, closed := 0, false, false
	for len(b) > 0 {
		if len(b) < 2 || len(b) < headerSize(b[0], b[1]) {
			return nil, false
		}
		h := parseHeader(b)
		if closed || h.length>>63 != 0 || h.violations(fromClient, false, inMsg) != 0 {
			return nil, false
		}
		b = b[h.size:]
		if uint64(len(b)) < h.length {
			return nil, false
		}
		p := bytes.Clone(b[:h.length])
		b = b[h.length:]
		if h.masked {
			maskRef(h.key, 0, p)
		}
		if h.op.IsControl() {
			if h.op == OpClose {
				closed = true
				if len(p) == 1 || len(p) >= 2 && (!validCloseCode(int(binary.BigEndian.Uint16(p))) || !utf8.Valid(p[2:])) {
					return nil, false
				}
			}
			msgs = append(msgs, refKey(h.op, h.masked, p, 1, len(p), false))
			continue
		}
		if h.op != OpContinuation {
			op, msg, frags, inMsg = h.op, nil, 0, true
		}
		frags++
		msg = append(msg, p...)
		if !h.fin {
			continue
		}
		kept, truncated := msg, len(msg) > limit
		if truncated {
			kept = msg[:limit]
		}
		if op == OpText && !utf8.Valid(kept) && !(truncated && validUTF8Prefix(kept)) {
			return nil, false
		}
		msgs = append(msgs, refKey(op, h.masked, kept, frags, len(msg), truncated))
		inMsg = false
	}
	return msgs, !inMsg
}
