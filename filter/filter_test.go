package filter

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/decode"
)

var (
	zone    = time.FixedZone("CET", 3600) // the zone the capture's times are read in
	t0      = time.Date(2026, 12, 7, 17, 50, 0, 0, zone)
	client1 = netip.MustParseAddrPort("10.0.0.1:40000")
	client2 = netip.MustParseAddrPort("10.0.0.2:40001")
	server  = netip.MustParseAddrPort("10.0.0.9:7272")
)

// ev is an event of connection conn at t0+sec seconds.
func ev(conn uint64, k decode.Kind, sec float64) decode.Event {
	c := client1
	if conn == 2 {
		c = client2
	}
	return decode.Event{Kind: k, ConnID: conn, Client: c, Server: server, Time: t0.Add(time.Duration(sec * float64(time.Second)))}
}

// say is a message: who said what to whom in which room, which side sent it.
func say(conn uint64, sec float64, fromClient bool, typ, from, to, room, text string) decode.Event {
	e := ev(conn, decode.KindMessage, sec)
	e.FromClient, e.Opcode, e.Payload, e.PayloadIsText = fromClient, decode.OpText, []byte(text), true
	e.Talk = decode.Talk{Type: typ, From: from, To: to, Room: room}
	if typ != "" {
		e.ChatLine = from + " → " + to + ": " + text
	}
	return e
}

// capture is two connections' events: #1 alice's, #2 bob's, in room 1.
func capture() []decode.Event {
	gap := ev(1, decode.KindGap, 0.5)
	gap.Bytes = 10
	e2 := ev(2, decode.KindError, 0.6)
	e2.Err = "bad frame"
	return []decode.Event{
		ev(1, decode.KindOpen, 0),
		say(1, 0.1, true, "login", "alice", "", "1", `{"type":"login","client_name":"alice"}`),
		ev(2, decode.KindOpen, 0.2),
		say(2, 0.3, true, "login", "bob", "", "1", `{"type":"login","client_name":"bob"}`),
		gap,
		e2,
		say(1, 1, true, "say", "alice", "all", "1", `{"content":"hi, all !"}`),
		say(2, 1.1, false, "say", "alice", "all", "1", `{"content":"hi, all !"}`),
		say(2, 2, true, "say", "bob", "alice", "1", `{"content":"psst \u00e9"}`),
		say(1, 2.1, false, "say", "bob", "alice", "1", `{"content":"psst \u00e9"}`),
		say(1, 3, false, "ping", "", "", "1", `{"type":"ping"}`),
		ev(1, decode.KindClose, 4),
		ev(2, decode.KindClose, 5),
	}
}

// describe is an event in a few words, for comparing runs.
func describe(e *decode.Event) string {
	if e.Kind == decode.KindMessage {
		return fmt.Sprintf("#%d %s", e.ConnID, e.Payload)
	}
	return fmt.Sprintf("#%d %s", e.ConnID, e.Kind)
}

func run(t *testing.T, f *Filter, events []decode.Event) []string {
	t.Helper()
	var got []string
	for i := range events {
		f.Event(&events[i], func(e *decode.Event) { got = append(got, describe(e)) })
	}
	return got
}

