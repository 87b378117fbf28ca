package decode

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// step is one Data call of a test connection.
type step struct {
	client bool
	b      string
}

func fromClient(b string) step { return step{true, b} }
func fromServer(b string) step { return step{false, b} }

// TestHandshake checks Event.Handshake on open and rejected events: the
// heads header by header as sent, their sizes, and nil where there was no
// upgrade to show.
func TestHandshake(t *testing.T) {
	folded := "GET  /f HTTP/1.0\r\nHost:h\r\nX-Long: one\r\n  two\r\nnot a header\r\n" +
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + rfcKey + "\r\n\r\n"
	forbidden := "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nX-Why: origin\r\n\r\n"
	reqLF := strings.ReplaceAll(upgradeReq("/lf"), "\r\n", "\n")
	respLF := "HTTP/1.1 101\nupgrade: WebSocket\nconnection: upgrade\nsec-websocket-accept: " + rfcAccept + "\n\n"
	// The request's headers as upgradeReq writes them.
	reqHeaders := func(extra ...Header) []Header {
		return append([]Header{
			{"Host", "127.0.0.1:7272"}, {"User-Agent", "test-agent"},
			{"Origin", "http://127.0.0.1:55151"}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"},
			{"Sec-WebSocket-Version", "13"}, {"Sec-WebSocket-Key", rfcKey},
		}, extra...)
	}
	respHeaders := func(extra ...Header) []Header {
		return append([]Header{
			{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", rfcAccept},
		}, extra...)
	}
	// split cuts s into Data calls of n bytes from one side.
	split := func(client bool, s string, n int) []step {
		var out []step
		for len(s) > n {
			out = append(out, step{client, s[:n]})
			s = s[n:]
		}
		return append(out, step{client, s})
	}
	tests := []struct {
		name      string
		cfg       Config
		steps     []step // the bytes in the order they arrive
		kind      Kind   // the event that carries the handshake
		nth       int    // which of those events, from 0
		want      *Handshake
		wantLines []string // describe() of every event, when given
	}{
		{name: "seed handshake",
			steps: []step{fromClient(seedRequest), fromServer(seedResponse)},
			kind:  KindOpen,
			want: &Handshake{Method: "GET", Target: "/", Proto: "HTTP/1.1",
				Request: []Header{
					{"Host", "127.0.0.1:7272"},
					{"User-Agent", "Mozilla/5.0 (X11; Ubuntu; Linux i686; rv:31.0) Gecko/20100101 Firefox/31.0"},
					{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
					{"Accept-Language", "zh-cn,zh;q=0.8,en-us;q=0.5,en;q=0.3"}, {"Accept-Encoding", "gzip, deflate"},
					{"Sec-WebSocket-Version", "13"}, {"Origin", "http://127.0.0.1:55151"},
					{"Sec-WebSocket-Key", "zPDr6m4czzUdOFnsxIUEAw=="}, {"Cookie", "Hm_lvt=1402048017"},
					{"Connection", "keep-alive, Upgrade"}, {"Pragma", "no-cache"}, {"Cache-Control", "no-cache"},
					{"Upgrade", "websocket"},
				},
				Status: 101, StatusText: "Switching Protocols", ResponseProto: "HTTP/1.1",
				Response: []Header{{"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"},
					{"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", "nSsCeIBUsFnDJCRb/BNlFzBUDpM="}},
				RequestSize: len(seedRequest), ResponseSize: len(seedResponse)}},
		{name: "heads in pieces of 7 bytes, frames after the 101",
			steps: slices.Concat(split(true, upgradeReq("/chat?room_id=1", "Cookie: a=1; b=2"), 7),
				split(false, upgradeResp("Sec-WebSocket-Protocol: chat"), 7), []step{fromServer(string(sf(OpText, "s")))}),
			kind: KindOpen,
			want: &Handshake{Method: "GET", Target: "/chat?room_id=1", Proto: "HTTP/1.1",
				Request: reqHeaders(Header{"Cookie", "a=1; b=2"}),
				Status:  101, StatusText: "Switching Protocols", ResponseProto: "HTTP/1.1",
				Response:    respHeaders(Header{"Sec-WebSocket-Protocol", "chat"}),
				RequestSize: len(upgradeReq("/chat?room_id=1", "Cookie: a=1; b=2")), ResponseSize: len(upgradeResp("Sec-WebSocket-Protocol: chat"))},
			wantLines: []string{"open /chat?room_id=1 proto=chat", `server text "s"`}},
		{name: "bare LF, lower-case names, no reason text",
			steps: []step{fromClient(reqLF), fromServer(respLF)},
			kind:  KindOpen,
			want: &Handshake{Method: "GET", Target: "/lf", Proto: "HTTP/1.1",
				Request: reqHeaders(), Status: 101, ResponseProto: "HTTP/1.1",
				Response: []Header{{"upgrade", "WebSocket"}, {"connection", "upgrade"}, {"sec-websocket-accept", rfcAccept}},
				// The LF-only heads are smaller: their sizes are what was sent.
				RequestSize: len(reqLF), ResponseSize: len(respLF)}},
		{name: "folded header, odd spacing, a line without a colon",
			steps: []step{fromClient(folded), fromServer(upgradeResp())},
			kind:  KindOpen,
			want: &Handshake{Method: "GET", Target: "/f", Proto: "HTTP/1.0",
				Request: []Header{{"Host", "h"}, {"X-Long", "one two"}, {"Connection", "Upgrade"},
					{"Upgrade", "websocket"}, {"Sec-WebSocket-Key", rfcKey}},
				Status: 101, StatusText: "Switching Protocols", ResponseProto: "HTTP/1.1", Response: respHeaders(),
				RequestSize:  len(folded),
				ResponseSize: len(upgradeResp())}},
		{name: "keep-alive request before: only the upgrade's heads",
			steps: []step{fromClient("GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n"), fromServer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
				fromClient(upgradeReq("/ws")), fromServer(upgradeResp())},
			kind: KindOpen,
			want: &Handshake{Method: "GET", Target: "/ws", Proto: "HTTP/1.1", Request: reqHeaders(),
				Status: 101, StatusText: "Switching Protocols", ResponseProto: "HTTP/1.1", Response: respHeaders(),
				RequestSize: len(upgradeReq("/ws")), ResponseSize: len(upgradeResp())}},
		{name: "rejected upgrade carries its heads",
			steps: []step{fromClient(upgradeReq("/first")), fromServer(forbidden)},
			kind:  KindRejected,
			want: &Handshake{Method: "GET", Target: "/first", Proto: "HTTP/1.1", Request: reqHeaders(),
				Status: 403, StatusText: "Forbidden", ResponseProto: "HTTP/1.1",
				Response:    []Header{{"Content-Length", "0"}, {"X-Why", "origin"}},
				RequestSize: len(upgradeReq("/first")), ResponseSize: len(forbidden)}},
		{name: "rejected, then accepted: the open has the second attempt's heads",
			steps: []step{fromClient(upgradeReq("/first")), fromServer("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n"),
				fromClient(upgradeReq("/second")), fromServer(upgradeResp())},
			kind: KindOpen,
			want: &Handshake{Method: "GET", Target: "/second", Proto: "HTTP/1.1", Request: reqHeaders(),
				Status: 101, StatusText: "Switching Protocols", ResponseProto: "HTTP/1.1", Response: respHeaders(),
				RequestSize: len(upgradeReq("/second")), ResponseSize: len(upgradeResp())}},
		{name: "midstream: no handshake",
			cfg:   Config{Midstream: true},
			steps: []step{fromClient(string(cf(OpText, "hello"))), fromServer(string(sf(OpText, "hi")))},
			kind:  KindOpen, want: nil},
		{name: "request not captured: no handshake",
			steps: []step{fromServer(upgradeResp() + string(sf(OpText, "s")))},
			kind:  KindOpen, want: nil},
		{name: "long-polling: no handshake",
			steps: []step{fromClient("GET /socket.io/?EIO=4&transport=polling&t=P1 HTTP/1.1\r\nHost: h\r\n\r\n"),
				fromServer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")},
			kind: KindOpen, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			h.rec.keepFull = true
			for _, st := range tt.steps {
				if st.client {
					h.client([]byte(st.b))
				} else {
					h.server([]byte(st.b))
				}
			}
			if tt.wantLines != nil && !reflect.DeepEqual(h.rec.lines, tt.wantLines) {
				t.Errorf("events:\n got %q\nwant %q", h.rec.lines, tt.wantLines)
			}
			var got *Event
			n := 0
			for i := range h.rec.events {
				e := &h.rec.events[i]
				if e.Kind == tt.kind {
					if n == tt.nth {
						got = e
						break
					}
					n++
				}
				if e.Kind != KindOpen && e.Kind != KindRejected && e.Handshake != nil {
					t.Errorf("%s event with a Handshake", e.Kind)
				}
			}
			if got == nil {
				t.Fatalf("no %s event: %q", tt.kind, h.rec.lines)
			}
			if !reflect.DeepEqual(got.Handshake, tt.want) {
				t.Errorf("Handshake:\n got %+v\nwant %+v", got.Handshake, tt.want)
			}
		})
	}
}

// TestHandshakeBounded: a head at the cap is left without an open event,
// so no Handshake can hold more than MaxHead bytes of a head.
func TestHandshakeBounded(t *testing.T) {
	h := newHarness(t, Config{})
	h.rec.keepFull = true
	long := "X-Pad: " + strings.Repeat("a", MaxHead) + "\r\n"
	h.client([]byte(upgradeReq("/", long)))
	h.server([]byte(upgradeResp()))
	for _, e := range h.rec.events {
		if e.Handshake != nil {
			t.Fatalf("%s event with a Handshake from a head over MaxHead", e.Kind)
		}
	}
	if len(h.rec.lines) != 1 || !strings.Contains(h.rec.lines[0], "over") {
		t.Fatalf("events: %q", h.rec.lines)
	}
}
