package stats

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/chatsniff/chatsniff/render"
)

// Report is a Collector's figures; its JSON encoding is the --stats --json
// object. Counts are of events as the pipeline delivered them, after the
// app stage (a long-polling body is one message per Engine.IO packet, as
// in sniff.Summary); bytes are payload bytes after unmasking and
// inflating (Event.Length), not bytes on the wire.
type Report struct {
	Totals      Totals   `json:"totals"`
	Connections []Conn   `json:"connections"` // by ID
	Users       []User   `json:"users"`       // by name
	Fanout      []Fanout `json:"fanout"`      // one per server that sent data messages, by address
}

// Flow is messages and their payload bytes in one direction.
type Flow struct {
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// Totals are the capture's figures.
type Totals struct {
	Connections int `json:"connections"` // connections with an event (not those never decoded)
	WebSockets  int `json:"websockets"`  // of them, opened as WebSocket (upgrade or midstream; not polling nor undecrypted TLS)
	Users       int `json:"users"`       // distinct names connections logged in as

	ClientToServer Flow `json:"client_to_server"`
	ServerToClient Flow `json:"server_to_client"`
	// First and Last are the times of the first and last message;
	// Duration is between them.
	First    Time          `json:"first"`
	Last     Time          `json:"last"`
	Duration time.Duration `json:"duration_ns"`

	Gaps     uint64 `json:"gaps"`
	Errors   uint64 `json:"errors"`   // error events (not those past a connection's cap)
	Rejected uint64 `json:"rejected"` // upgrades refused by the server
}

// Conn is one connection's figures.
type Conn struct {
	ID     uint64         `json:"id"`
	Client netip.AddrPort `json:"client"`
	Server netip.AddrPort `json:"server"`
	// User is the name the connection's client logged in as: the first
	// Talk.From of its client → server messages; empty when never said.
	User      string `json:"user,omitempty"`
	WebSocket bool   `json:"websocket"`

	ClientToServer Flow `json:"client_to_server"`
	ServerToClient Flow `json:"server_to_client"`
	// Chat counts the client → server messages the app stage read as
	// someone's chat (Talk.From set: logins, says, logouts, emits).
	Chat uint64 `json:"chat"`
	// First and Last are the times of its first and last event of any
	// kind (open to close).
	First  Time   `json:"first"`
	Last   Time   `json:"last"`
	Gaps   uint64 `json:"gaps"`
	Errors uint64 `json:"errors"`
	Closed bool   `json:"closed"` // its close event was seen (FIN, RST or idle end)
}

// User is the figures of the connections that logged in as one name
// (Conn.User), added up: a user who reconnects, or has two tabs open, is
// one row. Names are matched exactly, across servers.
type User struct {
	Name        string `json:"name"`
	Connections int    `json:"connections"`
	// Sent is what the user's clients sent (client → server on their
	// connections, logins and heartbeats included); Received what
	// their server sent them (server → client: their own lines echoed,
	// others' broadcasts, user lists).
	Sent     Flow   `json:"sent"`
	Received Flow   `json:"received"`
	Chat     uint64 `json:"chat"` // of Sent, the messages read as chat (Conn.Chat)
	First    Time   `json:"first"`
	Last     Time   `json:"last"`
}

// Fanout is one server's fan-out: its server → client data messages (text
// and binary, heartbeats and control frames left out), each counted in one
// group of identical payloads sent to different connections within Window
// of the group's first copy (FanoutWindow). A group of two or more copies
// is a broadcast, a group of one a unicast, so Messages = Unicasts +
// Copies.
type Fanout struct {
	Server   netip.AddrPort `json:"server"`
	Window   time.Duration  `json:"window_ns"`
	Messages uint64         `json:"messages"`
	Unicasts uint64         `json:"unicasts"`
	// Broadcasts are the groups of two copies or more, Copies their
	// copies in all, CopiesMean and CopiesMax copies per broadcast.
	Broadcasts uint64  `json:"broadcasts"`
	Copies     uint64  `json:"copies"`
	CopiesMean float64 `json:"copies_mean"`
	CopiesMax  uint64  `json:"copies_max"`
	// The spread of a broadcast is the capture time from its first copy
	// to its last. Its percentiles are read from a log-linear histogram,
	// within about 3%; the maximum is exact.
	SpreadP50 time.Duration `json:"spread_p50_ns"`
	SpreadP99 time.Duration `json:"spread_p99_ns"`
	SpreadMax time.Duration `json:"spread_max_ns"`
	// Cut counts the groups finished before their window had passed,
	// because more than 65,536 were open at once; absent when none. A
	// late copy of one counts as a group of its own, so with cuts the
	// broadcasts' copies are a lower bound.
	Cut uint64 `json:"cut,omitempty"`
}

// Time is a capture time. Its JSON is written as the NDJSON "time" field
// (render.TimeLayout, in UTC), or null for the zero time.
type Time struct{ time.Time }

// MarshalJSON writes t as render.TimeLayout in UTC.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(render.TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, render.TimeLayout)
	return append(b, '"'), nil
}

// Report returns the figures so far. It changes nothing: events may go on
// after it, and the fan-out groups still open are counted as they stand.
func (c *Collector) Report() Report {
	r := Report{
		Connections: make([]Conn, 0, len(c.conns)),
		Users:       []User{},
		Fanout:      c.fan.report(),
	}
	t := &r.Totals
	t.Connections = len(c.conns)
	t.ClientToServer, t.ServerToClient = c.flows[0], c.flows[1]
	t.First, t.Last = Time{c.first}, Time{c.last}
	if !c.first.IsZero() {
		t.Duration = c.last.Sub(c.first)
	}
	t.Gaps, t.Errors, t.Rejected = c.gaps, c.errors, c.rejected

	users := make(map[string]*User)
	for _, k := range c.conns {
		if k.websocket {
			t.WebSockets++
		}
		r.Connections = append(r.Connections, Conn{
			ID: k.id, Client: k.client, Server: k.server, User: k.user, WebSocket: k.websocket,
			ClientToServer: k.flows[0], ServerToClient: k.flows[1], Chat: k.chat,
			First: Time{k.first}, Last: Time{k.last},
			Gaps: k.gaps, Errors: k.errors, Closed: k.closed,
		})
		if k.user == "" {
			continue
		}
		u := users[k.user]
		if u == nil {
			u = &User{Name: k.user, First: Time{k.first}, Last: Time{k.last}}
			users[k.user] = u
		}
		u.Connections++
		u.Sent.Messages += k.flows[0].Messages
		u.Sent.Bytes += k.flows[0].Bytes
		u.Received.Messages += k.flows[1].Messages
		u.Received.Bytes += k.flows[1].Bytes
		u.Chat += k.chat
		if k.first.Before(u.First.Time) {
			u.First.Time = k.first
		}
		if k.last.After(u.Last.Time) {
			u.Last.Time = k.last
		}
	}
	slices.SortFunc(r.Connections, func(a, b Conn) int { return cmp.Compare(a.ID, b.ID) })
	for _, u := range users {
		r.Users = append(r.Users, *u)
	}
	slices.SortFunc(r.Users, func(a, b User) int { return cmp.Compare(a.Name, b.Name) })
	t.Users = len(r.Users)
	return r
}
