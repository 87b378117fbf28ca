package workerman

import (
	"encoding/json"
	"github.com/chatsniff/chatsniff/decode"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// chatLines returns the chat line (or "-" for none, "nil" when Chat is
// nil) of each message event recorded.
func chatLines(h *harness) []string {
	var out []string
	for _, e := range h.rec.events {
		if e.Kind != decode.KindMessage {
			continue
		}
		switch {
		case e.Chat == nil:
			out = append(out, "nil")
		case e.ChatLine == "":
			out = append(out, "- "+string(e.Chat))
		default:
			out = append(out, e.ChatLine)
		}
	}
	h.rec.events = nil
	return out
}

// TestChatUID replays the manual's walkthrough (the uid protocol), with a
// second user's connection to the same server.
func TestChatUID(t *testing.T) {
	h := newHarness(t)
	h.client(cf(OpText, `{"type":"login","name":"mynick"}`))
	h.server(sf(OpText, `{"type":"user_list","user_list":[{"uid":783654164,"name":"\u732a\u732a"},{"uid":783700053,"name":"mynick"}]}`))
	h.server(sf(OpText, `{"type":"login","uid":783700053,"name":"mynick","time":"2014-08-12 17:50:30"}`))
	h.client(cf(OpText, `{"type":"say","to_uid":"all","content":"hi, all !"}`))
	h.server(sf(OpText, `{"type":"say","from_uid":783700053,"to_uid":"all","content":"hi, all !","time":"2014-08-12 :51:02"}`))
	h.client(cf(OpText, `{"type":"say","to_uid":783654164,"content":"psst"}`))
	h.server(sf(OpText, `{"type":"say","from_uid":783654164,"to_uid":783700053,"content":"yes?","time":"2014-08-12 17:52:00"}`))
	h.server(sf(OpText, `{"type":"say","from_uid":111,"to_uid":"all","content":"who am i","time":"2014-08-12 17:52:00"}`))
	h.server(sf(OpText, `{"type":"logout","uid":783654164,"time":"2014-08-12 17:53:00"}`))
	h.server(sf(OpText, `{"type":"logout","uid":222,"time":"2014-08-12 17:53:00"}`))
	equalLines(t, chatLines(h), []string{
		"login as mynick",
		"users: 猪猪 (783654164), mynick (783700053)",
		"mynick joined (uid 783700053)",
		"mynick → all: hi, all !",
		"mynick → all: hi, all !",
		"mynick → 猪猪: psst",
		"猪猪 → mynick: yes?",
		"uid 111 → all: who am i",
		"猪猪 left",
		"uid 222 left",
	})

	// Another connection to the same server knows the names already; its
	// own login is learned from the notice that carries its name.
	h.conn, h.srv = 2, testServer
	h.server(sf(OpText, `{"type":"say","from_uid":783700053,"to_uid":"all","content":"again","time":"x"}`))
	h.client(cf(OpText, `{"type":"say","to_uid":"all","content":"before my login"}`))
	equalLines(t, chatLines(h), []string{"mynick → all: again", "? → all: before my login"})
}

// TestChatRoom is today's protocol: logins with client_list, says to all
// and private, pings, logouts, HTML-escaped content shown as sent.
func TestChatRoom(t *testing.T) {
	h := newHarness(t)
	h.client(cf(OpText, `{"type":"login","client_name":"bob","room_id":1}`))
	h.server(sf(OpText, `{"type":"login","client_id":"7f00000108fc00000001","client_name":"bob","time":"2026-11-24 18:42:36","client_list":{"7f00000108fd00000001":"alice","7f00000108fc00000001":"bob"}}`))
	h.server(sf(OpText, `{"type":"say","from_client_id":"7f00000108fd00000001","from_client_name":"alice","to_client_id":"all","content":"hi, all !","time":"2026-11-24 18:42:37"}`))
	h.client(cf(OpText, `{"type":"say","to_client_id":"all","to_client_name":"all","content":"hello &lt;3"}`))
	h.client(cf(OpText, `{"type":"say","to_client_id":"7f00000108fd00000001","to_client_name":"alice","content":"psst"}`))
	h.server(sf(OpText, `{"type":"say","from_client_id":"7f00000108fc00000001","from_client_name":"bob","to_client_id":"7f00000108fd00000001","content":"<b>你对alice说: <\/b>psst","time":"2026-11-24 18:42:38"}`))
	h.server(sf(OpText, `{"type":"say","from_client_id":"7f00000108fd00000001","from_client_name":"alice","to_client_id":"7f00000108fc00000001","content":"<b>对你说: <\/b>line1<br \/>\nline2","time":"2026-11-24 18:42:39"}`))
	h.server(sf(OpText, `{"type":"ping"}`))
	h.client(cf(OpText, `{"type":"pong"}`))
	h.server(sf(OpText, `{"type":"login","client_id":"7f00000108fe00000001","client_name":"dave &amp;lt;x&amp;gt;","time":"2026-11-24 18:42:40"}`))
	h.server(sf(OpText, `{"type":"say","from_client_id":"7f00000108fe00000001","from_client_name":"dave &amp;lt;x&amp;gt;","to_client_id":"7f00000108ff00000001","content":"to a stranger","time":"t"}`))
	h.server(sf(OpText, `{"type":"logout","from_client_id":"7f00000108fd00000001","from_client_name":"alice","time":"2026-11-24 18:42:51"}`))
	h.client(cf(OpText, `{"type":"login","client_name":"carol","room_id":"lobby"}`))
	equalLines(t, chatLines(h), []string{
		"login as bob, room 1",
		"bob joined (client 7f00000108fc00000001); users: alice (7f00000108fd00000001), bob (7f00000108fc00000001)",
		"alice → all: hi, all !",
		"bob → all: hello &lt;3",
		"bob → alice: psst",
		"bob → alice: <b>你对alice说: </b>psst",
		"alice → bob: <b>对你说: </b>line1<br />\nline2",
		"ping",
		"pong",
		"dave &amp;lt;x&amp;gt; joined (client 7f00000108fe00000001)",
		"dave &amp;lt;x&amp;gt; → client 7f00000108ff00000001: to a stranger",
		"alice left",
		"login as carol, room lobby",
	})
}

// TestChatJSON: JSON objects are compacted into Chat whatever they are;
// other text has no Chat.
func TestChatJSON(t *testing.T) {
	h := newHarness(t)
	for _, m := range []string{
		"{ \"type\" : \"login\",\n \"name\" : \"spaced\" }",
		`{"type":"unknown","x":[1,2]}`,
		`{"no_type":true}`,
		`{"type":"say","to_uid":{"bad":1},"content":"x"}`,
		`{"type":"user_list","user_list":[{"uid":"str","name":"n"}]}`,
		`{"type":"say"}`,
		`{"type":"login"}`,
		`["an","array"]`,
		`"a string"`,
		`{"truncated":`,
		`not json`,
		`{"a":1} trailing`,
		``,
	} {
		h.client(cf(OpText, m))
	}
	h.server(sf(OpText, `{"type":"login"}`), sf(OpText, `{"type":"user_list"}`), sf(OpText, `{"type":"logout"}`), sf(OpText, `{"type":"say","content":"x"}`))
	h.client(cf(OpText, `{"type":"user_list","user_list":[]}`), cf(OpText, `{"type":"logout","uid":1}`))
	// Binary JSON is not chat.
	h.server(sf(OpBinary, `{"type":"ping"}`))
	equalLines(t, chatLines(h), []string{
		"login as spaced",
		`- {"type":"unknown","x":[1,2]}`,
		`- {"no_type":true}`,
		`- {"type":"say","to_uid":{"bad":1},"content":"x"}`,
		`- {"type":"user_list","user_list":[{"uid":"str","name":"n"}]}`,
		`- {"type":"say"}`,
		`- {"type":"login"}`,
		"nil", "nil", "nil", "nil", "nil", "nil",
		`- {"type":"login"}`, `- {"type":"user_list"}`, `- {"type":"logout"}`, `- {"type":"say","content":"x"}`,
		`- {"type":"user_list","user_list":[]}`, `- {"type":"logout","uid":1}`,
		"nil",
	})
}

// TestChatKeepsEscapes: Chat is the object as sent, compacted: the JSON
// escapes (\/, \uXXXX) stay, and it parses again.
func TestChatKeepsEscapes(t *testing.T) {
	h := newHarness(t)
	h.server(sf(OpText, `{"type":"say", "content":"a\/b \u732a"}`))
	e := h.rec.events[len(h.rec.events)-1]
	if string(e.Chat) != `{"type":"say","content":"a\/b \u732a"}` || !json.Valid(e.Chat) {
		t.Errorf("Chat = %s", e.Chat)
	}
}

// TestNamesPerServer: names are learned per server address: another server
// does not know them.
func TestNamesPerServer(t *testing.T) {
	h := newHarness(t)
	h.server(sf(OpText, `{"type":"login","uid":5,"name":"five","time":"t"}`))
	h.conn = 2
	h.server(sf(OpText, `{"type":"logout","uid":5,"time":"t"}`))
	h.conn, h.srv = 3, netip.AddrPortFrom(testServer.Addr(), 7273)
	h.server(sf(OpText, `{"type":"logout","uid":5,"time":"t"}`))
	equalLines(t, chatLines(h), []string{"five joined (uid 5)", "five left", "uid 5 left"})
}

// TestNameBookBound: a server announcing names without end does not grow
// the book past its bound.
func TestNameBookBound(t *testing.T) {
	h := newHarness(t)
	var b strings.Builder
	b.WriteString(`{"type":"user_list","user_list":[`)
	for i := range maxNamesPerServer + 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"uid":` + strconv.Itoa(i) + `,"name":"n` + strconv.Itoa(i) + `"}`)
	}
	b.WriteString(`]}`)
	h.server(sf(OpText, b.String()))
	if n := len(h.r.conns[1].book.names); n > maxNamesPerServer {
		t.Errorf("book holds %d names", n)
	}
}

// TestChatTalk: each chat message's Talk names what its line spells out:
// its type, who said it (or joined, or left), to whom, and the room its
// connection logged in to; a name not known is empty, not "?".
func TestChatTalk(t *testing.T) {
	type talk = decode.Talk
	for _, tc := range []struct {
		name   string
		client bool
		js     string
		want   talk
	}{
		{"login", true, `{"type":"login","client_name":"bob","room_id":1}`, talk{Type: "login", From: "bob", Room: "1"}},
		{"login notice", false, `{"type":"login","client_id":"c2","client_name":"alice","time":"t"}`, talk{Type: "login", From: "alice", Room: "1"}},
		{"say to all", true, `{"type":"say","to_client_id":"all","to_client_name":"all","content":"hi"}`, talk{Type: "say", From: "bob", To: "all", Room: "1"}},
		{"private say", true, `{"type":"say","to_client_id":"c2","to_client_name":"alice","content":"psst"}`, talk{Type: "say", From: "bob", To: "alice", Room: "1"}},
		{"say notice", false, `{"type":"say","from_client_id":"c2","from_client_name":"alice","to_client_id":"all","content":"yo","time":"t"}`, talk{Type: "say", From: "alice", To: "all", Room: "1"}},
		{"ping", false, `{"type":"ping"}`, talk{Type: "ping", Room: "1"}},
		{"logout", false, `{"type":"logout","from_client_id":"c2","from_client_name":"alice","time":"t"}`, talk{Type: "logout", From: "alice", Room: "1"}},
		{"unknown type", false, `{"type":"typing","who":"x"}`, talk{Type: "typing", Room: "1"}},
		{"not chat", false, `{"hello":1}`, talk{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.name != "login" {
				h.client(cf(OpText, `{"type":"login","client_name":"bob","room_id":1}`))
			}
			if tc.client {
				h.client(cf(OpText, tc.js))
			} else {
				h.server(sf(OpText, tc.js))
			}
			got := h.rec.events[len(h.rec.events)-1].Talk
			if got != tc.want {
				t.Errorf("%s: Talk %+v, want %+v", tc.js, got, tc.want)
			}
		})
	}

	// The uid protocol: an unknown sender is empty, a known one named.
	h := newHarness(t)
	h.client(cf(OpText, `{"type":"say","to_uid":"all","content":"before my login"}`))
	h.server(sf(OpText, `{"type":"say","from_uid":111,"to_uid":"all","content":"who am i","time":"x"}`))
	got := []talk{h.rec.events[len(h.rec.events)-2].Talk, h.rec.events[len(h.rec.events)-1].Talk}
	want := []talk{{Type: "say", To: "all"}, {Type: "say", From: "uid 111", To: "all"}}
	if got[0] != want[0] || got[1] != want[1] {
		t.Errorf("uid says: Talk %+v, want %+v", got, want)
	}
}
