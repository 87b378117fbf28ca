package decode

import (
	"math"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

// Limits. Every length read from the wire is checked against one of these
// before anything is allocated for it.
const (
	// DefaultMaxMessage is the default cap on a message's payload after
	// unmasking and inflating. Bytes beyond it are counted, not kept.
	DefaultMaxMessage = 16 << 20

	// MaxHead bounds an HTTP request or response head (start line, header
	// lines and the blank line). A longer head ends decoding of the
	// connection: no browser or server sends one, and the bound keeps a
	// stream of header bytes from growing a buffer without end.
	MaxHead = 16 << 10

	// maxSkippedHTTP is how many plain HTTP requests (keep-alive) may come
	// before the upgrade request on one connection; past it the connection
	// is taken for plain HTTP and ignored.
	maxSkippedHTTP = 32

	// maxStash bounds the client bytes held after an upgrade request while
	// the server's answer is awaited. A client must wait for the 101, so this
	// only holds what a capture delivers out of order.
	maxStash = 64 << 10

	// maxPlausibleFrame is the largest frame length accepted when looking
	// for frames without a handshake (midstream, after a gap): random bytes
	// read as a 64-bit length are almost always larger.
	maxPlausibleFrame = 1 << 30

	// MaxConnErrors is how many error events one connection reports; the
	// rest are counted in Stats.ErrorsHidden, so that a client breaking a
	// rule in every frame does not bury its messages.
	MaxConnErrors = 20

	// maxControlPayload is the largest control frame payload (RFC 6455 section 5.5).
	maxControlPayload = 125

	// maxHeader is the largest frame header: 2 bytes, a 64-bit length and a mask key.
	maxHeader = 14

	// maxInflated bounds the bytes inflated from one message, kept or not.
	// Output past the message cap is still inflated (so that the
	// compression window stays right for the next message) but not past
	// this, which stops an inflate bomb from costing more than a second or so.
	maxInflated = 1 << 30
)

// Config configures a Decoder. The zero value decodes only connections
// whose upgrade was captured, with the default message cap.
type Config struct {
	// MaxMessage caps a message's payload after unmasking and inflating;
	// 0 or less means DefaultMaxMessage.
	MaxMessage int
	// Midstream decodes connections whose upgrade was not captured when
	// their bytes parse as frames. The user asks for it by naming a port (-p).
	Midstream bool
}

// Stats counts what a Decoder found.
type Stats struct {
	Connections uint64    // connections handed to NewConn
	WebSockets  uint64    // connections decoded as WebSocket (upgrade seen, or midstream)
	Messages    [2]uint64 // message events by direction: 0 client to server, 1 server to client
	Gaps        uint64    // gap events
	Errors      uint64    // error events
	// ErrorsHidden counts the errors of connections past MaxConnErrors:
	// counted, not reported.
	ErrorsHidden uint64
	Rejected     uint64 // upgrade requests answered with another status than 101
	Polling      uint64 // connections of Engine.IO long-polling requests (polling.go)
}

// Decoder decodes connections into events. It implements
// reassembly.Handler; like the assembler that calls it, it is not safe for
// concurrent use.
type Decoder struct {
	cfg   Config
	sink  Sink
	stats Stats

	// ev is the one Event handed to the sink: events are only valid during
	// the call, so it is reused and a message costs no allocation for it.
	ev Event
	// free holds inflaters of ended connections for reuse: each carries
	// about 40 KB of tables and window.
	free []*inflater
	// scratch is working space for plausibility checks.
	scratch []byte
	// freeBufs are message buffers of finished messages, for the next
	// message that comes over several Data calls (stream.go); bigBuf is
	// one large one.
	freeBufs [][]byte
	bigBuf   []byte
}

// maxFreeBufs bounds Decoder.freeBufs: enough for the messages in
// progress at once in busy traffic.
const maxFreeBufs = 64

// getBuf returns an empty message buffer, reused when one is free.
func (d *Decoder) getBuf() []byte {
	if n := len(d.freeBufs); n > 0 {
		b := d.freeBufs[n-1]
		d.freeBufs[n-1] = nil
		d.freeBufs = d.freeBufs[:n-1]
		return b
	}
	return nil
}

// putBuf keeps b for reuse, unless enough are kept already. One large
// buffer (after a big message) is kept apart, for the next big message.
func (d *Decoder) putBuf(b []byte) {
	switch {
	case cap(b) > keepBuffer:
		if cap(b) <= maxBigBuffer && cap(b) > cap(d.bigBuf) {
			d.bigBuf = b[:0]
		}
	case cap(b) > 0 && len(d.freeBufs) < maxFreeBufs:
		d.freeBufs = append(d.freeBufs, b[:0])
	}
}

// maxBigBuffer bounds Decoder.bigBuf.
const maxBigBuffer = 4 << 20

// growBuf returns buf, a message's buffer, with room for n more bytes, and
// never more than limit in all. A buffer growing past keepBuffer takes the
// kept big one if that is large enough: a message of a few hundred KB
// would otherwise cost allocations of twice its size as it doubles its way
// up, every time.
func (d *Decoder) growBuf(buf []byte, n, limit int) []byte {
	need := len(buf) + n
	if need <= cap(buf) {
		return buf
	}
	if need > keepBuffer && need <= cap(d.bigBuf) {
		big := append(d.bigBuf, buf...)
		d.bigBuf = nil
		d.putBuf(buf)
		return big
	}
	return growCapped(buf, n, limit)
}

// maxFreeInflaters bounds Decoder.free.
const maxFreeInflaters = 16

// NewDecoder returns a Decoder that sends its events to sink.
func NewDecoder(cfg Config, sink Sink) *Decoder {
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = DefaultMaxMessage
	}
	return &Decoder{cfg: cfg, sink: sink}
}

