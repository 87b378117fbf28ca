package stats

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

var (
	t0      = time.Date(2026, 12, 7, 8, 36, 58, 0, time.UTC)
	server  = netip.MustParseAddrPort("127.0.0.1:7272")
	server2 = netip.MustParseAddrPort("127.0.0.1:8080")
)

func client(id uint64) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(40000+id))
}

// at is a time ms milliseconds into the capture.
func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

func open(id uint64, ms float64) decode.Event {
	return decode.Event{Kind: decode.KindOpen, ConnID: id, Client: client(id), Server: server, Time: at(ms)}
}

// up is a client → server text message, with its Talk.From.
func up(id uint64, ms float64, payload, from string) decode.Event {
	return decode.Event{Kind: decode.KindMessage, ConnID: id, Client: client(id), Server: server, Time: at(ms),
		FromClient: true, Opcode: decode.OpText, Length: len(payload), Payload: []byte(payload),
		Talk: decode.Talk{Type: "say", From: from}}
}

// down is a server → client text message.
func down(id uint64, ms float64, payload string) decode.Event {
	return decode.Event{Kind: decode.KindMessage, ConnID: id, Client: client(id), Server: server, Time: at(ms),
		Opcode: decode.OpText, Length: len(payload), Payload: []byte(payload)}
}

func kind(k decode.Kind, id uint64, ms float64) decode.Event {
	return decode.Event{Kind: k, ConnID: id, Client: client(id), Server: server, Time: at(ms)}
}

func collect(events ...decode.Event) *Collector {
	c := New()
	for i := range events {
		c.Event(&events[i])
		// Events are valid only during the call: whatever the
		// Collector kept must not point into them.
		for j := range events[i].Payload {
			events[i].Payload[j] = 'X'
		}
	}
	return c
}

func TestTotalsAndConns(t *testing.T) {
	tlsOpen := open(3, 5)
	tlsOpen.TLS = &tlsdecrypt.Info{Decrypted: false}
	poll := open(4, 6)
	poll.Polling = true
	c := collect(
		open(1, 0),
		up(1, 10, `{"type":"login","name":"alice"}`, "alice"),
		down(1, 11, "0123456789"),
		open(2, 20),
		up(2, 30, "ping", ""), // no name: not chat, no user
		up(2, 31, "hi", "bob"),
		up(2, 32, "hi again", "bobby"), // the first name stays
		kind(decode.KindGap, 2, 40),
		kind(decode.KindError, 2, 41),
		kind(decode.KindError, 2, 42),
		tlsOpen,
		poll,
		kind(decode.KindRejected, 5, 50),
		kind(decode.KindClose, 1, 100),
	)
	r := c.Report()
	want := Totals{
		Connections: 5, WebSockets: 2, Users: 2,
		ClientToServer: Flow{4, uint64(len(`{"type":"login","name":"alice"}`) + 4 + 2 + 8)},
		ServerToClient: Flow{1, 10},
		First:          Time{at(10)}, Last: Time{at(32)}, Duration: 22 * time.Millisecond,
		Gaps: 1, Errors: 2, Rejected: 1,
	}
	if r.Totals != want {
		t.Errorf("totals:\n got %+v\nwant %+v", r.Totals, want)
	}
	conns := []Conn{
		{ID: 1, Client: client(1), Server: server, User: "alice", WebSocket: true,
			ClientToServer: Flow{1, 31}, ServerToClient: Flow{1, 10}, Chat: 1,
			First: Time{at(0)}, Last: Time{at(100)}, Closed: true},
		{ID: 2, Client: client(2), Server: server, User: "bob", WebSocket: true,
			ClientToServer: Flow{3, 14}, Chat: 2,
			First: Time{at(20)}, Last: Time{at(42)}, Gaps: 1, Errors: 2},
		{ID: 3, Client: client(3), Server: server, First: Time{at(5)}, Last: Time{at(5)}},
		{ID: 4, Client: client(4), Server: server, First: Time{at(6)}, Last: Time{at(6)}},
		{ID: 5, Client: client(5), Server: server, First: Time{at(50)}, Last: Time{at(50)}},
	}
	if !reflect.DeepEqual(r.Connections, conns) {
		t.Errorf("connections:\n got %+v\nwant %+v", r.Connections, conns)
	}
}

