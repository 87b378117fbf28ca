package stats

import (
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/decode"
)

// maxName is how much of a user's name is kept: names come from the wire,
// and one 16 MiB "name" per connection must not be kept whole for a table.
const maxName = 256

// Collector counts the events of a capture. It is a decode.Sink; it is not
// safe for concurrent use (the pipeline hands it events from one loop).
type Collector struct {
	conns    map[uint64]*conn
	lastConn *conn // the connection of the last event, the usual next one
	fan      *fanout

	flows       [2]Flow   // messages by direction: client → server, server → client
	first, last time.Time // of the first and last message
	gaps        uint64
	errors      uint64
	rejected    uint64
}

// conn is one connection's counters.
type conn struct {
	id             uint64
	client, server netip.AddrPort
	user           string
	websocket      bool
	flows          [2]Flow
	chat           uint64
	first, last    time.Time
	gaps, errors   uint64
	closed         bool
}

// New returns an empty Collector.
func New() *Collector {
	return &Collector{conns: make(map[uint64]*conn), fan: newFanout()}
}

// Event counts e. It keeps nothing of e but numbers and the user's name,
// copied.
func (c *Collector) Event(e *decode.Event) {
	k := c.lastConn
	if k == nil || k.id != e.ConnID {
		k = c.conns[e.ConnID]
		if k == nil {
			k = &conn{id: e.ConnID, client: e.Client, server: e.Server, first: e.Time, last: e.Time}
			c.conns[e.ConnID] = k
		}
		c.lastConn = k
	}
	k.seen(e.Time)
	switch e.Kind {
	case decode.KindOpen:
		// An open is a WebSocket when its frames are decoded: not an
		// Engine.IO long-polling connection, nor TLS without its keys.
		if !e.Polling && (e.TLS == nil || e.TLS.Decrypted) {
			k.websocket = true
		}
	case decode.KindMessage:
		c.message(k, e)
	case decode.KindGap:
		k.gaps++
		c.gaps++
	case decode.KindError:
		k.errors++
		c.errors++
	case decode.KindRejected:
		c.rejected++
	case decode.KindClose:
		k.closed = true
	}
}

func (c *Collector) message(k *conn, e *decode.Event) {
	n := e.Length
	if n < len(e.Payload) {
		n = len(e.Payload)
	}
	d := 1
	if e.FromClient {
		d = 0
	}
	k.flows[d].add(n)
	c.flows[d].add(n)
	if c.first.IsZero() || e.Time.Before(c.first) {
		c.first = e.Time
	}
	if e.Time.After(c.last) {
		c.last = e.Time
	}
	if e.FromClient {
		if e.Talk.From != "" {
			k.chat++
			if k.user == "" {
				// The first name its client speaks as: its login in
				// workerman-chat, any emit's user in Socket.IO.
				k.user = keepName(e.Talk.From)
			}
		}
		return
	}
	if !e.Heartbeat && (e.Opcode == decode.OpText || e.Opcode == decode.OpBinary) {
		c.fan.add(e)
	}
}

func (k *conn) seen(t time.Time) {
	if t.Before(k.first) {
		k.first = t
	}
	if t.After(k.last) {
		k.last = t
	}
}

func (f *Flow) add(n int) {
	f.Messages++
	f.Bytes += uint64(n)
}

// keepName copies a name from an event, cut to maxName bytes on a rune
// boundary: the event's strings may point into bytes the decoder reuses.
func keepName(s string) string {
	if len(s) > maxName {
		i := maxName
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return strings.Clone(s)
}
