// Package filter decides which events a run shows: the --user, --room,
// --type, --grep, --conn, --from, --since and --until of read and live.
//
// It sits after the app stage, where a message's Talk (who said it, to
// whom, where) is known, and only ever drops events: decoding saw them
// all, so a filtered run shows the very lines an unfiltered one shows for
// the messages that pass. A connection's open, gap, error and close
// events are shown when at least one of its messages passes: they are
// held until its first one does (a few per connection), then let through
// before it.
package filter

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatsniff/chatsniff/decode"
)

// Options are the flags' values as given; the zero value lets all through.
type Options struct {
	// Users, Rooms and Types pass a message whose Talk names any of them:
	// a user as its sender (From) or whom it was said to (To), its
	// room, its chat type (a Socket.IO event's name).
	Users, Rooms, Types []string
	// Grep is a regular expression (RE2, Go's regexp) on the message's
	// text after unmasking and inflating, or on its chat line.
	Grep string
	// Conn is a connection: its number as the views print it (3 or #3),
	// or an address, ip:port, of either end.
	Conn string
	// From is "client" or "server": messages that side sent.
	From string
	// Since and Until bound capture times: Since included, Until not.
	// Each is RFC 3339 (2026-12-07T17:50:30Z), a date and time in the
	// capture's time zone (2026-12-07 17:50:30), or a time of day
	// (17:50, 17:50:30.5) on the day of the capture's first event.
	Since, Until string
}

// Limits on what a Filter holds for connections with no message shown yet.
const (
	// maxHeld is the events held per connection: its open and the first
	// gaps and errors. A connection that errs on and on without a message
	// passing would otherwise be held whole.
	maxHeld = 8
	// maxConns bounds the connections tracked; past it the table starts
	// again empty (a connection whose close was never seen stays).
	maxConns = 1 << 17
)

// Filter is one run's filter, with the state of each connection. It is
// not safe for concurrent use: it sees one run's events in order.
type Filter struct {
	users, rooms, types []string
	grep                *matcher
	conn                uint64         // 0: any
	connAddr            netip.AddrPort // invalid: any
	fromClient, fromSet bool
	since, until        bound
	// byMessage is set when some criterion is the messages' own: then a
	// connection's events wait for one of them to pass. --conn alone
	// lets a connection's events through as they come.
	byMessage bool

	conns    map[uint64]*connState
	shown    uint64
	resolved bool // since and until are instants
}

type connState struct {
	shown bool           // a message of it passed
	held  []decode.Event // its events waiting for one to
}

// bound is a --since or --until: an instant, or a time of day resolved
// against the first event's date.
type bound struct {
	set     bool
	t       time.Time
	ofDay   time.Duration // a time of day, when t is zero
	hasDate bool          // a date and time without a zone: in the events' zone
	date    time.Time     // its date and clock, in UTC, when hasDate
}

// New checks the options and returns their filter, or nil when they let
// everything through. An error names the flag at fault.
func New(o Options) (*Filter, error) {
	f := &Filter{conns: make(map[uint64]*connState)}
	var err error
	if f.users, err = list("--user", o.Users); err != nil {
		return nil, err
	}
	if f.rooms, err = list("--room", o.Rooms); err != nil {
		return nil, err
	}
	if f.types, err = list("--type", o.Types); err != nil {
		return nil, err
	}
	if o.Grep != "" {
		if f.grep, err = newMatcher(o.Grep); err != nil {
			return nil, fmt.Errorf("--grep %q: %w", o.Grep, err)
		}
	}
	if o.Conn != "" {
		if err := f.parseConn(o.Conn); err != nil {
			return nil, err
		}
	}
	switch o.From {
	case "":
	case "client":
		f.fromClient, f.fromSet = true, true
	case "server":
		f.fromSet = true
	default:
		return nil, fmt.Errorf("--from %q: want client or server", o.From)
	}
	if f.since, err = parseBound("--since", o.Since); err != nil {
		return nil, err
	}
	if f.until, err = parseBound("--until", o.Until); err != nil {
		return nil, err
	}
	if !f.since.before(f.until) {
		return nil, fmt.Errorf("--until %q: not after --since %q", o.Until, o.Since)
	}
	f.byMessage = f.users != nil || f.rooms != nil || f.types != nil || f.grep != nil ||
		f.fromSet || f.since.set || f.until.set
	if !f.byMessage && f.conn == 0 && !f.connAddr.IsValid() {
		return nil, nil
	}
	return f, nil
}

// list returns the values of a repeatable flag, each also split at
// commas, as --user a,b; an empty value is an error.
func list(flag string, vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				return nil, fmt.Errorf("%s %q: an empty value", flag, v)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *Filter) parseConn(v string) error {
	s := strings.TrimPrefix(v, "#")
	if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > 0 {
		f.conn = n
		return nil
	}
	ap, err := netip.ParseAddrPort(v)
	if err != nil {
		return fmt.Errorf("--conn %q: want a connection's number (3) or an address (10.0.0.1:7272, [::1]:7272)", v)
	}
	// ::ffff:10.0.0.1 is 10.0.0.1, as the events write it.
	f.connAddr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	return nil
}

// The layouts --since and --until take, beside RFC 3339.
var (
	dateLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04"}
	dayLayouts  = []string{"15:04:05.999999999", "15:04"}
)

