package har_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/har"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

var (
	t0     = time.Date(2026, 11, 26, 8, 37, 0, 827_123_456, time.UTC)
	client = netip.MustParseAddrPort("10.0.0.1:50123")
	server = netip.MustParseAddrPort("10.0.0.2:7272")
)

// hs is a captured upgrade, as the decoder reports it.
func hs(target string, req ...decode.Header) *decode.Handshake {
	return &decode.Handshake{Method: "GET", Target: target, Proto: "HTTP/1.1",
		Request: append([]decode.Header{{Name: "Host", Value: "chat.example:7272"}, {Name: "Upgrade", Value: "websocket"}}, req...),
		Status:  101, StatusText: "Switching Protocols", ResponseProto: "HTTP/1.1",
		Response:    []decode.Header{{Name: "Upgrade", Value: "websocket"}, {Name: "Set-Cookie", Value: "sid=abc; Path=/; HttpOnly"}},
		RequestSize: 120, ResponseSize: 80}
}

func open(id uint64, ms int, h *decode.Handshake) *decode.Event {
	return &decode.Event{Kind: decode.KindOpen, ConnID: id, Time: t0.Add(time.Duration(ms) * time.Millisecond),
		Client: client, Server: server, Handshake: h, Path: "/", Host: "chat.example:7272"}
}

func msg(id uint64, ms int, fromClient bool, op decode.Opcode, payload string) *decode.Event {
	return &decode.Event{Kind: decode.KindMessage, ConnID: id, Time: t0.Add(time.Duration(ms) * time.Millisecond),
		Client: client, Server: server, FromClient: fromClient, Opcode: op, Payload: []byte(payload),
		Length: len(payload), Fragments: 1}
}

func closeEv(id uint64, ms int) *decode.Event {
	return &decode.Event{Kind: decode.KindClose, ConnID: id, Time: t0.Add(time.Duration(ms) * time.Millisecond), Client: client, Server: server}
}

// doc is a HAR read back, its entries generic.
type doc struct {
	Log struct {
		Entries []map[string]any
	}
}

