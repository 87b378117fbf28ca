package socketio

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLines(t *testing.T) {
	const ws = "/socket.io/?EIO=4&transport=websocket&sid=L"
	for _, tc := range []struct {
		client bool
		in     string
		want   string
	}{
		{true, `42["chat message","hi"]`, `emit "chat message" ("hi")`},
		{true, `4212["chat message","hi"]`, `emit "chat message" ("hi")  ack 12`},
		{true, `42/chat,12["chat message","hi",3]`, `[/chat] emit "chat message" ("hi", 3)  ack 12`},
		{true, `42["x", {"a" : [1, 2], "b":"c d"} , null,true]`, `emit "x" ({"a":[1,2],"b":"c d"}, null, true)`},
		{true, `42["no args"]`, `emit "no args"`},
		{true, `42[7,"seven"]`, `emit 7 ("seven")`},
		{true, `42["tab\there"]`, `emit "tab\there"`},
		{true, `42["é\u2028"]`, `emit "é\u2028"`},
		{false, `4312["ok"]`, `ack 12 → ("ok")`},
		{false, `43/chat,12[]`, `[/chat] ack 12 → ()`},
		{true, `40`, `connect /`},
		{true, `40/chat,`, `connect /chat`},
		{true, `40/chat,{"token":"abc"}`, `connect /chat auth {"token":"abc"}`},
		{true, `40/chat?token=abc,`, `connect /chat?token=abc`},
		{false, `40{"sid":"wZX3oN0bSVIhsaknAAAI"}`, `connected / as wZX3oN0bSVIhsaknAAAI`},
		{false, `40/chat,{"sid":"x"}`, `connected /chat as x`},
		{false, `44{"message":"Not authorized"}`, `connect error /: Not authorized`},
		{false, `44/chat,{"message":"Not authorized","data":{"code":1}}`, `connect error /chat: Not authorized`},
		{false, `44"Not authorized"`, `connect error /: Not authorized`},
		{false, `44{"code":3}`, `connect error /: {"code":3}`},
		{true, `41/chat,`, `disconnect /chat`},
		{false, `41`, `disconnect /`},
		{true, `451-["upload","a.txt",{"_placeholder":true,"num":0}]`, `emit "upload" ("a.txt", <attachment 0>)  [1 attachment follows]`},
		{true, `451-/files,3["upload",{"_placeholder":true,"num":0}]`, `[/files] emit "upload" (<attachment 0>)  ack 3  [1 attachment follows]`},
		{false, `0{"sid":"X","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}`, `engine.io open sid X (ping every 25s, timeout 20s, upgrades: websocket)`},
		{false, `0{"sid":"X","upgrades":[],"pingInterval":2500,"pingTimeout":300}`, `engine.io open sid X (ping every 2.5s, timeout 300ms)`},
		{false, `0{"sid":`, `engine.io open "{\"sid\":"`},
		{false, `2`, `ping`},
		{true, `3`, `pong`},
		{true, `2probe`, `ping probe`},
		{false, `3probe`, `pong probe`},
		{false, `2data`, `ping "data"`},
		{true, `5`, `upgrade`},
		{false, `6`, `noop`},
		{true, `1`, `close`},
		{false, `4hello world`, `message "hello world"`},
		{false, "4\x00\n", `message "\x00\n"`},
		{false, "42/ns\n,[\"a\"]", `[/ns\n] emit "a"`},
		{false, "42[\"\x7f\xc2\x85\"]", `emit "\x7f\u0085"`},
		{false, "42[\"\xff\"]", "emit \"\uFFFD\""},
	} {
		r := NewReader()
		ms := r.Read(&Input{Conn: 1, FromClient: tc.client, Path: ws, Payload: []byte(tc.in)})
		if len(ms) != 1 {
			t.Errorf("%q: %d messages", tc.in, len(ms))
			continue
		}
		if ms[0].Line != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, ms[0].Line, tc.want)
		}
	}
}

func TestLineCut(t *testing.T) {
	r := NewReader()
	long := strings.Repeat("é", MaxLine)
	ms := r.Read(&Input{Conn: 1, Payload: []byte(`42["x","` + long + `"]`)})
	l := ms[0].Line
	if len(l) > MaxLine+len("…") || !strings.HasSuffix(l, "…") || !utf8.ValidString(l) {
		t.Errorf("len %d, suffix %q", len(l), l[len(l)-8:])
	}
	ms = r.Read(&Input{Conn: 1, Payload: []byte("4" + strings.Repeat("\n", 2*MaxLine))})
	if l := ms[0].Line; len(l) > MaxLine+len("…") || strings.Contains(l, "\n") {
		t.Errorf("len %d", len(l))
	}
}

func TestAppendSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		"a\nb\r\tc":    `a\nb\r\tc`,
		"\x1b[31m":     `\x1b[31m`,
		"\x7f":         `\x7f`,
		"é€😀":          "é€😀",
		"\xc2\x85":     `\u0085`,
		"\u2028\u2029": `\u2028\u2029`,
		"\xff\xfe":     `\xff\xfe`,
	} {
		if got := string(appendSafe(nil, []byte(in))); got != want {
			t.Errorf("%q: %s", in, got)
		}
		if needsEscape([]byte(in)) != (in != want) {
			t.Errorf("%q: needsEscape", in)
		}
	}
}
