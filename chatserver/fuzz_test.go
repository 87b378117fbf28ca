package chatserver

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/chat"
)

// fakeClient is a client with no connection, for driving the protocols
// directly: what the server sends it stays in its queue.
func fakeClient(s *Server, n uint64) *client {
	// A writer goroutine would write to the missing connection: mark
	// one as running so that frames stay queued.
	c := &client{srv: s, id: s.clientID(n)}
	c.q.writing = true
	return c
}

// FuzzProtocols feeds arbitrary client messages to both protocols, between
// a login and a say from a second client: nothing panics, and everything
// queued is one valid, pure-ASCII JSON text frame.
func FuzzProtocols(f *testing.F) {
	for _, s := range []string{
		`{"type":"login","name":"mynick"}`,
		`{"type":"login","client_name":"alice","room_id":1}`,
		`{"type":"say","to_uid":"all","content":"hi, all !"}`,
		`{"type":"say","to_uid":1,"content":"x"}`,
		`{"type":"say","to_client_id":"7f00000108fc00000001","to_client_name":"<b>","content":"a\nb"}`,
		`{"type":"login","client_name":"x","room_id":"lobby"}`,
		`{"type":"pong"}`, `{}`, `null`, `[1]`, `{"type":"say","to_uid":{}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		for _, p := range []chat.Protocol{chat.ProtocolUID, chat.ProtocolRoom} {
			s, err := New(Options{Protocol: p, QueueMessages: 1 << 20, QueueBytes: 1 << 30, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			a, b := fakeClient(s, 0), fakeClient(s, 1)
			s.proto.open(a)
			s.proto.open(b)
			feed := func(c *client, data string) {
				var m chat.Message
				if json.Unmarshal([]byte(data), &m) == nil {
					s.proto.message(c, &m)
				}
			}
			feed(a, `{"type":"login","name":"a","client_name":"a","room_id":1}`)
			feed(b, msg)
			feed(b, `{"type":"say","to_uid":"all","to_client_id":"all","content":"after"}`)
			feed(a, msg)
			s.proto.close(b)
			s.proto.close(a)
			for _, c := range []*client{a, b} {
				for _, fr := range c.q.items {
					if fr.plain[0] != finBit|opText {
						t.Fatalf("frame header %#x", fr.plain[0])
					}
					p := fr.payload()
					if !json.Valid(p) {
						t.Fatalf("invalid JSON queued: %q", p)
					}
					for _, ch := range p {
						if ch >= utf8.RuneSelf {
							t.Fatalf("non-ASCII JSON queued: %q", p)
						}
					}
					if d := fr.bytes(true); len(d) == 0 {
						t.Fatal("empty deflated frame")
					}
				}
			}
		}
	})
}
