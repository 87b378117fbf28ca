package reassembly

import (
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Defaults for Options. Out-of-order data is counted in pages of PageSize
// bytes, as gopacket's reassembly (which this package replaced) counted it
// in pages of about that size, so the defaults keep bounding it at 4 MiB per
// connection and 64 MiB in all. A buffered segment counts as its buffer
// (a power of two from 256 bytes) plus 64 bytes, so that many tiny
// segments cannot get around the bounds.
const (
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultGapTimeout   = 3 * time.Second
	DefaultPagesPerConn = 2048
	DefaultPagesTotal   = 32768
	// PageSize is the unit of PagesPerConn and PagesTotal, in bytes.
	PageSize = 2048
	// tickEvery is how often, in capture time, Feed checks the timeouts.
	// Checking at every packet would cost little more, but ending idle
	// connections and declaring gaps at the same instants as the gopacket
	// engine did keeps the times printed for them what they were.
	tickEvery = time.Second
)

// Options tunes an Assembler. The zero value gives the defaults.
type Options struct {
	// ServerPorts are the ports the user asked for (-p). A connection whose
	// SYN was not captured has its server guessed from them.
	ServerPorts []uint16
	// IdleTimeout ends connections with no packet for this long (capture
	// time). Both timeouts are checked once a second of capture time, and
	// at each Tick.
	IdleTimeout time.Duration
	// GapTimeout is how long out-of-order data, or a FIN, waits for a
	// missing segment before the missing bytes are declared lost (a gap).
	GapTimeout time.Duration
	// PagesPerConn bounds the out-of-order data one connection (both
	// directions) may hold, in pages of PageSize bytes. Past it, the
	// direction being fed gives up waiting for its missing bytes: they are
	// reported as a gap and what follows them is delivered.
	PagesPerConn int
	// PagesTotal bounds the out-of-order data of all connections, in pages
	// of PageSize bytes, with the same effect on the connection being fed.
	PagesTotal int
}

// Stats counts what the assembler saw.
type Stats struct {
	Packets     uint64 // TCP packets fed
	Connections uint64 // connections seen
}

// Assembler reassembles TCP streams and hands them to a Handler. It is not
// safe for concurrent use: one loop feeds it, and every Handler and Conn
// call is made from that loop, before the call that caused it returns.
//
// Each connection is in a hash table under the key of each of its
// directions (both endpoints, as the packet carries them), and in a list
// ordered by activity, so the idle timeout looks at the list's front only;
// the directions holding out-of-order data are in a second list, so the gap
// timeout looks at those only. Nothing walks every connection except Close.
type Assembler struct {
	opts    Options
	handler Handler
	conns   connTable
	// last is the previous packet's connection: packets come in bursts on
	// one connection, and comparing keys is cheaper than hashing one.
	last *conn
	lru  connList  // every connection, least recently active first (see touch)
	gaps queueList // directions with out-of-order data or a FIN ahead of it
	free []*conn   // ended connections, reused so opening one rarely allocates

	// now is the capture clock: the latest timestamp seen, never earlier,
	// and nowNs the same in nanoseconds since 1970, cheaper to compare.
	now   time.Time
	nowNs int64
	// nextTick is when Feed next checks the timeouts (ticking: once the
	// clock is set).
	nextTick int64
	ticking  bool
	nextID   uint64
	stats    Stats

	bufs      bufPool
	perConn   int // byte bounds from Options
	total     int
	buffered  int    // bytes of out-of-order data held, as counted by cost
	scratch   []byte // joins bytes delivered by one Data call
	expiring  []*conn
	ticks     uint64 // expire calls, to mark the connections each one saw
	closeList []*conn
}

// New returns an Assembler that reports connections to h.
func New(h Handler, opts Options) *Assembler {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.GapTimeout <= 0 {
		opts.GapTimeout = DefaultGapTimeout
	}
	if opts.PagesPerConn <= 0 {
		opts.PagesPerConn = DefaultPagesPerConn
	}
	if opts.PagesTotal <= 0 {
		opts.PagesTotal = DefaultPagesTotal
	}
	return &Assembler{
		opts:    opts,
		handler: h,
		conns:   newConnTable(),
		perConn: opts.PagesPerConn * PageSize,
		total:   opts.PagesTotal * PageSize,
	}
}

// Stats returns the counters so far.
func (a *Assembler) Stats() Stats { return a.stats }

// Feed hands one TCP packet to the assembler. Data it completes is delivered
// to the Handler before Feed returns. Time only moves forward: a packet
// stamped earlier than one before it does not turn back the clock used for
// timeouts.
func (a *Assembler) Feed(netFlow gopacket.Flow, tcp *layers.TCP, ci gopacket.CaptureInfo) {
	a.stats.Packets++
	t := ci.Timestamp
	// Time passes before the packet is assembled, so that a connection idle
	// for too long ends before this packet, perhaps a new SYN on the same
	// ports, is taken for part of it.
	if tn := t.UnixNano(); !a.ticking {
		a.now, a.nowNs = t, tn
		a.ticking = true
		a.nextTick = tn + int64(tickEvery)
	} else if tn > a.nowNs {
		a.now, a.nowNs = t, tn
		if tn >= a.nextTick {
			a.expire()
		}
	}

	ports := uint64(tcp.SrcPort)<<16 | uint64(tcp.DstPort)
	c := a.last
	var d Dir
	switch {
	case c != nil && ports == c.keys[ClientToServer].ports && netFlow == c.keys[ClientToServer].flow:
		d = ClientToServer
	case c != nil && ports == c.keys[ServerToClient].ports && netFlow == c.keys[ServerToClient].flow:
		d = ServerToClient
	default:
		h := a.conns.hash(&netFlow, ports)
		c, d = a.conns.find(&netFlow, ports, h)
		if c == nil {
			// The Handler hears of a connection only from a packet with a
			// SYN or data: the last ACK of a closed connection, or a stray
			// FIN or RST, would otherwise start a new, empty one.
			if !tcp.SYN && len(tcp.Payload) == 0 {
				return
			}
			c, d = a.open(&dirKey{netFlow, ports}, h, tcp, t)
		}
		a.last = c
	}
	if c.over() {
		// An ended connection stays known until it idles out, so that
		// its late packets (retransmissions, the last ACK) are not taken
		// for a new connection. A SYN starts one on the same ports.
		if !tcp.SYN {
			a.touch(c)
			return
		}
		k := c.keys[d]
		h := c.hashes[d]
		a.remove(c)
		c, d = a.open(&k, h, tcp, t)
		a.last = c
	}
	a.touch(c)
	a.segment(c, d, tcp, t)
}

// touch records activity on c. Moving c to the back of the idle list at
// every packet would cost three other connections' cache lines, so it moves
// at most once per tickEvery: the list is in the order of the last moves,
// and a connection last active at lastSeen moved no earlier than
// tickEvery before.
func (a *Assembler) touch(c *conn) {
	c.lastSeen = a.nowNs
	if a.nowNs-c.moved >= int64(tickEvery) {
		c.moved = a.nowNs
		a.lru.remove(c)
		a.lru.pushBack(c)
	}
}

// Tick flushes by time: data held behind a missing segment for longer than
// the gap timeout is delivered after a Gap, and connections idle for longer
// than the idle timeout end. Feed calls it as capture time passes; a live
// capture also calls it when no packet comes.
func (a *Assembler) Tick(now time.Time) {
	if n := now.UnixNano(); n > a.nowNs || !a.ticking {
		a.now, a.nowNs = now, n
	}
	a.ticking = true
	a.expire()
}

// expire applies both timeouts at a.now.
func (a *Assembler) expire() {
	a.nextTick = a.nowNs + int64(tickEvery)
	gapBefore := a.now.Add(-a.opts.GapTimeout)
	idleBefore := a.nowNs - int64(a.opts.IdleTimeout)

	// Handing out data may end connections, which takes their directions
	// out of the list: walk a copy, of connections, for flushOrder.
	a.ticks++
	a.expiring = a.expiring[:0]
	for q := a.gaps.front; q != nil; q = q.gnext {
		if c := q.c; c.tick != a.ticks && q.oldest().Before(gapBefore) {
			c.tick = a.ticks
			a.expiring = append(a.expiring, c)
		}
	}
	for i, c := range a.expiring {
		a.expiring[i] = nil
		for _, d := range c.flushOrder() {
			// A segment waits no longer than any queued after it: bytes
			// go out in order, so the oldest one decides for all before
			// it.
			h := &c.half[d]
			for h.held && h.q.oldest().Before(gapBefore) {
				a.skipGap(c, h)
			}
		}
	}

	// Every connection idle since idleBefore moved before it, and the
	// list is in the order of the moves: the walk stops at the first that
	// moved later. Those it passes are active again since their last move
	// or will be ended by a coming tick.
	var next *conn
	for c := a.lru.front; c != nil && c.moved < idleBefore; c = next {
		next = c.next
		if c.lastSeen < idleBefore {
			a.finish(c, EndIdle)
		}
	}
}

// Close delivers what is still buffered, after gaps where segments are
// missing, and ends every connection still open, in the order they were
// first seen.
func (a *Assembler) Close() {
	a.closeList = a.closeList[:0]
	for c := a.lru.front; c != nil; c = c.next {
		a.closeList = append(a.closeList, c)
	}
	slices.SortFunc(a.closeList, func(x, y *conn) int {
		switch {
		case x.id < y.id:
			return -1
		case x.id > y.id:
			return 1
		}
		return 0
	})
	for _, c := range a.closeList {
		a.finish(c, EndCapture)
	}
	clear(a.closeList)
}

// finish delivers what c still holds, after gaps, ends it if that was not
// done yet, and forgets it.
func (a *Assembler) finish(c *conn, reason EndReason) {
	if !c.over() {
		a.drain(c, true)
	}
	if !c.over() {
		a.end(c, reason, a.now)
	}
	a.remove(c)
}

// open starts a connection from its first packet, whose key is k with hash
// h, tells the Handler, and makes it known under both directions' keys. It
// returns the connection and the packet's direction.
func (a *Assembler) open(k *dirKey, h uint64, tcp *layers.TCP, t time.Time) (*conn, Dir) {
	c := a.newConn()
	a.nextID++
	a.stats.Connections++
	c.id = a.nextID
	fromClient, sawSYN := a.firstPacketFromClient(tcp)
	src, dst := endpoints(k.flow, tcp)
	info := ConnInfo{ID: c.id, SawSYN: sawSYN, Time: t}
	d := ClientToServer
	if fromClient {
		info.Client, info.Server = src, dst
	} else {
		info.Client, info.Server = dst, src
		d = ServerToClient
	}
	r := d.Reverse()
	c.first = d
	c.keys[d], c.keys[r] = *k, k.reverse()
	c.hashes[d], c.hashes[r] = h, a.conns.hash(&c.keys[r].flow, c.keys[r].ports)
	a.conns.insert(c, d, c.hashes[d])
	a.conns.insert(c, r, c.hashes[r])
	c.lastSeen, c.moved = a.nowNs, a.nowNs
	a.lru.pushBack(c)
	c.conn = a.handler.NewConn(info)
	if c.conn == nil {
		c.conn = discard{}
	}
	return c, d
}

// firstPacketFromClient decides which side is the client from the first
// packet seen: a SYN comes from the client and a SYN-ACK from the server;
// without either, a port the user named is the server's, and failing that
// the lower port is taken as the server's (clients use ephemeral ports).
func (a *Assembler) firstPacketFromClient(tcp *layers.TCP) (fromClient, sawSYN bool) {
	switch {
	case tcp.SYN && !tcp.ACK:
		return true, true
	case tcp.SYN && tcp.ACK:
		return false, true
	}
	src, dst := uint16(tcp.SrcPort), uint16(tcp.DstPort)
	for _, p := range a.opts.ServerPorts {
		if p == dst {
			return true, false
		}
		if p == src {
			return false, false
		}
	}
	return src >= dst, false
}

func endpoints(netFlow gopacket.Flow, tcp *layers.TCP) (src, dst netip.AddrPort) {
	s, d := netFlow.Endpoints()
	sa, _ := netip.AddrFromSlice(s.Raw())
	da, _ := netip.AddrFromSlice(d.Raw())
	return netip.AddrPortFrom(sa.Unmap(), uint16(tcp.SrcPort)), netip.AddrPortFrom(da.Unmap(), uint16(tcp.DstPort))
}

// newConn returns a cleared connection, reusing an ended one when it can:
// its queues keep their capacity.
func (a *Assembler) newConn() *conn {
	if n := len(a.free); n > 0 {
		c := a.free[n-1]
		a.free[n-1] = nil
		a.free = a.free[:n-1]
		return c
	}
	c := &conn{}
	c.init()
	return c
}

// maxFreeConns bounds the connections kept for reuse: enough for a burst
// of short connections, not a copy of the peak.
const maxFreeConns = 1024

// remove forgets c: its key no longer finds it and it leaves every list.
func (a *Assembler) remove(c *conn) {
	a.conns.delete(c, ClientToServer, c.hashes[ClientToServer])
	a.conns.delete(c, ServerToClient, c.hashes[ServerToClient])
	if a.last == c {
		a.last = nil
	}
	a.lru.remove(c)
	for d := range c.half {
		a.release(&c.half[d])
	}
	c.init()
	if len(a.free) < maxFreeConns {
		a.free = append(a.free, c)
	}
}

// discard is the Conn of a connection the Handler ignores.
type discard struct{}

func (discard) Data(Dir, []byte, time.Time) {}
func (discard) Gap(Dir, int, time.Time)     {}
func (discard) End(EndReason, time.Time)    {}