func TestFilter(t *testing.T) {
	const (
		open1  = "#1 open"
		open2  = "#2 open"
		close1 = "#1 close"
		close2 = "#2 close"
		gap1   = "#1 gap"
		err2   = "#2 error"
		login1 = `#1 {"type":"login","client_name":"alice"}`
		login2 = `#2 {"type":"login","client_name":"bob"}`
		hi1    = `#1 {"content":"hi, all !"}`
		hi2    = `#2 {"content":"hi, all !"}`
		psst2  = `#2 {"content":"psst \u00e9"}`
		psst1  = `#1 {"content":"psst \u00e9"}`
		ping1  = `#1 {"type":"ping"}`
	)
	tests := []struct {
		name string
		o    Options
		want []string
	}{
		{"user: said by, to, about", Options{Users: []string{"bob"}},
			[]string{open2, login2, err2, psst2, open1, gap1, psst1, close1, close2}},
		{"user: any of several", Options{Users: []string{"nobody,alice"}},
			[]string{open1, login1, gap1, hi1, open2, err2, hi2, psst2, psst1, close1, close2}},
		{"type", Options{Types: []string{"login"}},
			[]string{open1, login1, open2, login2, gap1, err2, close1, close2}},
		{"room and type", Options{Rooms: []string{"1"}, Types: []string{"ping"}},
			[]string{open1, gap1, ping1, close1}},
		{"room not there", Options{Rooms: []string{"2"}}, nil},
		{"grep on the payload", Options{Grep: `hi, all`},
			[]string{open1, gap1, hi1, open2, err2, hi2, close1, close2}},
		{"grep on the chat line", Options{Grep: `^bob → alice`},
			[]string{open2, err2, psst2, open1, gap1, psst1, close1, close2}},
		{"conn alone: everything of it, as it comes", Options{Conn: "2"},
			[]string{open2, login2, err2, hi2, psst2, close2}},
		{"conn by number with #", Options{Conn: "#1", From: "server"},
			[]string{open1, gap1, psst1, ping1, close1}},
		{"conn by address", Options{Conn: "10.0.0.2:40001"},
			[]string{open2, login2, err2, hi2, psst2, close2}},
		{"conn by a v4-mapped address", Options{Conn: "[::ffff:10.0.0.1]:40000", Types: []string{"say"}},
			[]string{open1, gap1, hi1, psst1, close1}},
		{"conn by the server's address: all of its", Options{Conn: "10.0.0.9:7272", From: "client", Types: []string{"say"}},
			[]string{open1, gap1, hi1, open2, err2, psst2, close1, close2}},
		{"from client", Options{From: "client", Users: []string{"alice"}},
			[]string{open1, login1, gap1, hi1, open2, err2, psst2, close1, close2}},
		{"since and until, times of day: until excluded", Options{Since: "17:50:01", Until: "17:50:02"},
			[]string{open1, gap1, hi1, open2, err2, hi2, close1, close2}},
		{"since, RFC 3339", Options{Since: "2026-12-07T16:50:02.1Z"},
			[]string{open1, gap1, psst1, ping1, close1}},
		{"until, a date and time in the capture's zone", Options{Until: "2026-12-07 17:50:00.2"},
			[]string{open1, login1, gap1, close1}},
		{"AND of all", Options{Users: []string{"alice"}, Types: []string{"say"}, From: "server", Grep: "psst", Rooms: []string{"1"}, Since: "17:50"},
			[]string{open1, gap1, psst1, close1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, f, capture())
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			msgs := 0
			for _, w := range tc.want {
				if strings.Contains(w, "{") {
					msgs++
				}
			}
			if f.Shown() != uint64(msgs) {
				t.Errorf("Shown %d, want %d", f.Shown(), msgs)
			}
		})
	}
}

// TestNoFilter: options that filter nothing make no filter.
func TestNoFilter(t *testing.T) {
	f, err := New(Options{})
	if f != nil || err != nil {
		t.Fatalf("New(zero) = %v, %v; want nil, nil", f, err)
	}
	if f.NeedsTalk() {
		t.Error("a nil filter needs Talk")
	}
}

