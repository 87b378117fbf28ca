package render

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/decode"
)

func TestAppendEscaped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hi, all !", "hi, all !"},
		{"猪猪 héllo 👋", "猪猪 héllo 👋"},
		{"a\nb\tc\r", `a\nb\tc\r`},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		{"\x00\x7f", `\x00\x7f`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202eevil\u202c", `bidi \u202eevil\u202c`},
		{"isolate \u2066x\u2069", `isolate \u2066x\u2069`},
	}
	for _, tt := range tests {
		if got := string(appendEscaped(nil, tt.in)); got != tt.want {
			t.Errorf("appendEscaped(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(appendEscaped(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendEscaped([]byte %q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	sc := NewScheme(false)
	tests := []struct {
		name, in, indent, want string
	}{
		{"compact", `{"type":"login","name":"mynick"}`, "", `{"type": "login", "name": "mynick"}`},
		{"pretty", `{"type":"login","uid":783700053,"ok":true,"x":null}`, "  ",
			"{\n  \"type\": \"login\",\n  \"uid\": 783700053,\n  \"ok\": true,\n  \"x\": null\n}"},
		{"nested and empty", `{"a":[1,{"b":[]}],"c":{}}`, "  ",
			"{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}"},
		{"PHP escapes decoded", `{"name":"\u732a\u732a","content":"a<br \/>\nb"}`, "",
			`{"name": "猪猪", "content": "a<br />\nb"}`},
		{"surrogate pair", `{"e":"\ud83d\udc4b"}`, "", `{"e": "👋"}`},
		{"escapes kept visible", `{"q":"say \"hi\" \\ \u001b[31m"}`, "", `{"q": "say \"hi\" \\ \x1b[31m"}`},
		{"not JSON shown escaped", "{\"a\":\x1b", "", "{\"a\": \\x1b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendJSON(nil, []byte(tt.in), sc, "", tt.indent))
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestAppendJSONDepthBounded(t *testing.T) {
	in := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	out := appendJSON(nil, []byte(in), NewScheme(false), "", "")
	if len(out) == 0 {
		t.Fatal("no output")
	}
}

var (
	cli = netip.MustParseAddrPort("127.0.0.1:60653")
	srv = netip.MustParseAddrPort("[::1]:7272")
	ts  = time.Date(2014, 8, 12, 17, 50, 30, 652680000, time.UTC)
)

func TestNDJSONIsValidJSON(t *testing.T) {
	events := []decode.Event{
		{Kind: decode.KindOpen, Path: "/", Origin: "http://127.0.0.1:55151", Extensions: "permessage-deflate", AcceptOK: true},
		{Kind: decode.KindMessage, FromClient: true, Opcode: decode.OpText, Masked: true, Fragments: 1, Length: 31,
			Payload: []byte(`{"type":"login","name":"mynick"}`), PayloadIsText: true, Chat: []byte(`{"type":"login","name":"mynick"}`)},
		{Kind: decode.KindMessage, Opcode: decode.OpBinary, Fragments: 2, Length: 3, Payload: []byte{0, 1, 0xff}},
		{Kind: decode.KindMessage, Opcode: decode.OpClose, CloseCode: 1000, CloseReason: "bye \x00\u2028", Payload: []byte("\x03\xe8bye"), PayloadIsText: false},
		{Kind: decode.KindMessage, Opcode: decode.OpText, Payload: []byte("bad \xff utf8 \x1b"), PayloadIsText: true},
		{Kind: decode.KindGap, Bytes: 1448},
		{Kind: decode.KindGap, Bytes: -1},
		{Kind: decode.KindError, Err: `reserved opcode 0x3 "quoted"`},
		{Kind: decode.KindClose},
		{Kind: decode.KindMessage, FromClient: true, Opcode: decode.OpContinuation, Fragments: 1, Length: 1, Payload: []byte("x"),
			Violations: decode.ViolUnmaskedClient | decode.ViolOrphanContinuation},
		{Kind: decode.KindRejected, Path: "/chat\"", Origin: "o", Status: 403, StatusText: "Forbidden \x1b"},
	}
	for i := range events {
		e := &events[i]
		e.Time, e.Client, e.Server, e.ConnID = ts, cli, srv, 1
		line := AppendNDJSON(nil, e)
		if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
			t.Errorf("%s: not one line: %q", e.Kind, line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: invalid JSON %q: %v", e.Kind, line, err)
		}
		if m["event"] != string(e.Kind) || m["time"] != "2014-08-12T17:50:30.652680000Z" || m["client"] != "127.0.0.1:60653" || m["server"] != "[::1]:7272" {
			t.Errorf("%s: common fields wrong: %s", e.Kind, line)
		}
		switch e.Kind {
		case decode.KindMessage:
			if e.PayloadIsText {
				if s, _ := m["text"].(string); !utf8.ValidString(s) || len(s) == 0 {
					t.Errorf("text missing or invalid: %s", line)
				}
			}
			if len(e.Chat) > 0 {
				if _, ok := m["chat"].(map[string]any); !ok {
					t.Errorf("chat is not an object: %s", line)
				}
			}
			if v, _ := m["violations"].([]any); len(v) != len(e.Violations.Names()) {
				t.Errorf("violations %v, want %q: %s", m["violations"], e.Violations.Names(), line)
			}
		case decode.KindRejected:
			if m["status"] != float64(e.Status) || m["status_text"] != e.StatusText || m["path"] != e.Path {
				t.Errorf("rejected fields: %s", line)
			}
		case decode.KindGap:
			if _, ok := m["bytes"]; ok != (e.Bytes >= 0) {
				t.Errorf("bytes present=%v for %d: %s", ok, e.Bytes, line)
			}
		}
	}
}

func TestNDJSONMessageFields(t *testing.T) {
	e := decode.Event{Kind: decode.KindMessage, Time: ts, Client: cli, Server: srv, FromClient: true, Opcode: decode.OpText,
		Masked: true, Compressed: true, Fragments: 3, Length: 2, Payload: []byte("hi"), PayloadIsText: true}
	got := string(AppendNDJSON(nil, &e))
	want := `{"event":"message","time":"2014-08-12T17:50:30.652680000Z","client":"127.0.0.1:60653","server":"[::1]:7272","from":"client","opcode":"text","masked":true,"compressed":true,"midstream":false,"truncated":false,"fragments":3,"length":2,"text":"hi"}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestNDJSONViolations(t *testing.T) {
	e := decode.Event{Kind: decode.KindMessage, Time: ts, Client: cli, Server: srv, FromClient: true, Opcode: decode.OpBinary,
		Fragments: 1, Length: 1, Payload: []byte{1}, Violations: decode.ViolUnmaskedClient | decode.ViolRSV2}
	got := string(AppendNDJSON(nil, &e))
	want := `{"event":"message","time":"2014-08-12T17:50:30.652680000Z","client":"127.0.0.1:60653","server":"[::1]:7272","from":"client","opcode":"binary","masked":false,"compressed":false,"midstream":false,"truncated":false,"fragments":1,"length":1,"data":"AQ==","violations":["unmasked client frame","RSV2 set"]}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestTextOddEvents: a rejected upgrade, a reserved opcode and a
// continuation with no message are named, and violations are flagged.
func TestTextOddEvents(t *testing.T) {
	sc := NewScheme(false)
	clock := ts.Local().Format("15:04:05.000000")
	tests := []struct {
		e    decode.Event
		want string
	}{
		{decode.Event{Kind: decode.KindRejected, Path: "/ws", Origin: "http://h", Status: 403, StatusText: "Forbidden\x1b"},
			` #1 127.0.0.1:60653 → [::1]:7272 WebSocket GET /ws origin http://h rejected: HTTP 403 Forbidden\x1b`},
		{decode.Event{Kind: decode.KindMessage, Opcode: 3, Fragments: 1, Length: 2, Payload: []byte("op"), PayloadIsText: true, Violations: decode.ViolReservedOpcode},
			` #1 server → client  reserved-0x3 op [violation: reserved opcode]`},
		{decode.Event{Kind: decode.KindMessage, FromClient: true, Opcode: decode.OpContinuation, Fragments: 2, Length: 1, Payload: []byte{0xff},
			Violations: decode.ViolOrphanContinuation | decode.ViolUnmaskedClient},
			` #1 client → server  continuation ff [2 fragments] [violation: unmasked client frame, continuation without a message]`},
	}
	for _, tt := range tests {
		e := tt.e
		e.Time, e.ConnID, e.Client, e.Server = ts.Local(), 1, cli, srv
		if got := string(AppendText(nil, &e, TextOptions{Scheme: sc})); got != clock+tt.want+"\n" {
			t.Errorf("got  %q\nwant %q", got, clock+tt.want+"\n")
		}
	}
}

func TestTextEscapesCapturedText(t *testing.T) {
	e := decode.Event{Kind: decode.KindMessage, Time: ts, ConnID: 2, Client: cli, Server: srv, FromClient: true, Opcode: decode.OpText,
		Payload: []byte("\x1b[2Jhello\x1b]0;x\x07"), PayloadIsText: true, Fragments: 1}
	got := string(AppendText(nil, &e, TextOptions{Scheme: NewScheme(false)}))
	if strings.ContainsAny(got, "\x1b\x07") {
		t.Errorf("raw control characters reached the output: %q", got)
	}
	if !strings.Contains(got, `client → server  \x1b[2Jhello\x1b]0;x\x07`) {
		t.Errorf("unexpected line %q", got)
	}
}

func TestTextChatLineWithJSON(t *testing.T) {
	e := decode.Event{Kind: decode.KindMessage, Time: ts.Local(), ConnID: 1, FromClient: true, Opcode: decode.OpText, Fragments: 1,
		Chat: []byte(`{"type":"say","to_uid":"all","content":"hi, all !"}`), ChatLine: "mynick → all: hi, all !"}
	got := string(AppendText(nil, &e, TextOptions{Scheme: NewScheme(false), Compact: true}))
	want := ts.Local().Format("15:04:05.000000") + ` #1 client → server  mynick → all: hi, all !  {"type": "say", "to_uid": "all", "content": "hi, all !"}` + "\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestSchemeOff(t *testing.T) {
	sc := NewScheme(false)
	if sc.Key.on != "" || sc.conn(3).on != "" {
		t.Error("colour sequences with colour off")
	}
	on := NewScheme(true)
	if !strings.HasPrefix(on.Key.on, "\x1b[") || on.Key.off != "\x1b[0m" {
		t.Errorf("colour on: %q %q", on.Key.on, on.Key.off)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte(`{"type":"user_list","user_list":[{"uid":783654164,"name":"\u732a\u732a"}]}`))
	f.Add([]byte(`[1,"\ud800",{"a":{}}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := appendJSON(nil, in, NewScheme(false), "  ", "  ")
		if bytes.ContainsAny(out, "\x1b\x07\x00\r") {
			t.Fatalf("control characters in output %q", out)
		}
	})
}

func FuzzNDJSON(f *testing.F) {
	f.Add([]byte("hi"), "reason", true)
	f.Add([]byte("\xff\x00\u2028"), "\x1b", false)
	f.Fuzz(func(t *testing.T, payload []byte, s string, isText bool) {
		e := decode.Event{Kind: decode.KindMessage, Time: ts, Client: cli, Server: srv, Opcode: decode.OpClose,
			Payload: payload, PayloadIsText: isText, CloseReason: s, CloseCode: 1000}
		line := AppendNDJSON(nil, &e)
		if !json.Valid(line) {
			t.Fatalf("invalid JSON: %q", line)
		}
		// The escapers write what encoding/json writes.
		checkJSONString(t, string(payload))
		checkJSONString(t, s)
	})
}

// TestExplainHidden: a hidden packet is not written but followed (the
// relative sequence numbers of what is shown after it count from its
// SYN), and a hidden packet that closed its connection makes the
// explainer forget it.
func TestExplainHidden(t *testing.T) {
	c := netip.MustParseAddrPort("10.0.0.1:40000")
	s := netip.MustParseAddrPort("10.0.0.2:7272")
	for _, tc := range []struct {
		name   string
		closed bool
		want   string
	}{
		{"followed", false, "seq 1:11,"},
		{"forgotten", true, "seq 1001:1011,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			x := NewExplain(&out, NewScheme(false))
			x.Packet(&Packet{Num: 1, ConnID: 1, FromClient: true, Src: c, Dst: s, SYN: true, Seq: 1000, Hidden: true}, nil)
			x.Packet(&Packet{Num: 2, ConnID: 1, FromClient: true, Src: c, Dst: s, RST: true, Seq: 1001, Hidden: true, Closed: tc.closed}, nil)
			if out.Len() != 0 {
				t.Fatalf("hidden packets written: %q", out.String())
			}
			x.Packet(&Packet{Num: 3, ConnID: 1, FromClient: true, Src: c, Dst: s, ACK: true, PSH: true, Seq: 1001, Len: 10, Payload: make([]byte, 10)}, nil)
			x.Flush()
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("got %q, want it to contain %q", out.String(), tc.want)
			}
		})
	}
}