// Stats returns the counters so far.
func (d *Decoder) Stats() Stats { return d.stats }

// NewConn starts decoding a connection.
func (d *Decoder) NewConn(info reassembly.ConnInfo) reassembly.Conn {
	d.stats.Connections++
	return &conn{
		d:      d,
		id:     info.ID,
		client: info.Client,
		server: info.Server,
		sawSYN: info.SawSYN,
		h:      new(handshake),
	}
}

// getInflater returns a reusable inflater.
func (d *Decoder) getInflater() *inflater {
	if n := len(d.free); n > 0 {
		f := d.free[n-1]
		d.free[n-1] = nil
		d.free = d.free[:n-1]
		return f
	}
	return new(inflater)
}

// putInflater keeps f for another connection.
func (d *Decoder) putInflater(f *inflater) {
	if f == nil || len(d.free) >= maxFreeInflaters {
		return
	}
	f.forget()
	d.free = append(d.free, f)
}

// newEvent resets the shared Event to a new one of kind k for c.
func (c *conn) newEvent(k Kind, fromClient bool, t time.Time) *Event {
	e := &c.d.ev
	*e = Event{
		Kind:       k,
		Time:       t,
		ConnID:     c.id,
		Client:     c.client,
		Server:     c.server,
		FromClient: fromClient,
		Midstream:  c.midstream,
	}
	return e
}

// emit counts e and hands it to the sink.
func (c *conn) emit(e *Event) {
	st := &c.d.stats
	switch e.Kind {
	case KindMessage:
		if e.FromClient {
			st.Messages[0]++
		} else {
			st.Messages[1]++
		}
	case KindGap:
		st.Gaps++
	case KindError:
		st.Errors++
	}
	c.d.sink.Event(e)
}

// emitError sends an error event, unless the connection has reported
// MaxConnErrors already.
func (c *conn) emitError(fromClient bool, t time.Time, msg string) {
	if c.errors >= MaxConnErrors {
		c.d.stats.ErrorsHidden++
		return
	}
	c.errors++
	e := c.newEvent(KindError, fromClient, t)
	e.Err = msg
	c.emit(e)
}

// clampInt converts a byte count to int, saturating: a 64-bit frame length
// may exceed what an int holds on 32-bit platforms.
func clampInt(n uint64) int {
	if n > math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}
