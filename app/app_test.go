package app

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/app/socketio"
	"github.com/chatsniff/chatsniff/app/workerman"
	"github.com/chatsniff/chatsniff/decode"
)

var (
	client = netip.MustParseAddrPort("127.0.0.1:50000")
	server = netip.MustParseAddrPort("127.0.0.1:3000")
	t0     = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
)

// recorder keeps copies of the events handed on.
type recorder struct{ events []decode.Event }

func (r *recorder) Event(e *decode.Event) {
	c := *e
	c.Payload = bytes.Clone(e.Payload)
	c.Chat = bytes.Clone(e.Chat)
	r.events = append(r.events, c)
}

func open(conn uint64, path string) *decode.Event {
	return &decode.Event{Kind: decode.KindOpen, Time: t0, ConnID: conn, Client: client, Server: server, Path: path, AcceptOK: true}
}

func text(conn uint64, fromClient bool, s string) *decode.Event {
	return &decode.Event{Kind: decode.KindMessage, Time: t0, ConnID: conn, Client: client, Server: server,
		FromClient: fromClient, Opcode: decode.OpText, Payload: []byte(s), PayloadIsText: true, Length: len(s), Fragments: 1}
}

func closed(conn uint64) *decode.Event {
	return &decode.Event{Kind: decode.KindClose, Time: t0, ConnID: conn, Client: client, Server: server}
}

// line describes an event as the tests compare it.
func line(e *decode.Event) string {
	s := string(e.Kind)
	if e.Kind == decode.KindMessage {
		s += " " + string(e.Payload)
		if e.ChatLine != "" {
			s += " | " + e.ChatLine
		}
		if _, ok := e.App.(*socketio.Message); ok {
			s += " [socket.io]"
		}
		if e.Chat != nil {
			s += " [chat]"
		}
		if e.Heartbeat {
			s += " [heartbeat]"
		}
	}
	return s
}

func newTestStage(rec *recorder) *Stage {
	return NewStage(rec, NewSocketIO(), NewWorkerman(workerman.Options{}))
}

// TestStageRoutes: each connection is read by the protocol that claimed
// it, by its path or by its first message; what no protocol claims goes
// through unread, and a connection's claim ends with its close.
func TestStageRoutes(t *testing.T) {
	rec := new(recorder)
	s := newTestStage(rec)
	for _, e := range []*decode.Event{
		open(1, "/socket.io/?EIO=4&transport=websocket"),
		open(2, "/"),
		open(3, "/"),
		text(1, false, `0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`),
		text(2, true, `{"type":"login","client_name":"alice","room_id":"1"}`),
		text(3, true, `hello, plain text`),
		text(1, true, `40`),
		// A JSON object on a Socket.IO connection is not workerman's.
		text(1, true, `{"type":"ping"}`),
		text(2, false, `{"type":"ping"}`),
		closed(1),
		closed(2),
		// Connection numbers are not reused within a capture, but a
		// claim must not outlive its connection.
		text(1, true, `{"type":"pong"}`),
		// Midstream: no path, claimed by the first message.
		text(4, false, `42["chat message","hi"]`),
	} {
		s.Event(e)
	}
	var got []string
	for i := range rec.events {
		got = append(got, line(&rec.events[i]))
	}
	want := []string{
		"open", "open", "open",
		`message 0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000} | engine.io open sid abc (ping every 25s, timeout 20s) [socket.io]`,
		`message {"type":"login","client_name":"alice","room_id":"1"} | login as alice, room 1 [chat]`,
		`message hello, plain text`, // workerman's, but not chat
		`message 40 | connect / [socket.io]`,
		`message {"type":"ping"} | undecodable engine.io packet (unknown packet type '{') [socket.io]`,
		`message {"type":"ping"} | ping [chat] [heartbeat]`,
		"close", "close",
		`message {"type":"pong"} | pong [chat] [heartbeat]`,
		`message 42["chat message","hi"] | emit "chat message" ("hi") [socket.io]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// TestStagePollingBody: a long-polling body of several Engine.IO packets
// becomes one event per packet, each with its own bytes, and the
// session's later WebSocket connection (sid in its path) is the same
// session.
func TestStagePollingBody(t *testing.T) {
	rec := new(recorder)
	s := newTestStage(rec)
	poll := func(conn uint64, fromClient bool, method, path, body string) *decode.Event {
		e := text(conn, fromClient, body)
		e.Polling, e.Method, e.Path = true, method, path
		if !fromClient {
			e.Status = 200
		}
		return e
	}
	popen := open(1, "/socket.io/?EIO=4&transport=polling&t=a")
	popen.Polling, popen.AcceptOK = true, false
	s.Event(popen)
	s.Event(poll(1, false, "GET", "/socket.io/?EIO=4&transport=polling&t=a",
		`0{"sid":"S1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	s.Event(poll(1, true, "POST", "/socket.io/?EIO=4&transport=polling&t=b&sid=S1", "40\x1e42[\"add user\",\"erin\"]"))
	s.Event(poll(1, false, "POST", "/socket.io/?EIO=4&transport=polling&t=b&sid=S1", "ok"))
	s.Event(poll(1, false, "GET", "/socket.io/?EIO=4&transport=polling&t=c&sid=S1", "40{\"sid\":\"X\"}\x1ebAQID"))
	s.Event(open(2, "/socket.io/?EIO=4&transport=websocket&sid=S1"))
	s.Event(text(2, true, "2probe"))
	s.Event(text(2, false, "3probe"))
	s.Event(text(2, true, "5"))
	s.Event(text(2, true, `42["new message","hi"]`))
	var got []string
	for i := range rec.events {
		e := &rec.events[i]
		l := line(e)
		if m, ok := e.App.(*socketio.Message); ok {
			l += " " + m.Transport + " " + m.SID
		}
		if e.Opcode == decode.OpBinary {
			l += " binary"
		}
		got = append(got, l)
	}
	want := []string{
		"open",
		`message 0{"sid":"S1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000} | engine.io open sid S1 (ping every 25s, timeout 20s, upgrades: websocket) [socket.io] polling S1`,
		`message 40 | connect / [socket.io] polling S1`,
		`message 42["add user","erin"] | login as erin [socket.io] polling S1`,
		`message ok`,
		`message 40{"sid":"X"} | connected / as X [socket.io] polling S1`,
		"message \x01\x02\x03 | binary message (3 bytes) [socket.io] polling S1 binary",
		"open",
		`message 2probe | ping probe [socket.io] websocket S1`,
		`message 3probe | pong probe [socket.io] websocket S1`,
		`message 5 | upgrade [socket.io] websocket S1`,
		`message 42["new message","hi"] | erin → all: hi [socket.io] websocket S1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
	// Each event's App is its own: a Sink may keep it.
	first, _ := rec.events[1].App.(*socketio.Message)
	second, _ := rec.events[2].App.(*socketio.Message)
	if first == nil || second == nil || first == second {
		t.Fatal("the packets of one body share their App")
	}
}