// TestBadValues: each bad value is one error that names its flag.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		flag string
	}{
		{Options{Grep: "(unclosed"}, "--grep"},
		{Options{Since: "25:00"}, "--since"},
		{Options{Until: "yesterday"}, "--until"},
		{Options{Since: "17:51", Until: "17:50"}, "--until"},
		{Options{Since: "2026-12-07T17:51:00Z", Until: "2026-12-07T17:50:00Z"}, "--until"},
		{Options{Conn: "0"}, "--conn"},
		{Options{Conn: "10.0.0.1"}, "--conn"},
		{Options{Conn: "x:y"}, "--conn"},
		{Options{From: "both"}, "--from"},
		{Options{Users: []string{"a,,b"}}, "--user"},
		{Options{Rooms: []string{""}}, "--room"},
		{Options{Types: []string{" "}}, "--type"},
	} {
		_, err := New(tc.o)
		if err == nil {
			t.Errorf("%+v: no error", tc.o)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, tc.flag+" ") || strings.Contains(msg, "\n") {
			t.Errorf("%+v: error %q, want one line starting %q", tc.o, msg, tc.flag)
		}
	}
}

// TestHeldBounded: a connection that errs on and on before any message
// passes holds only its first few events, and a connection that ends
// with none passing leaves nothing behind.
func TestHeldBounded(t *testing.T) {
	f, err := New(Options{Users: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	events := []decode.Event{ev(1, decode.KindOpen, 0)}
	for i := range 1000 {
		e := ev(1, decode.KindError, float64(i)/1000)
		e.Err = fmt.Sprint("error ", i)
		events = append(events, e)
	}
	events = append(events, say(1, 2, true, "say", "alice", "all", "", "hi"))
	got := run(t, f, events)
	if len(got) != maxHeld+1 || got[0] != "#1 open" || got[maxHeld] != "#1 hi" {
		t.Fatalf("released %d events (%q ... %q), want the first %d held and the message", len(got), got[0], got[len(got)-1], maxHeld)
	}
	f.Event(&[]decode.Event{ev(1, decode.KindClose, 3)}[0], func(*decode.Event) {})
	for id := range uint64(5000) {
		for _, e := range []decode.Event{ev(id+2, decode.KindOpen, 4), ev(id+2, decode.KindClose, 5)} {
			f.Event(&e, func(e *decode.Event) { t.Fatalf("%s shown", describe(e)) })
		}
	}
	if len(f.conns) != 0 {
		t.Errorf("%d connections still tracked after their close", len(f.conns))
	}
}

// TestHeldCopies: a held event is a copy, safe from the caller reusing
// its Event (as the decoder does).
func TestHeldCopies(t *testing.T) {
	f, err := New(Options{Types: []string{"say"}})
	if err != nil {
		t.Fatal(err)
	}
	shared := ev(1, decode.KindError, 0)
	shared.Err = "first"
	f.Event(&shared, func(*decode.Event) { t.Fatal("held event shown early") })
	shared = say(1, 1, true, "say", "a", "all", "", "hi")
	var errs []string
	f.Event(&shared, func(e *decode.Event) {
		if e.Kind == decode.KindError {
			errs = append(errs, e.Err)
		}
	})
	if len(errs) != 1 || errs[0] != "first" {
		t.Errorf("released errors %q, want [first]", errs)
	}
}

// FuzzNew: any flag values give a filter or a one-line error naming a
// flag, never a panic; a filter then takes events.
func FuzzNew(f *testing.F) {
	f.Add("alice", "1", "say", "hi.*", "3", "client", "17:50", "2026-12-07T17:51:00Z")
	f.Add("", "", "", "(", "[::1]:7272", "server", "2026-12-07 17:50:30.5", "17:50:30.123456789")
	f.Fuzz(func(t *testing.T, user, room, typ, grep, conn, from, since, until string) {
		o := Options{Grep: grep, Conn: conn, From: from, Since: since, Until: until}
		for _, v := range []struct {
			dst *[]string
			s   string
		}{{&o.Users, user}, {&o.Rooms, room}, {&o.Types, typ}} {
			if v.s != "" {
				*v.dst = []string{v.s}
			}
		}
		flt, err := New(o)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "--") {
				t.Fatalf("error %q does not name its flag", msg)
			}
			return
		}
		if flt == nil {
			return
		}
		for _, e := range capture() {
			flt.Event(&e, func(*decode.Event) {})
		}
	})
}
