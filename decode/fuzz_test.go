package decode

import (
	"encoding/json"
	"testing"

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

// FuzzChat feeds random text as chat messages from both sides.
func FuzzChat(f *testing.F) {
	for _, s := range []string{
		`{"type":"login","name":"mynick"}`,
		`{"type":"user_list","user_list":[{"uid":783654164,"name":"\u732a\u732a"},{"uid":783700053,"name":"mynick"}]}`,
		`{"type":"login","uid":783700053,"name":"mynick","time":"2014-08-12 17:50:30"}`,
		`{"type":"say","from_uid":783700053,"to_uid":"all","content":"hi, all !","time":"2014-08-12 :51:02"}`,
		`{"type":"login","client_id":"7f00000108fc00000001","client_name":"bob","time":"t","client_list":{"a":"alice","b":"bob"}}`,
		`{"type":"say","from_client_id":"a","from_client_name":"alice","to_client_id":"b","content":"x","time":"t"}`,
		`{"type":"logout","from_client_id":"a","from_client_name":"alice","time":"t"}`,
		`{"type":"say","to_client_id":"all","to_client_name":"all","content":"hi"}`,
		`{"type":"ping"}`, `{"type":"logout","uid":"7"}`, `{"type":"login","client_list":{"a":1}}`, `[1]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		_, c := fuzzConn(t, Config{})
		c.Data(reassembly.ClientToServer, []byte(upgradeReq("/")), testT0)
		c.Data(reassembly.ServerToClient, []byte(upgradeResp()), testT0)
		c.Data(reassembly.ServerToClient, frameSpec{op: OpText, payload: js}.build(), testT0)
		c.Data(reassembly.ClientToServer, frameSpec{op: OpText, masked: true, key: testKey, payload: js}.build(), testT0)
		c.End(reassembly.EndFIN, testT0)
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
