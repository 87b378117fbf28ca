package socketio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// step is an Input in short: "c" or "s" for the direction, the payload.
type step struct {
	conn    uint64
	client  bool
	path    string
	polling string // "GET" or "POST" for a polling body
	binary  bool
	status  int
	payload string
}

func (s step) input() *Input {
	in := &Input{Conn: s.conn, FromClient: s.client, Path: s.path, Binary: s.binary, Payload: []byte(s.payload)}
	if s.polling != "" {
		in.Polling, in.Method = true, s.polling
		if !s.client {
			in.Status = 200
			if s.status != 0 {
				in.Status = s.status
			}
		}
	}
	return in
}

// run reads the steps and returns each Message, cloned, with a summary
// line "#conn c|s line".
func run(t *testing.T, r *Reader, steps []step) ([]*Message, []string) {
	t.Helper()
	var ms []*Message
	var lines []string
	for _, s := range steps {
		for i := range r.Read(s.input()) {
			m := r.out[i].Clone()
			dir := "s"
			if s.client {
				dir = "c"
			}
			line := fmt.Sprintf("#%d %s %s", s.conn, dir, m.Line)
			if m.Err != "" {
				line += "  ERR " + m.Err
			}
			ms = append(ms, m)
			lines = append(lines, line)
		}
	}
	return ms, lines
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines\n got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

const (
	sid4   = "lv_VI97HAXpY6yYWAAAC"
	poll4  = "/socket.io/?EIO=4&transport=polling&t=N8hyd6w"
	poll4s = "/socket.io/?EIO=4&transport=polling&t=N8hyd7H&sid=" + sid4
	ws4s   = "/socket.io/?EIO=4&transport=websocket&sid=" + sid4
)

// A socket.io 4 session as the v5 README's sample session and socket.io
// 4.8 write it: the handshake on polling (a GET per response, POSTs on
// another connection), the upgrade dance, then the websocket.
func TestReaderV4PollingUpgrade(t *testing.T) {
	r := NewReader()
	ms, lines := run(t, r, []step{
		{conn: 1, polling: "GET", path: poll4, payload: `0{"sid":"` + sid4 + `","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{conn: 2, polling: "POST", client: true, path: poll4s, payload: `40`},
		{conn: 2, polling: "POST", path: poll4s, payload: `ok`},
		{conn: 1, polling: "GET", path: poll4s, payload: "40{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}\x1e42[\"hey\",\"Jude\"]"},
		{conn: 2, polling: "POST", client: true, path: poll4s, payload: "42[\"hello\"]\x1e42[\"world\"]"},
		{conn: 3, client: true, path: ws4s, payload: "2probe"},
		{conn: 3, path: ws4s, payload: "3probe"},
		{conn: 1, polling: "GET", path: poll4s, payload: "6"},
		{conn: 3, client: true, path: ws4s, payload: "5"},
		{conn: 3, client: true, path: ws4s, payload: `40/admin,`},
		{conn: 3, path: ws4s, payload: `40/admin,{"sid":"-G5j-67EZFp-q59rADQM"}`},
		{conn: 3, client: true, path: ws4s, payload: `42/admin,1["tellme"]`},
		{conn: 3, path: ws4s, payload: `461-/admin,1[{"_placeholder":true,"num":0}]`},
		{conn: 3, path: ws4s, binary: true, payload: "\x01\x02\x03\x04"},
		{conn: 3, path: ws4s, payload: "2"},
		{conn: 3, client: true, path: ws4s, payload: "3"},
		{conn: 3, client: true, path: ws4s, payload: "1"},
	})
	sameLines(t, lines, []string{
		`#1 s engine.io open sid lv_VI97HAXpY6yYWAAAC (ping every 25s, timeout 20s, upgrades: websocket)`,
		`#2 c connect /`,
		`#1 s connected / as wZX3oN0bSVIhsaknAAAI`,
		`#1 s emit "hey" ("Jude")`,
		`#2 c emit "hello"`,
		`#2 c emit "world"`,
		`#3 c ping probe`,
		`#3 s pong probe`,
		`#1 s noop`,
		`#3 c upgrade`,
		`#3 c connect /admin`,
		`#3 s connected /admin as -G5j-67EZFp-q59rADQM`,
		`#3 c [/admin] emit "tellme"  ack 1`,
		`#3 s [/admin] ack 1 of "tellme" → (<attachment 0>)  [1 attachment follows]`,
		`#3 s [/admin] ack 1 of "tellme" → (<binary 4 bytes>)`,
		`#3 s ping`,
		`#3 c pong`,
		`#3 c close`,
	})
	for i, m := range ms {
		if m.SID != sid4 || m.EIO != 4 {
			t.Errorf("%d: sid %q eio %d", i, m.SID, m.EIO)
		}
		wantTransport := "polling"
		if i >= 6 && i != 8 {
			wantTransport = "websocket"
		}
		if m.Transport != wantTransport {
			t.Errorf("%d %s: transport %s", i, m.Line, m.Transport)
		}
		if hb := i == 15 || i == 16; m.Heartbeat != hb {
			t.Errorf("%d %s: heartbeat %v", i, m.Line, m.Heartbeat)
		}
	}
	if h := ms[0].Open; h == nil || h.SID != sid4 || h.PingInterval != 25000 || h.PingTimeout != 20000 || h.MaxPayload != 1000000 || len(h.Upgrades) != 1 || h.Upgrades[0] != "websocket" {
		t.Errorf("open %+v", ms[0].Open)
	}
	if ack := ms[13].IO; ack.Type != BinaryAck || ack.Complete || ack.Attachments != 1 || ack.AckOf != "tellme" {
		t.Errorf("announced %+v", ack)
	}
	last := ms[14]
	if last.Attachment == nil || *last.Attachment != (Attachment{Num: 0, Of: 1}) || last.IO == nil || !last.IO.Complete || !last.Binary {
		t.Fatalf("attachment %+v io %+v", last.Attachment, last.IO)
	}
	if got := string(last.IO.Args[0]); got != `{"_placeholder":true,"num":0,"length":4,"base64":"AQIDBA=="}` {
		t.Errorf("completed arg %s", got)
	}
	if !bytes.Equal(last.Data, []byte{1, 2, 3, 4}) {
		t.Errorf("data %x", last.Data)
	}
	if len(r.sessions) != 1 {
		t.Errorf("%d sessions", len(r.sessions))
	}
	r.Close(1)
	r.Close(2)
	if len(r.sessions) != 1 {
		t.Errorf("polling connections ended the session")
	}
	r.Close(3)
	if len(r.sessions) != 0 || len(r.conns) != 0 {
		t.Errorf("%d sessions, %d conns after the websocket closed", len(r.sessions), len(r.conns))
	}
}

// A websocket-only session (transports: ["websocket"]), the chat of
// socket.io's examples/chat: names, broadcasts, typing, acks.
func TestReaderWebSocketChat(t *testing.T) {
	r := NewReader()
	const ws = "/socket.io/?EIO=4&transport=websocket"
	_, lines := run(t, r, []step{
		{conn: 1, path: ws, payload: `0{"sid":"AAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{conn: 1, client: true, path: ws, payload: `40`},
		{conn: 1, path: ws, payload: `40{"sid":"sockA"}`},
		{conn: 2, path: ws, payload: `0{"sid":"BBBB","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{conn: 2, client: true, path: ws, payload: `40`},
		{conn: 2, path: ws, payload: `40{"sid":"sockB"}`},
		{conn: 1, client: true, path: ws, payload: `42["chat message","before login"]`},
		{conn: 1, client: true, path: ws, payload: `42["add user","alice"]`},
		{conn: 1, path: ws, payload: `42["login",{"numUsers":1}]`},
		{conn: 2, client: true, path: ws, payload: `42["add user",{"username":"bob"}]`},
		{conn: 2, path: ws, payload: `42["login",{"numUsers":2}]`},
		{conn: 1, path: ws, payload: `42["user joined",{"username":"bob","numUsers":2}]`},
		{conn: 1, client: true, path: ws, payload: `42["typing"]`},
		{conn: 2, path: ws, payload: `42["typing",{"username":"alice"}]`},
		{conn: 1, client: true, path: ws, payload: `42["stop typing"]`},
		{conn: 2, path: ws, payload: `42["stop typing",{"username":"alice"}]`},
		{conn: 1, client: true, path: ws, payload: `42["new message","hi bob"]`},
		{conn: 2, path: ws, payload: `42["new message",{"username":"alice","message":"hi bob"}]`},
		{conn: 2, client: true, path: ws, payload: `425["chat message",{"text":"hi\nalice","room":"1"}]`},
		{conn: 2, path: ws, payload: `435[{"status":"ok"}]`},
		{conn: 1, path: ws, payload: `42["chat message",{"from":"sockB","msg":"hi alice","to":"sockA"}]`},
		{conn: 1, path: ws, payload: `42["chat message","anonymous"]`},
		{conn: 1, path: ws, payload: `42["user left",{"username":"bob","numUsers":1}]`},
		{conn: 1, path: ws, payload: `421["ping?"]`},
		{conn: 1, client: true, path: ws, payload: `431["pong!"]`},
		{conn: 1, client: true, path: ws, payload: `432["unknown"]`},
		{conn: 1, client: true, path: ws, payload: `423["join","room1"]`},
		{conn: 1, path: ws, payload: `433["room1"]`},
		{conn: 1, client: true, path: ws, payload: `42["room message","hello room"]`},
		{conn: 1, path: ws, payload: `42["room message",{"username":"alice","message":"hello room"}]`},
		{conn: 1, client: true, path: ws, payload: `41`},
	})
	sameLines(t, lines, []string{
		`#1 s engine.io open sid AAAA (ping every 25s, timeout 20s)`,
		`#1 c connect /`,
		`#1 s connected / as sockA`,
		`#2 s engine.io open sid BBBB (ping every 25s, timeout 20s)`,
		`#2 c connect /`,
		`#2 s connected / as sockB`,
		`#1 c emit "chat message" ("before login")`,
		`#1 c login as alice`,
		`#1 s logged in (1 user)`,
		`#2 c login as bob`,
		`#2 s logged in (2 users)`,
		`#1 s bob joined (2 users)`,
		`#1 c alice is typing`,
		`#2 s alice is typing`,
		`#1 c alice stopped typing`,
		`#2 s alice stopped typing`,
		`#1 c alice → all: hi bob`,
		`#2 s alice → all: hi bob`,
		`#2 c bob → room 1: hi\nalice  ack 5`,
		`#2 s ack 5 of "chat message" → ({"status":"ok"})`,
		`#1 s bob → alice: hi alice`,
		`#1 s emit "chat message" ("anonymous")`,
		`#1 s bob left (1 user)`,
		`#1 s emit "ping?"  ack 1`,
		`#1 c ack 1 of "ping?" → ("pong!")`,
		`#1 c ack 2 → ("unknown")`,
		`#1 c alice joins room room1  ack 3`,
		`#1 s ack 3 of "join" → ("room1")`,
		`#1 c alice → room room1: hello room`,
		`#1 s alice → room room1: hello room`,
		`#1 c disconnect /`,
	})
	r.Close(1)
	r.Close(2)
	if len(r.sessions) != 0 || len(r.conns) != 0 {
		t.Errorf("%d sessions, %d conns", len(r.sessions), len(r.conns))
	}
}

// Packet.User: the client's name on its packets, the named user on the
// server's chat events.
func TestReaderUser(t *testing.T) {
	r := NewReader()
	const ws = "/socket.io/?EIO=4&transport=websocket&sid=S"
	ms, _ := run(t, r, []step{
		{conn: 1, client: true, path: ws, payload: `42["login","carol"]`},
		{conn: 1, client: true, path: ws, payload: `42["whatever",1]`},
		{conn: 1, path: ws, payload: `42["new message",{"user":{"name":"dave"},"content":"yo"}]`},
	})
	for i, want := range []string{"carol", "carol", "dave"} {
		if ms[i].IO.User != want {
			t.Errorf("%d: user %q, want %q (%s)", i, ms[i].IO.User, want, ms[i].Line)
		}
	}
	if ms[2].Line != "dave → all: yo" {
		t.Error(ms[2].Line)
	}
}

// socket.io 2.5 (EIO=3): v3 string payloads, the server's own "40", the
// client pinging, a binary event over the websocket with its type byte.
func TestReaderV3(t *testing.T) {
	r := NewReader()
	const sid = "pTeW4dVSvaN4N5TnAAAA"
	poll := "/socket.io/?EIO=3&transport=polling&t=NxTzQyV"
	polls := "/socket.io/?EIO=3&transport=polling&t=NxTzR0b&sid=" + sid
	ws := "/socket.io/?EIO=3&transport=websocket&sid=" + sid
	open := `0{"sid":"` + sid + `","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}`
	ms, lines := run(t, r, []step{
		{conn: 1, polling: "GET", path: poll, payload: fmt.Sprintf("%d:%s2:40", len(open), open)},
		{conn: 2, polling: "POST", client: true, path: polls, payload: "1:2"},
		{conn: 2, polling: "POST", path: polls, payload: "ok"},
		{conn: 1, polling: "GET", path: polls, payload: "1:3"},
		{conn: 2, polling: "POST", client: true, path: polls, payload: `23:42["chat message","😀"]`},
		{conn: 3, client: true, path: ws, payload: "2probe"},
		{conn: 3, path: ws, payload: "3probe"},
		{conn: 1, polling: "GET", path: polls, payload: "1:6"},
		{conn: 3, client: true, path: ws, payload: "5"},
		{conn: 3, client: true, path: ws, payload: `451-["upload","a.txt",{"_placeholder":true,"num":0}]`},
		{conn: 3, client: true, binary: true, path: ws, payload: "\x04hello"},
		{conn: 3, client: true, path: ws, payload: "2"},
		{conn: 3, path: ws, payload: "3"},
		{conn: 4, polling: "POST", client: true, path: polls, binary: true, payload: "\x00\x04\xff4€\x01\x05\xff\x04\x01\x02\x03\x04"},
	})
	sameLines(t, lines, []string{
		`#1 s engine.io open sid pTeW4dVSvaN4N5TnAAAA (ping every 25s, timeout 5s, upgrades: websocket)`,
		`#1 s connected /`,
		`#2 c ping`,
		`#1 s pong`,
		`#2 c emit "chat message" ("😀")`,
		`#3 c ping probe`,
		`#3 s pong probe`,
		`#1 s noop`,
		`#3 c upgrade`,
		`#3 c emit "upload" ("a.txt", <attachment 0>)  [1 attachment follows]`,
		`#3 c emit "upload" ("a.txt", <binary 5 bytes>)`,
		`#3 c ping`,
		`#3 s pong`,
		`#4 c message "€"`,
		`#4 c binary message (4 bytes)`,
	})
	for i, m := range ms {
		if m.EIO != 3 || m.SID != sid {
			t.Errorf("%d %s: eio %d sid %q", i, m.Line, m.EIO, m.SID)
		}
	}
	if a := ms[10].Attachment; a == nil || *a != (Attachment{Num: 0, Of: 1, Event: "upload"}) || string(ms[10].Data) != "hello" {
		t.Errorf("attachment %+v %q", a, ms[10].Data)
	}
	if got := string(ms[10].IO.Args[1]); got != `{"_placeholder":true,"num":0,"length":5,"base64":"aGVsbG8="}` {
		t.Error(got)
	}
	// v2's socket id is the engine sid: a name learned later names it.
	run(t, r, []step{{conn: 3, client: true, path: ws, payload: `42["add user","erin"]`}})
	if r.names[sid] != "erin" {
		t.Errorf("names %v", r.names)
	}
}

// Without the upgrade request, the version is guessed from who pings.
func TestReaderMidstreamGuess(t *testing.T) {
	for _, tc := range []struct {
		client bool
		eio    int
	}{{true, 3}, {false, 4}} {
		r := NewReader()
		ms, _ := run(t, r, []step{
			{conn: 1, client: !tc.client, payload: `42["x"]`},
			{conn: 1, client: tc.client, payload: "2"},
			{conn: 1, client: !tc.client, payload: "3"},
		})
		if ms[0].EIO != 0 || ms[1].EIO != tc.eio || ms[2].EIO != tc.eio || !ms[1].Heartbeat || !ms[2].Heartbeat {
			t.Errorf("client pings %v: eio %d %d %d", tc.client, ms[0].EIO, ms[1].EIO, ms[2].EIO)
		}
		if ms[0].SID != "" || ms[0].Transport != "websocket" {
			t.Errorf("%+v", ms[0])
		}
	}
}

// Binary events of two attachments over v4 polling (base64), in both
// directions at once; an ack with attachments; limits.
func TestReaderBinary(t *testing.T) {
	r := NewReader()
	p := "/socket.io/?EIO=4&transport=polling&sid=B"
	ws := "/socket.io/?EIO=4&transport=websocket&sid=B"
	ms, lines := run(t, r, []step{
		{conn: 1, polling: "POST", client: true, path: p, payload: "452-[\"pair\",{\"a\":{\"_placeholder\":true,\"num\":0},\"b\":[{\"_placeholder\":true,\"num\":1}]}]\x1ebAQI=\x1ebAwQF"},
		{conn: 2, path: ws, payload: `451-7["file",{"_placeholder":true,"num":0}]`},
		{conn: 2, client: true, path: ws, payload: `451-["mine",{"_placeholder":true,"num":0}]`},
		{conn: 2, path: ws, binary: true, payload: "S"},
		{conn: 2, client: true, path: ws, payload: `461-7[{"_placeholder":true,"num":0}]`},
		{conn: 2, client: true, path: ws, binary: true, payload: "CC"},
		{conn: 2, client: true, path: ws, payload: `450-["none"]`},
		{conn: 2, client: true, path: ws, payload: `4565-["many"]`},
		{conn: 2, client: true, path: ws, binary: true, payload: "x"},
		{conn: 2, client: true, path: ws, payload: `452-["cut",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{conn: 2, client: true, path: ws, binary: true, payload: "y"},
		{conn: 2, client: true, path: ws, payload: `451-["again",{"_placeholder":true,"num":0}]`},
	})
	sameLines(t, lines, []string{
		`#1 c emit "pair" ({"a":<attachment 0>,"b":[<attachment 1>]})  [2 attachments follow]`,
		`#1 c attachment 1/2 of "pair" (2 bytes)`,
		`#1 c emit "pair" ({"a":<binary 2 bytes>,"b":[<binary 3 bytes>]})`,
		`#2 s emit "file" (<attachment 0>)  ack 7  [1 attachment follows]`,
		`#2 c emit "mine" (<attachment 0>)  [1 attachment follows]`,
		`#2 s emit "file" (<binary 1 bytes>)  ack 7`,
		// The client's ack of the server's "file" comes before the
		// client's own "mine" got its attachment: it replaces it.
		`#2 c ack 7 of "file" → (<attachment 0>)  [1 attachment follows]  ERR socket.io: binary packet "mine" dropped with 0 of 1 attachments`,
		`#2 c attachment 1/1 of ack 7 (2 bytes)`[:0] + `#2 c ack 7 of "file" → (<binary 2 bytes>)`,
		`#2 c emit "none"`,
		`#2 c emit "many"  [65 attachments follow]  ERR socket.io: 65 attachments announced, more than 64: not joined`,
		`#2 c binary message (1 bytes)`,
		`#2 c emit "cut" (<attachment 0>, <attachment 1>)  [2 attachments follow]`,
		`#2 c attachment 1/2 of "cut" (1 bytes)`,
		`#2 c emit "again" (<attachment 0>)  [1 attachment follows]  ERR socket.io: binary packet "cut" dropped with 1 of 2 attachments`,
	})
	if got := string(ms[2].IO.Args[0]); got != `{"a":{"_placeholder":true,"num":0,"length":2,"base64":"AQI="},"b":[{"_placeholder":true,"num":1,"length":3,"base64":"AwQF"}]}` {
		t.Error(got)
	}
	if a := ms[1].Attachment; a == nil || *a != (Attachment{Num: 0, Of: 2, Event: "pair"}) || ms[1].IO != nil {
		t.Errorf("%+v", ms[1])
	}
	if !ms[8].IO.Complete {
		t.Error("0 attachments: complete")
	}
	s := r.sessions["B"]
	if s.held != 0 || r.held != 0 || s.pending[1] == nil || s.pending[1].pkt.Event != "again" {
		t.Errorf("held %d %d, pending %+v", s.held, r.held, s.pending[1])
	}
	run(t, r, []step{{conn: 2, client: true, path: ws, binary: true, payload: "12345"}})
	if s.held != 0 || r.held != 0 || s.pending[1] != nil {
		t.Errorf("held %d %d after joining", s.held, r.held)
	}
}

func TestReaderHeldLimit(t *testing.T) {
	r := NewReader()
	ws := "/socket.io/?EIO=4&transport=websocket&sid=H"
	big := strings.Repeat("x", MaxHeldBytes/2+1)
	_, lines := run(t, r, []step{
		{conn: 1, client: true, path: ws, payload: `453-["big",1]`},
		{conn: 1, client: true, path: ws, binary: true, payload: big},
		{conn: 1, client: true, path: ws, binary: true, payload: big},
		{conn: 1, client: true, path: ws, binary: true, payload: "z"},
	})
	sameLines(t, lines, []string{
		`#1 c emit "big" (1)  [3 attachments follow]`,
		`#1 c attachment 1/3 of "big" (8388609 bytes)`,
		`#1 c attachment 2/3 of "big" (8388609 bytes)  ERR socket.io: attachments of binary packet "big" over 16 MiB: dropped`,
		`#1 c binary message (1 bytes)`,
	})
	if r.held != 0 {
		t.Errorf("held %d", r.held)
	}
	// What a session holds is let go when its last connection ends.
	run(t, r, []step{
		{conn: 2, path: "/socket.io/?EIO=4&transport=websocket", payload: `0{"sid":"W","upgrades":[],"pingInterval":1,"pingTimeout":1}`},
		{conn: 2, path: "/socket.io/?EIO=4&transport=websocket", payload: `451-["f",{"_placeholder":true,"num":0}]`},
		{conn: 2, path: "/socket.io/?EIO=4&transport=websocket", payload: `452-["g",{"_placeholder":true,"num":0}]`},
		{conn: 2, path: "/socket.io/?EIO=4&transport=websocket", binary: true, payload: "zz"},
		{conn: 3, payload: `452-["midstream",1]`},
		{conn: 3, binary: true, payload: "abc"},
	})
	if r.held != 5 {
		t.Errorf("held %d", r.held)
	}
	r.Close(2)
	r.Close(3)
	if r.held != 0 || len(r.sessions) != 1 {
		t.Errorf("held %d, %d sessions", r.held, len(r.sessions))
	}
}

func TestReaderPollingEdges(t *testing.T) {
	r := NewReader()
	p := "/socket.io/?EIO=4&transport=polling&t=x&sid=gone"
	_, lines := run(t, r, []step{
		{conn: 1, polling: "POST", path: p, payload: "ok"},
		{conn: 1, polling: "GET", payload: ""},
		{conn: 1, polling: "GET", path: p, status: 400, payload: `{"code":1,"message":"Session ID unknown"}`},
		{conn: 1, polling: "GET", path: p, payload: "4hello\x1e4\x1e9"},
		{conn: 2, payload: `{"type":"say"}`},
		{conn: 2, payload: `42["a"`},
		{conn: 2, payload: `4"json"`},
		{conn: 2, payload: "4line\none\x1b"},
	})
	sameLines(t, lines, []string{
		`#1 s HTTP 400 {"code":1,"message":"Session ID unknown"}  ERR engine.io: HTTP 400`,
		`#1 s message "hello"`,
		`#1 s message ""`,
		`#1 s undecodable polling payload (unknown packet type '9')  ERR engine.io: unknown packet type '9'`,
		`#2 s undecodable engine.io packet (unknown packet type '{')  ERR engine.io: unknown packet type '{'`,
		`#2 s socket.io packet "2[\"a\""  ERR socket.io: payload is not valid JSON`,
		`#2 s message "\"json\""`,
		`#2 s message "line\none\x1b"`,
	})
}

// A polling session's sid comes from the open packet of its first GET,
// whose target has none; a second handshake on the same connection is a
// new session.
func TestReaderSessionsBySID(t *testing.T) {
	r := NewReader()
	ms, _ := run(t, r, []step{
		{conn: 1, polling: "GET", path: "/x/?EIO=4&transport=polling", payload: `0{"sid":"one","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{conn: 1, polling: "GET", path: "/x/?EIO=4&transport=polling", payload: `0{"sid":"two","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{conn: 2, polling: "POST", client: true, path: "/x/?EIO=4&transport=polling&sid=one", payload: `42["add user","one"]`},
		{conn: 2, polling: "POST", client: true, path: "/x/?EIO=4&transport=polling&sid=two", payload: `42["new message","hi"]`},
		{conn: 1, polling: "GET", path: "/x/?EIO=4&transport=polling&sid=one", payload: `40`},
	})
	if ms[0].SID != "one" || ms[1].SID != "two" || ms[2].SID != "one" || ms[3].SID != "two" {
		t.Error(ms[0].SID, ms[1].SID, ms[2].SID, ms[3].SID)
	}
	if ms[3].Line != `emit "new message" ("hi")` {
		t.Errorf("session two has no name: %s", ms[3].Line)
	}
	if len(r.sessions) != 2 || r.sessions["one"].user != "one" {
		t.Errorf("%v", r.sessions)
	}
}

func TestReaderBounds(t *testing.T) {
	r := NewReader()
	for i := 0; i < maxSessions+10; i++ {
		r.Read(&Input{Conn: uint64(i % 7), Path: fmt.Sprintf("/socket.io/?EIO=4&transport=websocket&sid=s%d", i), Payload: []byte("3")})
	}
	if len(r.sessions) > maxSessions {
		t.Errorf("%d sessions", len(r.sessions))
	}
	for i := 0; i < maxConns+10; i++ {
		r.Read(&Input{Conn: uint64(i), Payload: []byte("3")})
	}
	if len(r.conns) > maxConns {
		t.Errorf("%d conns", len(r.conns))
	}
	s := r.sessions["s1"]
	if s == nil {
		s = r.bySID("s1")
	}
	for i := 0; i < 3*maxAcks; i++ {
		s.rememberEmit(&Packet{Namespace: "/", ID: int64(i), Event: "e"}, true)
	}
	if len(s.acks) != maxAcks {
		t.Errorf("%d acks", len(s.acks))
	}
	if got := s.ackOf(&Packet{Namespace: "/", ID: int64(3*maxAcks - 1)}, false); got != "e" {
		t.Errorf("last ack %q", got)
	}
	if got := s.ackOf(&Packet{Namespace: "/", ID: 0}, false); got != "" {
		t.Errorf("forgotten ack %q", got)
	}
	for i := 0; i < maxNames+10; i++ {
		r.nameSocket(fmt.Sprint(i), "n")
	}
	if len(r.names) > maxNames {
		t.Errorf("%d names", len(r.names))
	}
}

// What Read returns is reused by the next Read; a Clone is not.
func TestMessageClone(t *testing.T) {
	r := NewReader()
	ws := "/socket.io/?EIO=4&transport=websocket&sid=C"
	ms := r.Read(&Input{Conn: 1, Path: ws, Payload: []byte(`42["a",{"k":"v"}]`)})
	c := ms[0].Clone()
	r.Read(&Input{Conn: 1, Path: ws, Payload: []byte(`42["b",{"z":"zzzzzzzz"}]`)})
	if c.IO.Event != "a" || string(c.IO.Args[0]) != `{"k":"v"}` || string(c.Data) != `2["a",{"k":"v"}]` {
		t.Errorf("clone changed: %+v %s", c.IO, c.Data)
	}
	var v any
	if json.Unmarshal(c.IO.Args[0], &v) != nil {
		t.Error("arg")
	}
}

func TestIsEngineIOPath(t *testing.T) {
	for target, want := range map[string]bool{
		"/socket.io/?EIO=4&transport=websocket":           true,
		"/socket.io/?EIO=3&transport=polling&t=N8hyd6w":   true,
		"/app/chat/ws/?transport=websocket&EIO=4&sid=abc": true,
		"/engine.io/?EIO=4":                               true,
		"/socket.io/":                                     false,
		"/?EIO=":                                          false,
		"/?EIO=x":                                         false,
		"/?XEIO=4":                                        false,
		"/path/EIO=4":                                     false,
		"":                                                false,
	} {
		if got := IsEngineIOPath(target); got != want {
			t.Errorf("%q: %v", target, got)
		}
	}
}

func TestLooksLikeEngineIO(t *testing.T) {
	for first, want := range map[string]bool{
		`0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}`: true,
		"2":                       true,
		"3":                       true,
		"2probe":                  true,
		"3probe":                  true,
		"40":                      true,
		`40{"sid":"x"}`:           true,
		`42["chat message","hi"]`: true,
		`430["ok"]`:               true,
		`42/chat,["x"]`:           true,
		"6":                       true,
		"5":                       true,
		"1":                       true,
		`{"type":"login"}`:        false,
		`["a"]`:                   false,
		"":                        false,
		"0":                       false,
		`0{"type":"x"}`:           false,
		"4":                       false,
		"4hello":                  false,
		"22":                      false,
		"7":                       false,
		"hello":                   false,
		`42["unterminated`:        false,
	} {
		if got := LooksLikeEngineIO([]byte(first)); got != want {
			t.Errorf("%q: %v", first, got)
		}
	}
}