func TestUsers(t *testing.T) {
	c := collect(
		// alice on two connections, bob on one, conn 4 never named.
		up(1, 0, "login", "alice"),
		down(1, 1, "welcome alice"),
		up(2, 10, "login", "bob"),
		up(3, 20, "login", "alice"),
		down(3, 21, "welcome alice"),
		up(3, 30, "ping", ""),
		up(4, 40, "ping", ""),
		// A server line about alice on bob's connection is bob's.
		down(2, 50, "alice: hi"),
	)
	want := []User{
		{Name: "alice", Connections: 2, Sent: Flow{3, 5 + 5 + 4}, Received: Flow{2, 26}, Chat: 2,
			First: Time{at(0)}, Last: Time{at(30)}},
		{Name: "bob", Connections: 1, Sent: Flow{1, 5}, Received: Flow{1, 9}, Chat: 1,
			First: Time{at(10)}, Last: Time{at(50)}},
	}
	if got := c.Report().Users; !reflect.DeepEqual(got, want) {
		t.Errorf("users:\n got %+v\nwant %+v", got, want)
	}
}

func TestFanout(t *testing.T) {
	hb := down(2, 1, "pong")
	hb.Heartbeat = true
	ping := down(3, 1, "")
	ping.Opcode = decode.OpPing
	other := down(3, 2, "hi")
	other.Server = server2
	trunc := down(3, 3, "hi")
	trunc.Length = 1000 // the same first bytes, a different message
	tests := []struct {
		name   string
		events []decode.Event
		want   []Fanout // Window and Server filled in when zero
	}{
		{"one broadcast", []decode.Event{
			down(1, 0, "hi"), down(2, 0.2, "hi"), down(3, 0.5, "hi"),
		}, []Fanout{{Messages: 3, Broadcasts: 1, Copies: 3, CopiesMean: 3, CopiesMax: 3,
			SpreadP50: 500 * time.Microsecond, SpreadP99: 500 * time.Microsecond, SpreadMax: 500 * time.Microsecond}}},
		{"unicasts", []decode.Event{
			down(1, 0, "welcome 1"), down(2, 0, "welcome 2"),
		}, []Fanout{{Messages: 2, Unicasts: 2}}},
		{"window boundary", []decode.Event{
			// The window counts from the group's first copy: 1 s
			// after it still joins, later begins a new group.
			down(1, 0, "hi"), down(2, 500, "hi"), down(3, 1000, "hi"), down(4, 1000.001, "hi"), down(5, 1100, "hi"),
		}, []Fanout{{Messages: 5, Broadcasts: 2, Copies: 5, CopiesMean: 2.5, CopiesMax: 3,
			SpreadP50: 100 * time.Millisecond, SpreadP99: 1000 * time.Millisecond, SpreadMax: 1000 * time.Millisecond}}},
		{"evicted as time passes", []decode.Event{
			// Another payload's time evicts the group: its late
			// copy is a unicast.
			down(1, 0, "hi"), down(2, 1, "hi"), down(3, 3000, "other"), down(3, 3001, "hi"),
		}, []Fanout{{Messages: 4, Unicasts: 2, Broadcasts: 1, Copies: 2, CopiesMean: 2, CopiesMax: 2,
			SpreadP50: time.Millisecond, SpreadP99: time.Millisecond, SpreadMax: time.Millisecond}}},
		{"time steps back", []decode.Event{
			// Capture times may step back (segments held for
			// reassembly): the spread is earliest to latest copy.
			down(1, 100, "hi"), down(2, 99.5, "hi"),
		}, []Fanout{{Messages: 2, Broadcasts: 1, Copies: 2, CopiesMean: 2, CopiesMax: 2,
			SpreadP50: 500 * time.Microsecond, SpreadP99: 500 * time.Microsecond, SpreadMax: 500 * time.Microsecond}}},
		{"same connection twice", []decode.Event{
			// A second copy on one connection is a second sending:
			// two broadcasts of two, not one of four.
			down(1, 0, "hi"), down(2, 0, "hi"), down(1, 10, "hi"), down(2, 10, "hi"),
		}, []Fanout{{Messages: 4, Broadcasts: 2, Copies: 4, CopiesMean: 2, CopiesMax: 2}}},
		{"heartbeats, control frames and client messages left out", []decode.Event{
			down(1, 0, "pong"), hb, ping, up(4, 1, "pong", ""),
		}, []Fanout{{Messages: 1, Unicasts: 1}}},
		{"servers apart, lengths apart", []decode.Event{
			down(1, 0, "hi"), other, trunc,
		}, []Fanout{{Messages: 2, Unicasts: 2}, {Server: server2, Messages: 1, Unicasts: 1}}},
		{"big broadcast", func() []decode.Event {
			var evs []decode.Event
			for id := uint64(1); id <= 100; id++ {
				evs = append(evs, down(id, float64(id)/100, "hi all"))
			}
			return append(evs, down(50, 2, "hi all")) // a repeat, past the set's scan
		}(), []Fanout{{Messages: 101, Broadcasts: 1, Copies: 100, Unicasts: 1, CopiesMean: 100, CopiesMax: 100,
			SpreadP50: 0.99 * 1e6, SpreadP99: 0.99 * 1e6, SpreadMax: 0.99 * 1e6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(tt.events...).Report().Fanout
			for i := range tt.want {
				w := &tt.want[i]
				w.Window = FanoutWindow
				if !w.Server.IsValid() {
					w.Server = server
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			for i, g := range got {
				w := tt.want[i]
				// Percentiles come from a histogram, within 1/32.
				for _, p := range []*[2]time.Duration{{g.SpreadP50, w.SpreadP50}, {g.SpreadP99, w.SpreadP99}} {
					if d := p[0] - p[1]; d < -p[1]/32 || d > p[1]/32 {
						t.Errorf("spread percentile %v, want %v", p[0], p[1])
					}
				}
				g.SpreadP50, g.SpreadP99, w.SpreadP50, w.SpreadP99 = 0, 0, 0, 0
				if g != w {
					t.Errorf("fan-out:\n got %+v\nwant %+v", g, w)
				}
				if g.Messages != g.Unicasts+g.Copies {
					t.Errorf("messages %d != unicasts %d + copies %d", g.Messages, g.Unicasts, g.Copies)
				}
			}
		})
	}
}

// TestFanoutBounded feeds a million messages over a long capture and
// checks that the fan-out state stays the size of one window's groups.
func TestFanoutBounded(t *testing.T) {
	const (
		n     = 1_000_000
		conns = 10
		step  = 100 * time.Microsecond // 10,000 messages a window
	)
	c := New()
	payload := make([]byte, 8)
	e := decode.Event{Kind: decode.KindMessage, Server: server, Opcode: decode.OpText, Length: len(payload), Payload: payload}
	maxLive := 0
	for i := range n {
		// Each payload goes to every connection: a broadcast of conns.
		copy(payload, fmt.Sprintf("%08d", i/conns))
		e.ConnID = uint64(i%conns + 1)
		e.Time = t0.Add(time.Duration(i) * step)
		c.Event(&e)
		maxLive = max(maxLive, c.fan.live())
	}
	const perWindow = int(FanoutWindow / step / conns)
	if maxLive > perWindow+2 || len(c.fan.open) > perWindow+2 {
		t.Errorf("%d groups live at most, %d open at the end; want about %d", maxLive, len(c.fan.open), perWindow)
	}
	if cap(c.fan.queue) > 4*perWindow || len(c.fan.free) > 2*perWindow {
		t.Errorf("queue capacity %d, %d free groups; want about %d", cap(c.fan.queue), len(c.fan.free), perWindow)
	}
	f := c.Report().Fanout[0]
	if f.Broadcasts != n/conns || f.CopiesMax != conns || f.Unicasts != 0 {
		t.Errorf("fan-out %+v, want %d broadcasts of %d", f, n/conns, conns)
	}
}

// TestFanoutCut: with a clock that stands still nothing is ever past its
// window, and the groups are held to maxGroups.
func TestFanoutCut(t *testing.T) {
	const n = maxGroups + 1000
	c := New()
	payload := make([]byte, 8)
	e := decode.Event{Kind: decode.KindMessage, ConnID: 1, Server: server, Opcode: decode.OpText, Length: len(payload), Payload: payload, Time: t0}
	for i := range n {
		copy(payload, fmt.Sprintf("%08d", i))
		c.Event(&e)
	}
	if c.fan.live() > maxGroups {
		t.Errorf("%d groups live, limit %d", c.fan.live(), maxGroups)
	}
	f := c.Report().Fanout[0]
	if f.Cut != n-maxGroups || f.Unicasts != n {
		t.Errorf("fan-out %+v, want %d cut, %d unicasts", f, n-maxGroups, n)
	}
}

func TestHist(t *testing.T) {
	var h hist
	for v := uint64(1); v <= 1000; v++ {
		h.add(v * 1000)
	}
	for _, q := range []struct {
		q    float64
		want uint64
	}{{0.5, 500_000}, {0.99, 990_000}, {1, 1_000_000}, {0.001, 1000}} {
		got := h.quantile(q.q)
		if d := int64(got) - int64(q.want); d < -int64(q.want)/32 || d > int64(q.want)/32 {
			t.Errorf("quantile %v = %d, want %d", q.q, got, q.want)
		}
	}
	if h.max != 1_000_000 {
		t.Errorf("max %d", h.max)
	}
	// Small values are exact, and every value lands in its bucket.
	for _, v := range []uint64{0, 1, 15, 16, 31, 32, 1 << 40, 1<<64 - 1} {
		i := bucket(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucket(%d) = %d", v, i)
		}
		if v < 32 && bucketMid(i) != v {
			t.Errorf("bucketMid(bucket(%d)) = %d", v, bucketMid(i))
		}
	}
	var empty hist
	if empty.quantile(0.5) != 0 {
		t.Error("empty quantile not 0")
	}
}

func TestEscapedNames(t *testing.T) {
	c := collect(up(1, 0, "login", "\x1b[2Jevil\u202egnp.exe"), up(2, 0, "login", strings.Repeat("é", 100)))
	var text bytes.Buffer
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text.String(), "\x1b\u202e") {
		t.Errorf("raw escape in the table:\n%q", text.String())
	}
	if !strings.Contains(text.String(), `\x1b[2Jevil\u202egnp.exe`) {
		t.Errorf("escaped name missing:\n%s", text.String())
	}
	if !strings.Contains(text.String(), strings.Repeat("é", nameCut-1)+"…") {
		t.Errorf("long name not cut:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := c.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(js.String(), "\x1b\u202e") || strings.Count(js.String(), "\n") != 1 {
		t.Errorf("JSON not one escaped line: %q", js.String())
	}
	var r Report
	if err := json.Unmarshal(js.Bytes(), &struct {
		Users *[]User `json:"users"`
	}{&r.Users}); err != nil {
		t.Fatal(err)
	}
	if r.Users[0].Name != "\x1b[2Jevil\u202egnp.exe" {
		t.Errorf("JSON name %q", r.Users[0].Name)
	}
	// A name from the wire is kept to maxName bytes.
	long := collect(up(1, 0, "login", strings.Repeat("é", maxName)))
	if n := len(long.Report().Users[0].Name); n > maxName {
		t.Errorf("kept %d bytes of a name", n)
	}
}

func TestReportChangesNothing(t *testing.T) {
	c := collect(down(1, 0, "hi"), down(2, 1, "hi"))
	a := c.Report()
	b := c.Report()
	if !reflect.DeepEqual(a, b) {
		t.Errorf("second report differs:\n%+v\n%+v", a, b)
	}
	// The open group goes on after a report.
	e := down(3, 2, "hi")
	c.Event(&e)
	if f := c.Report().Fanout[0]; f.Broadcasts != 1 || f.Copies != 3 {
		t.Errorf("after a report: %+v", f)
	}
}

func TestEmpty(t *testing.T) {
	c := New()
	var js, text bytes.Buffer
	if err := c.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	want := `{"totals":{"connections":0,"websockets":0,"users":0,"client_to_server":{"messages":0,"bytes":0},"server_to_client":{"messages":0,"bytes":0},"first":null,"last":null,"duration_ns":0,"gaps":0,"errors":0,"rejected":0},"connections":[],"users":[],"fanout":[]}` + "\n"
	if js.String() != want {
		t.Errorf("got  %s\nwant %s", js.String(), want)
	}
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text.String(), "no messages\n") {
		t.Errorf("text: %q", text.String())
	}
}

func TestFormats(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{size(0), "0 B"}, {size(1023), "1023 B"}, {size(1024), "1.0 KiB"}, {size(1229), "1.2 KiB"},
		{size(5 << 20), "5.0 MiB"}, {size(3 << 30), "3.0 GiB"}, {size(1 << 50), "1024.0 TiB"},
		{duration(0), "0ns"}, {duration(850), "850ns"}, {duration(12500), "12.5µs"},
		{duration(3200 * time.Microsecond), "3.2ms"}, {duration(1250 * time.Millisecond), "1.25s"}, {duration(2 * time.Second), "2s"},
		{clock(Time{}), "-"}, {clock(Time{at(917.936)}), "08:36:58.917936"},
		{name(""), "-"}, {name("mynick"), "mynick"}, {name("猪猪"), "猪猪"}, {name("a\tb"), `a\tb`},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestTable(t *testing.T) {
	var tb table
	tb.row("USER", "CONNS")
	tb.row("猪猪", "1")
	tb.row("e\u0301ve", "2") // a combining accent takes no column
	tb.row("mynick", "3")
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	tb.write(w)
	w.Flush()
	want := "USER    CONNS\n猪猪    1\neve     2\nmynick  3\n"
	want = strings.Replace(want, "eve ", "e\u0301ve ", 1)
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// BenchmarkEvent counts message events: a broadcast of 10 copies, then
// the next, as a chat server's traffic mostly is.
func BenchmarkEvent(b *testing.B) {
	c := New()
	payload := []byte(`{"type":"say","from_client_id":"7f00000108fc00000001","from_client_name":"bot-3","to_client_id":"all","content":"hello 00000000","time":"2026-12-07 08:36:58"}`)
	e := decode.Event{Kind: decode.KindMessage, Server: server, Opcode: decode.OpText, Length: len(payload), Payload: payload}
	pos := bytes.Index(payload, []byte("hello ")) + len("hello ") + 7
	for i := range 10 {
		o := open(uint64(i+1), 0)
		c.Event(&o)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// "hello NNNNNNNN": one payload per broadcast.
		for j, v := pos, i/10; j > pos-8; j, v = j-1, v/10 {
			payload[j] = byte('0' + v%10)
		}
		e.ConnID = uint64(i%10 + 1)
		e.Time = t0.Add(time.Duration(i) * 10 * time.Microsecond)
		c.Event(&e)
	}
}