func parseBound(flag, v string) (bound, error) {
	if v == "" {
		return bound{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return bound{set: true, t: t}, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return bound{set: true, hasDate: true, date: t}, nil
		}
	}
	for _, l := range dayLayouts {
		if t, err := time.Parse(l, v); err == nil {
			d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
				time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
			return bound{set: true, ofDay: d}, nil
		}
	}
	return bound{}, fmt.Errorf("%s %q: not a time: want RFC 3339 (2026-12-07T17:50:30Z), a date and time (2026-12-07 17:50:30) or a time of day (17:50:30)", flag, v)
}

// before reports whether b is before u, when both are set and comparable
// before the capture is read; it is true otherwise.
func (b bound) before(u bound) bool {
	switch {
	case !b.set || !u.set:
		return true
	case !b.t.IsZero() && !u.t.IsZero():
		return b.t.Before(u.t)
	case b.hasDate && u.hasDate:
		return b.date.Before(u.date)
	case b.t.IsZero() && !b.hasDate && u.t.IsZero() && !u.hasDate:
		return b.ofDay < u.ofDay
	}
	return true
}

// resolve fixes a time of day, or a date without a zone, by the first
// event's time: its day, in its zone (the zone the text view prints).
func (b *bound) resolve(first time.Time) {
	switch {
	case !b.set || !b.t.IsZero():
	case b.hasDate:
		d := b.date
		b.t = time.Date(d.Year(), d.Month(), d.Day(), d.Hour(), d.Minute(), d.Second(), d.Nanosecond(), first.Location())
	default:
		y, m, d := first.Date()
		b.t = time.Date(y, m, d, 0, 0, 0, 0, first.Location()).Add(b.ofDay)
	}
}

// Shown is the number of messages that passed so far.
func (f *Filter) Shown() uint64 { return f.shown }

// Event hands emit the events to show now for e: none, e, or e after
// the events of its connection held until a message of it passed. The
// events handed to emit are valid during the call only.
func (f *Filter) Event(e *decode.Event, emit func(*decode.Event)) {
	if !f.resolved {
		// Times of day are on the first event's day, whatever passes.
		f.resolved = true
		f.since.resolve(e.Time)
		f.until.resolve(e.Time)
	}
	if !f.connPasses(e) {
		return
	}
	if !f.byMessage {
		if e.Kind == decode.KindMessage {
			f.shown++
		}
		emit(e)
		return
	}
	cs := f.conns[e.ConnID]
	switch e.Kind {
	case decode.KindMessage:
		if !f.messagePasses(e) {
			return
		}
		f.shown++
		if cs == nil {
			cs = f.state(e.ConnID)
		}
		if !cs.shown {
			cs.shown = true
			for i := range cs.held {
				emit(&cs.held[i])
			}
			cs.held = nil
		}
		emit(e)
	case decode.KindClose:
		if cs != nil && cs.shown {
			emit(e)
		}
		delete(f.conns, e.ConnID)
	default: // open, rejected, gap, error
		if cs == nil {
			cs = f.state(e.ConnID)
		}
		switch {
		case cs.shown:
			emit(e)
		case len(cs.held) < maxHeld:
			h := *e
			// Only messages have bytes, and they are never held.
			h.Payload, h.Chat = nil, nil
			cs.held = append(cs.held, h)
		}
	}
}

func (f *Filter) state(id uint64) *connState {
	if len(f.conns) >= maxConns {
		clear(f.conns)
	}
	cs := &connState{}
	f.conns[id] = cs
	return cs
}

// connPasses reports whether e's connection is the one --conn names.
func (f *Filter) connPasses(e *decode.Event) bool {
	switch {
	case f.conn != 0:
		return e.ConnID == f.conn
	case f.connAddr.IsValid():
		return addrIs(e.Client, f.connAddr) || addrIs(e.Server, f.connAddr)
	}
	return true
}

func addrIs(a, want netip.AddrPort) bool {
	return a.Port() == want.Port() && a.Addr().Unmap() == want.Addr()
}

// messagePasses applies the message criteria, cheapest first.
func (f *Filter) messagePasses(e *decode.Event) bool {
	if f.fromSet && e.FromClient != f.fromClient {
		return false
	}
	if f.since.set && e.Time.Before(f.since.t) || f.until.set && !e.Time.Before(f.until.t) {
		return false
	}
	t := &e.Talk
	if f.types != nil && !slices.Contains(f.types, t.Type) {
		return false
	}
	if f.rooms != nil && !slices.Contains(f.rooms, t.Room) {
		return false
	}
	if f.users != nil && !(t.From != "" && slices.Contains(f.users, t.From) || t.To != "" && slices.Contains(f.users, t.To)) {
		return false
	}
	if f.grep != nil && !f.grep.match(e.Payload) && (e.ChatLine == "" || !f.grep.matchString(e.ChatLine)) {
		return false
	}
	return true
}

// NeedsTalk reports whether the filter reads messages' Talk, which the
// chat layer fills in with the lines (--user, --room, --type), or their
// lines (--grep): the run must then make them even when its output
// prints none (NDJSON).
func (f *Filter) NeedsTalk() bool {
	return f != nil && (f.users != nil || f.rooms != nil || f.types != nil || f.grep != nil)
}
