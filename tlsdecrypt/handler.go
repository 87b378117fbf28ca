package tlsdecrypt

import (
	"slices"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

// MaxHoldConn bounds the bytes held for one connection while its key is
// awaited (Options.Wait) or while its first bytes are not yet enough to
// tell what it is.
const MaxHoldConn = 1 << 20

// MaxHoldTotal bounds the bytes held across all connections of a Handler.
const MaxHoldTotal = 64 << 20

// maxHeldCalls bounds the Data and Gap calls held for one connection.
const maxHeldCalls = 4096

// MaxBatch is the most plaintext handed to the inner Conn in one Data call:
// the records decrypted from one Data call are passed on together up to it.
const MaxBatch = 64 << 10

// MaxResumptions bounds the TLS 1.2 session tickets and session IDs
// remembered, with the master secret of the connection that made them, so
// that a resumed connection is decrypted although its own client random is
// not in the key log (Go's crypto/tls logs only full handshakes). When
// full, the table starts again empty.
const MaxResumptions = 1 << 14

// Options tune a Handler.
type Options struct {
	// Wait is how long (capture time) a connection whose key is missing waits for it, its
	// records held (bounded), with KeyLog.Refresh called as new records come: live capture, where
	// the browser writes its key a moment after the handshake. 0: no wait (files, where the key
	// log was read whole first).
	Wait time.Duration
}

// Stats counts what a Handler did.
type Stats struct {
	Connections  uint64 // TLS connections seen
	Decrypted    uint64 // of them, those whose keys were found
	Records      uint64 // records decrypted
	AuthFailures uint64 // records that failed authentication
}

// Handler finds the TLS connections among those reassembly hands it,
// decrypts them with the secrets of a KeyLog and hands their plaintext on
// to an inner Handler; other connections go through unchanged.
type Handler struct {
	inner reassembly.Handler
	keys  *KeyLog
	opts  Options
	stats Stats
	held  int    // bytes held across connections
	out   []byte // plaintext being batched for one inner Data call
	// outDir is the direction of the plaintext in out.
	outDir reassembly.Dir
	// freeParts are buffers for records split across Data calls (getPart).
	freeParts [][]byte

	// tickets and sessions map a TLS 1.2 session ticket or session ID to
	// the master secret of the connection that made it.
	tickets  map[string][48]byte
	sessions map[string][48]byte
}

// NewHandler returns a Handler handing plaintext to inner. keys may be
// nil: TLS is then still found and reported, undecrypted.
func NewHandler(inner reassembly.Handler, keys *KeyLog, opts Options) *Handler {
	return &Handler{inner: inner, keys: keys, opts: opts}
}

// Stats returns the counts so far.
func (h *Handler) Stats() Stats { return h.stats }

// NewConn implements reassembly.Handler.
func (h *Handler) NewConn(info reassembly.ConnInfo) reassembly.Conn {
	in := h.inner.NewConn(info)
	if in == nil {
		return nil
	}
	c := &conn{h: h, inner: in, sawSYN: info.SawSYN}
	c.tlsInner, _ = in.(Conn)
	return c
}

// remember notes a TLS 1.2 session ticket or ID with its master secret.
func (h *Handler) remember(m *map[string][48]byte, key []byte, master *[48]byte) {
	if len(key) == 0 {
		return
	}
	if *m == nil || len(*m) >= MaxResumptions {
		*m = make(map[string][48]byte)
	}
	(*m)[string(key)] = *master
}

// recall returns the master secret remembered for a ticket or ID.
func (h *Handler) recall(m map[string][48]byte, key []byte) (master [48]byte, ok bool) {
	if len(key) == 0 {
		return master, false
	}
	master, ok = m[string(key)]
	return master, ok
}

// mode is what a connection's bytes are read as.
type mode uint8

const (
	modeProbe mode = iota // its first bytes are awaited
	modePlain             // not TLS: bytes go straight through
	modeTLS               // TLS, being read
	modeDrop              // TLS that cannot be decrypted: bytes are dropped
)

// conn is one connection as the Handler sees it.
type conn struct {
	mode     mode
	inner    reassembly.Conn
	h        *Handler
	tlsInner Conn // inner, when it hears of TLS
	sawSYN   bool

	// first holds up to 6 first bytes of each direction, to tell what the
	// connection is; firstN counts them.
	first  [2][6]byte
	firstN [2]int

	// holds are the calls held, their bytes in holdBuf.
	holds   []held
	holdBuf []byte

	t *tlsConn // modeTLS and modeDrop
}

// held is one Data or Gap call held.
type held struct {
	dir    reassembly.Dir
	gap    bool
	off    int // where its bytes start in holdBuf
	n      int // bytes in holdBuf, or the gap's size
	tstamp time.Time
}

// Data implements reassembly.Conn.
func (c *conn) Data(dir reassembly.Dir, b []byte, t time.Time) {
	if c.mode == modePlain {
		c.inner.Data(dir, b, t)
		return
	}
	c.data(dir, b, t)
}

func (c *conn) data(dir reassembly.Dir, b []byte, t time.Time) {
	switch c.mode {
	case modePlain:
		c.inner.Data(dir, b, t)
	case modeProbe:
		c.probe(dir, b, t)
	case modeTLS:
		if c.t.waiting {
			c.checkWait(t)
		}
		c.feed(dir, b, t)
	}
}

// Gap implements reassembly.Conn.
func (c *conn) Gap(dir reassembly.Dir, n int, t time.Time) {
	switch c.mode {
	case modePlain:
		c.inner.Gap(dir, n, t)
	case modeProbe:
		if !c.hold(dir, nil, true, n, t) {
			c.setPlain(t)
			c.inner.Gap(dir, n, t)
		}
	case modeTLS:
		if c.t.waiting {
			c.checkWait(t)
		}
		c.gap(dir, n, t)
	}
}

// End implements reassembly.Conn.
func (c *conn) End(reason reassembly.EndReason, t time.Time) {
	switch c.mode {
	case modeProbe:
		c.decideAtEnd(t)
	case modeTLS:
		if c.t.waiting {
			c.h.keys.Refresh()
			if !c.lookupKeys(t) {
				c.noKey(t)
			}
		}
		if c.mode == modeTLS && len(c.holds) > 0 {
			// The client's records awaited a ServerHello that never came.
			c.fail("handshake not captured", t)
		}
		c.report(t)
	case modeDrop:
		c.report(t)
	}
	c.inner.End(reason, t)
}

// hold keeps a Data (b) or Gap call for later. It returns false, keeping
// nothing, when that would pass MaxHoldConn or MaxHoldTotal.
func (c *conn) hold(dir reassembly.Dir, b []byte, gap bool, n int, t time.Time) bool {
	if len(c.holdBuf)+len(b) > MaxHoldConn || c.h.held+len(b) > MaxHoldTotal || len(c.holds) >= maxHeldCalls {
		return false
	}
	off := len(c.holdBuf)
	if !gap {
		n = len(b)
		c.holdBuf = append(c.holdBuf, b...)
		c.h.held += len(b)
	}
	c.holds = append(c.holds, held{dir: dir, gap: gap, off: off, n: n, tstamp: t})
	return true
}

// takeHolds returns the calls held and forgets them.
func (c *conn) takeHolds() ([]held, []byte) {
	holds, buf := c.holds, c.holdBuf
	c.holds, c.holdBuf = nil, nil
	c.h.held -= len(buf)
	return holds, buf
}

// replay makes the held calls again, in order.
func (c *conn) replay() {
	holds, buf := c.takeHolds()
	for _, e := range holds {
		if e.gap {
			c.Gap(e.dir, e.n, e.tstamp)
			continue
		}
		c.data(e.dir, buf[e.off:e.off+e.n], e.tstamp)
	}
}

// dropHolds forgets the held calls.
func (c *conn) dropHolds() { c.takeHolds() }

// What the first bytes of a direction look like.
type firstKind uint8

const (
	firstMore        firstKind = iota // too few bytes to tell, but they could be TLS
	firstOther                        // not TLS
	firstRecord                       // a TLS record header (types 20–23)
	firstClientHello                  // a handshake record starting a ClientHello
)

// classify tells what the first bytes p (up to 6) of a direction are.
func classify(p []byte) firstKind {
	if len(p) >= 1 && (p[0] < 20 || p[0] > 23) {
		return firstOther
	}
	if len(p) >= 2 && p[1] != 3 {
		return firstOther
	}
	if len(p) >= 3 && p[2] > 4 {
		return firstOther
	}
	if len(p) < 5 {
		return firstMore
	}
	n := int(p[3])<<8 | int(p[4])
	if n > maxRecordLen12 || n == 0 {
		return firstOther
	}
	if p[0] != recordHandshake {
		return firstRecord
	}
	if len(p) < 6 {
		return firstMore
	}
	if p[5] == hsClientHello && n >= 4 {
		return firstClientHello
	}
	return firstRecord
}

// probe reads the first bytes of the connection until they tell whether it
// is TLS.
func (c *conn) probe(dir reassembly.Dir, b []byte, t time.Time) {
	if n := c.firstN[dir]; n >= 0 && n < len(c.first[dir]) {
		c.firstN[dir] += copy(c.first[dir][n:], b)
	}
	if !c.hold(dir, b, false, 0, t) {
		c.setPlain(t)
		c.inner.Data(dir, b, t)
		return
	}
	c.decide(t, false)
}

// kindOf returns what dir's first bytes are, firstMore when none came.
func (c *conn) kindOf(dir reassembly.Dir) firstKind {
	if c.firstN[dir] < 0 {
		return firstOther // its start was lost in a gap
	}
	return classify(c.first[dir][:c.firstN[dir]])
}

// decide tells, when it can, what the connection is from the first bytes
// held; at the end (atEnd) it must.
func (c *conn) decide(t time.Time, atEnd bool) {
	cs, ss := c.kindOf(reassembly.ClientToServer), c.kindOf(reassembly.ServerToClient)
	seenC := c.firstN[reassembly.ClientToServer] != 0
	seenS := c.firstN[reassembly.ServerToClient] != 0
	if cs == firstClientHello {
		c.startTLS(t)
		return
	}
	if seenC && cs == firstOther || seenS && ss == firstOther {
		c.setPlain(t)
		return
	}
	recC := seenC && cs == firstRecord
	recS := seenS && (ss == firstRecord || ss == firstClientHello)
	if recC && c.sawSYN {
		// With its start captured, TLS begins with a ClientHello.
		c.setPlain(t)
		return
	}
	if recC && recS {
		c.midstream(t)
		return
	}
	if !atEnd {
		return // wait for more bytes of a side, or for the other side
	}
	if (recC || recS) && !c.sawSYN {
		c.midstream(t)
		return
	}
	c.setPlain(t)
}

// midstream reports TLS whose handshake went by before the capture.
func (c *conn) midstream(t time.Time) {
	c.mode = modeTLS
	c.t = new(tlsConn)
	c.h.stats.Connections++
	c.dropHolds()
	c.fail("handshake not captured", t)
}

func (c *conn) decideAtEnd(t time.Time) {
	c.decide(t, true)
	if c.mode == modeProbe {
		c.setPlain(t)
	}
}

// setPlain makes the connection plaintext, passing on the calls held.
func (c *conn) setPlain(t time.Time) {
	c.mode = modePlain
	c.replay()
}

// startTLS makes the connection TLS and reads the calls held.
func (c *conn) startTLS(t time.Time) {
	c.mode = modeTLS
	c.t = new(tlsConn)
	c.h.stats.Connections++
	// The client's bytes first: its hello comes before the server's.
	slices.SortStableFunc(c.holds, func(a, b held) int { return int(a.dir) - int(b.dir) })
	c.replay()
}
