package chatserver

import (
	"regexp"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/chat"
)

var clientIDRe = regexp.MustCompile(`"client_id":"([0-9a-f]{20})"`)
var fromClientIDRe = regexp.MustCompile(`"from_client_id":"([0-9a-f]{20})"`)

// loginRoom logs w in and returns its client_id, read from its login reply.
func loginRoom(t *testing.T, w *wsClient, login string) (string, string) {
	t.Helper()
	w.send(login)
	got := w.next()
	m := clientIDRe.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("%s: login reply without a client_id: %s", w.name, got)
	}
	return m[1], maskTime(got)
}

func TestRoomProtocol(t *testing.T) {
	ts := startServer(t, Options{Protocol: chat.ProtocolRoom, PingInterval: -1})
	alice := dial(t, ts, "alice")
	aliceID, got := loginRoom(t, alice, `{"type":"login","client_name":"alice","room_id":1}`)
	if want := `{"type":"login","client_id":"` + aliceID + `","client_name":"alice","time":"T","client_list":{"` + aliceID + `":"alice"}}`; got != want {
		t.Fatalf("alice's login reply\n  %s\nwant\n  %s", got, want)
	}
	if aliceID[:8] != "7f000001" {
		t.Errorf("client_id %s does not start with 127.0.0.1 in hex", aliceID)
	}

	// client_name is escaped twice in the notice, once in the list, and the
	// joiner comes last in the list; room_id as a string names the same room.
	bob := dial(t, ts, "bob")
	bobID, got := loginRoom(t, bob, `{"type":"login","client_name":"dave <x>","room_id":"1"}`)
	if want := `{"type":"login","client_id":"` + bobID + `","client_name":"dave &amp;lt;x&amp;gt;","time":"T","client_list":{"` + aliceID + `":"alice","` + bobID + `":"dave &lt;x&gt;"}}`; got != want {
		t.Fatalf("bob's login reply\n  %s\nwant\n  %s", got, want)
	}
	alice.expect(`{"type":"login","client_id":"` + bobID + `","client_name":"dave &amp;lt;x&amp;gt;","time":"T"}`)
	if aliceID == bobID {
		t.Fatalf("two clients share client_id %s", aliceID)
	}

	carol := dial(t, ts, "carol")
	carolID, _ := loginRoom(t, carol, `{"type":"login","client_name":"carol","room_id":2}`)

	t.Run("say to the room", func(t *testing.T) {
		alice.send(`{"type":"say","to_client_id":"all","to_client_name":"all","content":"hi, all !"}`)
		want := `{"type":"say","from_client_id":"` + aliceID + `","from_client_name":"alice","to_client_id":"all","content":"hi, all !","time":"T"}`
		alice.expect(want)
		bob.expect(want)
	})
	t.Run("private with echo", func(t *testing.T) {
		alice.send(`{"type":"say","to_client_id":"` + bobID + `","to_client_name":"dave <x>","content":"a\nb"}`)
		bob.expect(`{"type":"say","from_client_id":"` + aliceID + `","from_client_name":"alice","to_client_id":"` + bobID + `","content":"<b>\u5bf9\u4f60\u8bf4: <\/b>a<br \/>\nb","time":"T"}`)
		alice.expect(`{"type":"say","from_client_id":"` + aliceID + `","from_client_name":"alice","to_client_id":"` + bobID + `","content":"<b>\u4f60\u5bf9dave &lt;x&gt;\u8bf4: <\/b>a<br \/>\nb","time":"T"}`)
	})
	t.Run("rooms are apart", func(t *testing.T) {
		carol.send(`{"type":"say","to_client_id":"all","to_client_name":"all","content":"room 2"}`)
		carol.expect(`{"type":"say","from_client_id":"` + carolID + `","from_client_name":"carol","to_client_id":"all","content":"room 2","time":"T"}`)
		bob.send(`{"type":"say","to_client_id":"all","to_client_name":"all","content":"room 1"}`)
		want := `{"type":"say","from_client_id":"` + bobID + `","from_client_name":"dave &lt;x&gt;","to_client_id":"all","content":"room 1","time":"T"}`
		alice.expect(want) // not carol's message first
		bob.expect(want)
	})
	t.Run("bad input", func(t *testing.T) {
		dan := dial(t, ts, "dan")
		for _, m := range []string{
			`garbage`, `{"type":"login","client_name":"no room"}`, `{"type":"say","to_client_id":"all","content":"x"}`,
			`{"type":"pong"}`, `{"type":null}`, `{"type":"login","client_name":"x","room_id":[1]}`,
		} {
			dan.send(m)
		}
		danID, _ := loginRoom(t, dan, `{"type":"login","client_name":"dan","room_id":2}`)
		carol.expect(`{"type":"login","client_id":"` + danID + `","client_name":"dan","time":"T"}`)
		dan.send(`{"type":"say","content":"no target"}`)
		dan.c.CloseNow()
		carol.expect(`{"type":"logout","from_client_id":"` + danID + `","from_client_name":"dan","time":"T"}`)
	})
	t.Run("logout", func(t *testing.T) {
		bob.c.Close(1000, "")
		alice.expect(`{"type":"logout","from_client_id":"` + bobID + `","from_client_name":"dave &lt;x&gt;","time":"T"}`)
	})
}

func TestRoomPing(t *testing.T) {
	ts := startServer(t, Options{Protocol: chat.ProtocolRoom, PingInterval: 30 * time.Millisecond})
	c := dial(t, ts, "c")
	for i := 0; i < 2; i++ {
		c.expect(`{"type":"ping"}`)
		c.send(`{"type":"pong"}`)
	}
}

func TestRoomRelogin(t *testing.T) {
	ts := startServer(t, Options{Protocol: chat.ProtocolRoom, PingInterval: -1})
	a := dial(t, ts, "a")
	b := dial(t, ts, "b")
	aID, _ := loginRoom(t, a, `{"type":"login","client_name":"a","room_id":1}`)
	bID, _ := loginRoom(t, b, `{"type":"login","client_name":"b","room_id":1}`)
	a.expect(`{"type":"login","client_id":"` + bID + `","client_name":"b","time":"T"}`)
	// a moves to room 2: room 1 sees it leave; its reply lists room 2 only.
	_, got := loginRoom(t, a, `{"type":"login","client_name":"a2","room_id":2}`)
	if want := `{"type":"login","client_id":"` + aID + `","client_name":"a2","time":"T","client_list":{"` + aID + `":"a2"}}`; got != want {
		t.Fatalf("relogin reply\n  %s\nwant\n  %s", got, want)
	}
	b.expect(`{"type":"logout","from_client_id":"` + aID + `","from_client_name":"a","time":"T"}`)
}
