package chatserver

import (
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/chat"
)

func TestUIDProtocol(t *testing.T) {
	ts := startServer(t, Options{Protocol: chat.ProtocolUID})
	alice := dial(t, ts, "alice")
	alice.send(`{"type":"login","name":"alice"}`)
	alice.expect(`{"type":"user_list","user_list":[{"uid":1,"name":"alice"}]}`)
	alice.expect(`{"type":"login","uid":1,"name":"alice","time":"T"}`)

	// The joiner gets the list (itself last), then the notice everyone gets.
	bob := dial(t, ts, "bob")
	bob.send(`{"type":"login","name":"\u732a\u732a </b>"}`)
	bob.expect(`{"type":"user_list","user_list":[{"uid":1,"name":"alice"},{"uid":2,"name":"\u732a\u732a &lt;\/b&gt;"}]}`)
	bob.expect(`{"type":"login","uid":2,"name":"\u732a\u732a &lt;\/b&gt;","time":"T"}`)
	alice.expect(`{"type":"login","uid":2,"name":"\u732a\u732a &lt;\/b&gt;","time":"T"}`)

	t.Run("say to all", func(t *testing.T) {
		alice.send(`{"type":"say","to_uid":"all","content":"hi, all !"}`)
		want := `{"type":"say","from_uid":1,"to_uid":"all","content":"hi, all !","time":"T"}`
		alice.expect(want)
		bob.expect(want)
	})
	t.Run("escaping", func(t *testing.T) {
		bob.send(`{"type":"say","to_uid":"all","content":"a<b>&\"'/\nb 🙂"}`)
		want := `{"type":"say","from_uid":2,"to_uid":"all","content":"a&lt;b&gt;&amp;&quot;&#039;\/<br \/>\nb \ud83d\ude42","time":"T"}`
		alice.expect(want)
		bob.expect(want)
	})
	t.Run("private", func(t *testing.T) {
		bob.send(`{"type":"say","to_uid":1,"content":"psst"}`)
		alice.expect(`{"type":"say","from_uid":2,"to_uid":1,"content":"psst","time":"T"}`)
		// bob got nothing: its next message is the next public one.
		alice.send(`{"type":"say","to_uid":"all","content":"public"}`)
		want := `{"type":"say","from_uid":1,"to_uid":"all","content":"public","time":"T"}`
		bob.expect(want)
		alice.expect(want)
	})
	t.Run("bad input", func(t *testing.T) {
		carol := dial(t, ts, "carol")
		for _, m := range []string{
			`not json`, `{"type":`, `[]`, `{}`, `{"type":42}`, `{"type":"dance"}`,
			`{"type":"say","to_uid":"all","content":"before login"}`,
			`{"type":"say","to_uid":{},"content":"x"}`,
			`{"type":"login","name":{"x":1}}`,
		} {
			carol.send(m)
		}
		// Nothing was broadcast and carol's connection still works.
		carol.send(`{"type":"login","name":"carol"}`)
		carol.expect(`{"type":"user_list","user_list":[{"uid":1,"name":"alice"},{"uid":2,"name":"\u732a\u732a &lt;\/b&gt;"},{"uid":3,"name":"carol"}]}`)
		carol.expect(`{"type":"login","uid":3,"name":"carol","time":"T"}`)
		alice.expect(`{"type":"login","uid":3,"name":"carol","time":"T"}`)
		bob.expect(`{"type":"login","uid":3,"name":"carol","time":"T"}`)
		carol.send(`{"type":"say","to_uid":999,"content":"nobody"}`)
		carol.send(`{"type":"say","content":"no to_uid"}`)
		carol.c.CloseNow()
		alice.expect(`{"type":"logout","uid":3,"time":"T"}`)
		bob.expect(`{"type":"logout","uid":3,"time":"T"}`)
	})
	t.Run("logout", func(t *testing.T) {
		bob.c.Close(1000, "bye")
		alice.expect(`{"type":"logout","uid":2,"time":"T"}`)
		if _, err := alice.read(200 * time.Millisecond); err == nil {
			t.Fatal("alice got a message after the logout")
		}
	})
}