// write runs events through a Writer and returns the entries, after
// checking that the file is valid against the schemas.
func write(t *testing.T, maxHeld int64, events ...*decode.Event) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	w := har.NewWriter(&out)
	if maxHeld > 0 {
		w.SetMaxHeld(maxHeld)
	}
	for _, e := range events {
		w.Event(e)
		if e != nil {
			// Events are only valid during the call: the writer must
			// have copied what it keeps.
			for i := range e.Payload {
				e.Payload[i] = 'X'
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	validate(t, schemas(t), out.Bytes())
	var d doc
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	return d.Log.Entries
}

// get follows a path of keys and indexes through a decoded entry.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestEntries(t *testing.T) {
	tlsOn := func(e *decode.Event) *decode.Event { e.TLS = &tlsdecrypt.Info{Decrypted: true}; return e }
	tests := []struct {
		name   string
		events []*decode.Event
		check  map[string]any // "path.to.0.field" → want (JSON numbers as float64)
		n      int            // entries
	}{
		{name: "captured upgrade",
			events: []*decode.Event{
				open(1, 0, hs("/chat?room_id=1&name=a%20b&x", decode.Header{Name: "Cookie", Value: "a=1; b=2"})),
				msg(1, 5, true, decode.OpText, `{"type":"login"}`),
				msg(1, 7, false, decode.OpBinary, "\x00\x01\xff"),
				closeEv(1, 9),
			},
			n: 1,
			check: map[string]any{
				"0.startedDateTime":               "2026-11-26T08:37:00.827Z",
				"0.time":                          5.0,
				"0.timings.wait":                  5.0,
				"0.timings.ssl":                   -1.0,
				"0.request.method":                "GET",
				"0.request.url":                   "ws://chat.example:7272/chat?room_id=1&name=a%20b&x",
				"0.request.httpVersion":           "HTTP/1.1",
				"0.request.headers.0.name":        "Host",
				"0.request.headers.2.value":       "a=1; b=2",
				"0.request.headers.3":             nil,
				"0.request.queryString.0.value":   "1",
				"0.request.queryString.1.value":   "a b",
				"0.request.queryString.2.name":    "x",
				"0.request.cookies.1.name":        "b",
				"0.request.cookies.1.value":       "2",
				"0.request.headersSize":           120.0,
				"0.request.bodySize":              0.0,
				"0.response.status":               101.0,
				"0.response.statusText":           "Switching Protocols",
				"0.response.headers.1.name":       "Set-Cookie",
				"0.response.headersSize":          80.0,
				"0.response.cookies.0.name":       "sid",
				"0.response.cookies.0.path":       "/",
				"0.response.cookies.0.httpOnly":   true,
				"0.response.content.mimeType":     "x-unknown",
				"0.serverIPAddress":               "10.0.0.2",
				"0.connection":                    "7272",
				"0._connectionId":                 "50123",
				"0.comment":                       nil,
				"0._resourceType":                 "websocket",
				"0._webSocketMessages.0.type":     "send",
				"0._webSocketMessages.0.time":     1795682220.832123,
				"0._webSocketMessages.0.opcode":   1.0,
				"0._webSocketMessages.0.data":     `{"type":"login"}`,
				"0._webSocketMessages.0.encoding": nil,
				"0._webSocketMessages.1.type":     "receive",
				"0._webSocketMessages.1.opcode":   2.0,
				"0._webSocketMessages.1.data":     "AAH/",
				"0._webSocketMessages.1.encoding": nil,
				"0._webSocketMessages.2":          nil,
			}},
		{name: "control frames, bad UTF-8, a message cut inside a character",
			events: []*decode.Event{
				open(1, 0, hs("/")),
				msg(1, 1, false, decode.OpPing, "hb"),
				msg(1, 2, true, decode.OpPong, "hb"),
				msg(1, 3, true, decode.OpText, "ab\xffc"),
				func() *decode.Event {
					e := msg(1, 4, false, decode.OpText, "héllo é"[:len("héllo é")-1])
					e.Truncated, e.Length, e.PayloadIsText = true, 1000, true
					return e
				}(),
				msg(1, 5, true, decode.OpClose, "\x03\xe8bye"),
			},
			n: 1,
			check: map[string]any{
				"0._webSocketMessages.0.opcode":    9.0,
				"0._webSocketMessages.0.data":      "hb",
				"0._webSocketMessages.1.opcode":    10.0,
				"0._webSocketMessages.2.data":      "YWL/Yw==",
				"0._webSocketMessages.2.encoding":  "base64",
				"0._webSocketMessages.3.data":      "héllo ",
				"0._webSocketMessages.3.truncated": true,
				"0._webSocketMessages.3.length":    1000.0,
				"0._webSocketMessages.4.opcode":    8.0,
				"0._webSocketMessages.4.data":      "A+hieWU=",
				"0._webSocketMessages.4.encoding":  "base64",
				"0.time":                           1.0,
			}},
		{name: "midstream: a request made up from the event",
			events: []*decode.Event{
				func() *decode.Event {
					e := open(1, 0, nil)
					e.Midstream, e.Path, e.Host, e.Origin, e.UserAgent = true, "", "", "", ""
					return e
				}(),
				msg(1, 3, true, decode.OpText, "x"),
			},
			n: 1,
			check: map[string]any{
				"0.request.url":               "ws://10.0.0.2:7272/",
				"0.request.headers":           []any{},
				"0.request.headersSize":       -1.0,
				"0.response.status":           101.0,
				"0.response.headersSize":      -1.0,
				"0.comment":                   "midstream: the upgrade was not captured; request and response made up",
				"0._webSocketMessages.0.data": "x",
			}},
		{name: "101 alone: what the event has",
			events: []*decode.Event{
				func() *decode.Event {
					e := open(1, 0, nil)
					e.Extensions, e.UserAgent, e.Origin = "permessage-deflate", "ua", "http://o"
					return e
				}(),
			},
			n: 1,
			check: map[string]any{
				"0.request.headers.0.name":  "Host",
				"0.request.headers.1.value": "http://o",
				"0.request.headers.2.value": "ua",
				"0.response.headers.0.name": "Sec-WebSocket-Extensions",
				"0.time":                    0.0,
				"0.timings.wait":            0.0,
			}},
		{name: "wss, IPv6",
			events: []*decode.Event{
				func() *decode.Event {
					e := tlsOn(open(1, 0, hs("/s")))
					e.Server = netip.MustParseAddrPort("[::1]:443")
					return e
				}(),
			},
			n:     1,
			check: map[string]any{"0.request.url": "wss://chat.example:7272/s", "0.serverIPAddress": "::1"}},
		{name: "not WebSocket: polling and TLS not decrypted are left out",
			events: []*decode.Event{
				func() *decode.Event { e := open(1, 0, nil); e.Polling = true; return e }(),
				func() *decode.Event { e := msg(1, 1, true, decode.OpText, "4hi"); e.Polling = true; return e }(),
				closeEv(1, 2),
				func() *decode.Event {
					e := &decode.Event{Kind: decode.KindOpen, ConnID: 2, Time: t0, Client: client, Server: server}
					e.TLS = &tlsdecrypt.Info{Reason: "no key"}
					return e
				}(),
				closeEv(2, 3),
			},
			n: 0},
		{name: "rejected upgrade: an entry with its status, then the accepted one",
			events: []*decode.Event{
				func() *decode.Event {
					h := hs("/first")
					h.Status, h.StatusText, h.Response = 403, "Forbidden", []decode.Header{{Name: "Content-Length", Value: "0"}}
					return &decode.Event{Kind: decode.KindRejected, ConnID: 1, Time: t0, Client: client, Server: server,
						Handshake: h, Status: 403, StatusText: "Forbidden", Path: "/first"}
				}(),
				open(1, 10, hs("/second")),
				closeEv(1, 20),
			},
			n: 2,
			check: map[string]any{
				"0.response.status":     403.0,
				"0.response.statusText": "Forbidden",
				"0.request.url":         "ws://chat.example:7272/first",
				"0._webSocketMessages":  []any{},
				"0.comment":             "upgrade rejected",
				"1.request.url":         "ws://chat.example:7272/second",
				"1.response.status":     101.0,
			}},
		{name: "entries in close order; Close writes the open ones in open order",
			events: []*decode.Event{
				open(1, 0, hs("/1")), open(2, 1, hs("/2")), open(3, 2, hs("/3")), open(4, 3, hs("/4")),
				closeEv(3, 5),
			},
			n: 4,
			check: map[string]any{
				"0.request.url": "ws://chat.example:7272/3",
				"1.request.url": "ws://chat.example:7272/1",
				"2.request.url": "ws://chat.example:7272/2",
				"3.request.url": "ws://chat.example:7272/4",
			}},
		{name: "gaps and errors counted in the comment",
			events: []*decode.Event{
				open(1, 0, hs("/")),
				{Kind: decode.KindGap, ConnID: 1, Time: t0, Client: client, Server: server, Bytes: 10},
				{Kind: decode.KindError, ConnID: 1, Time: t0, Client: client, Server: server, Err: "x"},
				{Kind: decode.KindError, ConnID: 1, Time: t0, Client: client, Server: server, Err: "y"},
			},
			n:     1,
			check: map[string]any{"0.comment": "1 gap in the capture; 2 decoding errors (chatsniff read shows them)"}},
		{name: "hostile header values, host and target stay one valid URL and valid JSON",
			events: []*decode.Event{
				open(1, 0, &decode.Handshake{Method: "GET", Target: "/a b\"<>\x00é?q=\xff", Proto: "HTTP/1.1",
					Request: []decode.Header{{Name: "Host", Value: "evil/@x"}, {Name: "X\"", Value: "\x00\xff\u2028</script>"}},
					Status:  101}),
			},
			n: 1,
			check: map[string]any{
				"0.request.url":             "ws://10.0.0.2:7272/a%20b%22%3C%3E%00%C3%A9?q=%FF",
				"0.request.headers.1.name":  `X"`,
				"0.request.headers.1.value": "\x00\ufffd\u2028</script>",
			}},
		{name: "bad events: nil, unknown connections, zero values",
			events: []*decode.Event{
				nil,
				{},
				{Kind: decode.KindMessage, ConnID: 7, Payload: []byte("x")},
				{Kind: decode.KindClose, ConnID: 8},
				{Kind: decode.KindOpen},
				{Kind: decode.KindRejected},
			},
			n: 2,
			check: map[string]any{
				"0.request.url":     "ws:///",
				"0.serverIPAddress": nil,
				"0.connection":      nil,
				"0._connectionId":   nil,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := write(t, 0, tt.events...)
			if len(entries) != tt.n {
				t.Fatalf("%d entries, want %d", len(entries), tt.n)
			}
			for path, want := range tt.check {
				var keys []any
				for _, k := range strings.Split(path, ".") {
					if n, err := parseIndex(k); err == nil {
						keys = append(keys, n)
					} else {
						keys = append(keys, k)
					}
				}
				got := get(any(toAny(entries)), keys...)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
		})
	}
}

func toAny(entries []map[string]any) []any {
	out := make([]any, len(entries))
	for i, e := range entries {
		out[i] = e
	}
	return out
}

func parseIndex(s string) (int, error) {
	n := 0
	if s == "" {
		return 0, errors.New("empty")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// TestMemoryCap: past the cap, messages are not kept and are counted in
// their entry's comment; a connection closed gives its bytes back.
func TestMemoryCap(t *testing.T) {
	big := strings.Repeat("m", 1000)
	events := []*decode.Event{open(1, 0, hs("/")), open(2, 0, hs("/"))}
	for i := range 10 {
		events = append(events, msg(1, i, true, decode.OpText, big))
	}
	events = append(events, closeEv(1, 20))
	for i := range 3 {
		events = append(events, msg(2, 30+i, false, decode.OpText, big))
	}
	// Room for the two connections' headers (their bytes and 64 per
	// header line) and 5 messages at once.
	headers := int64(120 + 80 + 4*64)
	entries := write(t, 2*headers+5*(1000+64), events...)
	if len(entries) != 2 {
		t.Fatalf("%d entries", len(entries))
	}
	if n := len(get(entries[0], "_webSocketMessages").([]any)); n != 5 {
		t.Errorf("first connection kept %d messages, want 5", n)
	}
	if got := get(entries[0], "comment"); got != "5 messages not kept: over the HAR's memory cap" {
		t.Errorf("comment %q", got)
	}
	if n := len(get(entries[1], "_webSocketMessages").([]any)); n != 3 {
		t.Errorf("second connection kept %d messages, want 3 (the first's bytes given back)", n)
	}
	// A connection opened past the cap keeps no headers.
	entries = write(t, 10, open(1, 0, hs("/")), msg(1, 1, true, decode.OpText, "x"))
	if got := get(entries[0], "comment"); got != "headers not kept: over the HAR's memory cap; 1 message not kept: over the HAR's memory cap" {
		t.Errorf("comment %q", got)
	}
	if got := get(entries[0], "request", "headers"); !reflect.DeepEqual(got, []any{}) {
		t.Errorf("headers %v", got)
	}
}

// TestEmpty: no connection is still a HAR file.
func TestEmpty(t *testing.T) {
	var out bytes.Buffer
	if err := har.NewWriter(&out).Close(); err != nil {
		t.Fatal(err)
	}
	validate(t, schemas(t), out.Bytes())
	if !strings.Contains(out.String(), `"entries": [`) {
		t.Fatalf("%s", out.String())
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errDisk
	}
	f.n -= len(p)
	return len(p), nil
}

// TestWriteError: the first write error is what Close returns, and events
// after it or after Close do no harm.
func TestWriteError(t *testing.T) {
	w := har.NewWriter(&failWriter{n: 10})
	w.Event(open(1, 0, hs("/")))
	w.Event(closeEv(1, 1))
	w.Event(open(2, 0, hs("/")))
	w.Event(closeEv(2, 1))
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("Close: %v", err)
	}
	w.Event(open(3, 0, hs("/")))
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("second Close: %v", err)
	}
}

// TestSchemasReject: the validation is not vacuous; documents that break
// HAR 1.2 or Chrome's WebSocket entries are refused.
func TestSchemasReject(t *testing.T) {
	var out bytes.Buffer
	w := har.NewWriter(&out)
	w.Event(open(1, 0, hs("/")))
	w.Event(msg(1, 1, true, decode.OpText, "x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	good := out.String()
	for name, bad := range map[string]string{
		"no timings":             strings.Replace(good, `"timings"`, `"timingz"`, 1),
		"status as a string":     strings.Replace(good, `"status": 101`, `"status": "101"`, 1),
		"a date that is not":     strings.Replace(good, `"startedDateTime": "2026-`, `"startedDateTime": "x2026-`, 1),
		"a message type":         strings.Replace(good, `"type": "send"`, `"type": "sent"`, 1),
		"no opcode":              strings.Replace(good, `"opcode"`, `"opcodes"`, 1),
		"not a WebSocket":        strings.Replace(good, `"_resourceType": "websocket"`, `"_resourceType": "xhr"`, 1),
		"a URL with a space":     strings.Replace(good, `"url": "ws://chat.example:7272/"`, `"url": "ws://chat example/"`, 1),
		"a header without value": strings.Replace(good, `"value": "websocket"`, `"valeur": "websocket"`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if errs := validateErr(t, schemas(t), []byte(bad)); errs == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestRandomEvents feeds events made of random bytes, in random order:
// whatever a hostile capture makes the decoder report, the Writer must not
// panic and its file must be valid.
func TestRandomEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(alphabet string, n int) string {
		b := make([]byte, r.IntN(n+1))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.IntN(256))
			} else {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		return string(b)
	}
	const url = "/?=&%:@[]abc%zz%41 #\"\\"
	sch := schemas(t)
	kinds := []decode.Kind{decode.KindOpen, decode.KindMessage, decode.KindMessage, decode.KindMessage,
		decode.KindGap, decode.KindError, decode.KindClose, decode.KindRejected, ""}
	for round := range 500 {
		var out bytes.Buffer
		w := har.NewWriter(&out)
		w.SetMaxHeld(int64(r.IntN(5000)))
		for range 30 {
			e := &decode.Event{Kind: kinds[r.IntN(len(kinds))], ConnID: uint64(r.IntN(4)),
				Time: t0.Add(time.Duration(r.Int64N(1e12) - 5e11)), FromClient: r.IntN(2) == 0,
				Opcode: decode.Opcode(r.IntN(16)), Payload: []byte(pick("ab\xc3\xa9{}", 40)),
				Truncated: r.IntN(3) == 0, PayloadIsText: r.IntN(2) == 0, Length: r.IntN(100),
				Path: pick(url, 12), Host: pick("a.b:[]1%", 10), Midstream: r.IntN(2) == 0,
				Status: r.IntN(600), StatusText: pick("OK \x00", 6)}
			if r.IntN(2) == 0 {
				e.Client, e.Server = client, netip.MustParseAddrPort("[fe80::1%eth0]:80")
			}
			if r.IntN(3) == 0 {
				e.TLS = &tlsdecrypt.Info{Decrypted: r.IntN(2) == 0}
			}
			if r.IntN(2) == 0 {
				h := &decode.Handshake{Method: pick("GET", 4), Target: pick(url, 20), Proto: pick("HTTP/1.", 9),
					Status: r.IntN(1000), RequestSize: r.IntN(100)}
				for range r.IntN(4) {
					h.Request = append(h.Request, decode.Header{Name: pick("HostCookie", 6), Value: pick("a=b; c\"=", 12)})
					h.Response = append(h.Response, decode.Header{Name: pick("Set-Cookie", 10), Value: pick("a=b; Path=/; Secure", 20)})
				}
				e.Handshake = h
			}
			w.Event(e)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := validateErr(t, sch, out.Bytes()); err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, out.String())
		}
	}
}
