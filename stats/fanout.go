package stats

import (
	"hash/maphash"
	"net/netip"
	"slices"
	"time"

	"github.com/chatsniff/chatsniff/decode"
)

// FanoutWindow is how long after a group's first copy an identical payload
// from the same server to another connection still counts as a copy of
// the same broadcast. A chat server writes a broadcast to its clients in
// one loop (workerman's foreach over its connections, a socket.io room
// emit), so the copies leave within milliseconds even for thousands of
// clients; a second leaves room for a loaded server and for the capture's
// own buffering, and is still short beside people typing, so that the same
// "hi" said again a few seconds later is a broadcast of its own. A longer
// window would merge such repeats; a shorter one would split a slow
// server's broadcast into several.
const FanoutWindow = time.Second

// groupScan is how many connections a group lists before it keeps them in
// a set: a short list is faster to scan than a map is to hash, and a
// broadcast to thousands must not cost a scan of thousands per copy.
const groupScan = 16

// maxGroups is how many groups the fan-out keeps at most, open or
// waiting in the queue: a server sending over 65,536 distinct messages
// within one FanoutWindow (or a capture whose clock stands still) must
// not make the state grow with the messages. Past it the oldest group is
// finished before its window has passed (Fanout.Cut counts them), so a
// late copy of it would count as a group of its own. At a few hundred
// bytes a group, the limit is some 20 MiB.
const maxGroups = 1 << 16

// fanKey identifies identical payloads of one server: a 64-bit seeded hash
// of the payload with its length. Two different payloads of one server
// within a window collide with odds of about 2⁻⁶⁴ per pair, which is why
// the bytes themselves are not kept nor compared: memory stays a few words
// per open group whatever the messages' size.
type fanKey struct {
	server netip.AddrPort
	hash   uint64
	length int
}

// group is the copies of one payload seen so far: one broadcast, or a
// unicast while it has a single copy.
type group struct {
	key      fanKey
	start    time.Time // the first copy's time, which the window counts from
	min, max time.Time // the earliest and latest copy (capture times may step back)
	copies   uint64
	conns    []uint64            // the connections with a copy, up to groupScan
	set      map[uint64]struct{} // all of them, once there are more; reused empty
	fan      *serverFan
	done     bool // finished and counted, but still in the queue
}

func (g *group) has(id uint64) bool {
	if len(g.set) > 0 {
		_, ok := g.set[id]
		return ok
	}
	return slices.Contains(g.conns, id)
}

func (g *group) add(id uint64, t time.Time) {
	switch {
	case len(g.set) > 0:
		g.set[id] = struct{}{}
	case len(g.conns) < groupScan:
		g.conns = append(g.conns, id)
	default:
		if g.set == nil {
			g.set = make(map[uint64]struct{}, 2*groupScan)
		}
		for _, c := range g.conns {
			g.set[c] = struct{}{}
		}
		g.set[id] = struct{}{}
	}
	g.copies++
	if t.Before(g.min) {
		g.min = t
	}
	if t.After(g.max) {
		g.max = t
	}
}

// serverFan is one server's fan-out figures, for the groups finished.
type serverFan struct {
	server                       netip.AddrPort
	messages                     uint64 // data messages to clients, each in one group
	unicasts, broadcasts, copies uint64
	copiesMax                    uint64
	cut                          uint64 // groups finished early, past maxGroups
	spread                       hist   // first to last copy of each broadcast, in ns
}

// record counts a finished group.
func (s *serverFan) record(g *group) {
	if g.copies < 2 {
		s.unicasts++
		return
	}
	s.broadcasts++
	s.copies += g.copies
	s.copiesMax = max(s.copiesMax, g.copies)
	s.spread.add(uint64(g.max.Sub(g.min)))
}

// fanout groups the servers' data messages to their clients. Its state is
// the groups still open, those begun within FanoutWindow of the latest
// capture time (and those queued behind them), and never more than
// maxGroups, however long the capture: each is evicted, counted, once time
// passes its window.
type fanout struct {
	seed maphash.Seed
	open map[fanKey]*group
	// queue holds the groups in the order they began, from qhead on;
	// the open ones are evicted from its front as time advances, and
	// the done ones (finished early by a copy past their window or a
	// second copy to one connection) are dropped when they reach it.
	queue []*group
	qhead int
	free  []*group  // groups to reuse, so that steady state allocates nothing
	now   time.Time // the latest capture time seen: eviction never goes back

	servers map[netip.AddrPort]*serverFan
	last    *serverFan // the server of the last message, the usual next one
}

func newFanout() *fanout {
	return &fanout{
		seed:    maphash.MakeSeed(),
		open:    make(map[fanKey]*group),
		servers: make(map[netip.AddrPort]*serverFan),
	}
}

// add counts a server → client data message (not a control frame, not a
// heartbeat). A copy joins the open group of its payload unless the group
// began more than FanoutWindow before it, or already has a copy on the
// same connection: then the group is finished and the copy begins a new
// one. A second copy on one connection is the server saying the same
// thing twice (a user repeating "hi"), not the fan-out of one broadcast.
func (f *fanout) add(e *decode.Event) {
	t := e.Time
	if t.After(f.now) {
		f.now = t
		f.evict()
	}
	s := f.last
	if s == nil || s.server != e.Server {
		s = f.servers[e.Server]
		if s == nil {
			s = &serverFan{server: e.Server}
			f.servers[e.Server] = s
		}
		f.last = s
	}
	s.messages++
	k := fanKey{server: e.Server, hash: maphash.Bytes(f.seed, e.Payload), length: e.Length}
	g := f.open[k]
	if g != nil && (t.Sub(g.start) > FanoutWindow || g.has(e.ConnID)) {
		f.finish(g)
		g = nil
	}
	if g == nil {
		g = f.begin(k, t, s)
	}
	g.add(e.ConnID, t)
}

func (f *fanout) begin(k fanKey, t time.Time, s *serverFan) *group {
	var g *group
	if n := len(f.free); n > 0 {
		g = f.free[n-1]
		f.free = f.free[:n-1]
	} else {
		g = new(group)
	}
	g.key, g.start, g.min, g.max, g.fan = k, t, t, t, s
	f.open[k] = g
	f.queue = append(f.queue, g)
	if f.live() > maxGroups {
		// More distinct payloads within one window than the limit:
		// the oldest group is finished early, and counted as cut.
		if h := f.queue[f.qhead]; !h.done {
			h.fan.cut++
		}
		f.pop()
	}
	return g
}

// finish counts g and closes it; it stays queued until it reaches the
// front.
func (f *fanout) finish(g *group) {
	g.fan.record(g)
	delete(f.open, g.key)
	g.done = true
}

// evict finishes the groups whose window has passed, from the front of
// the queue, and recycles them.
func (f *fanout) evict() {
	for f.qhead < len(f.queue) {
		g := f.queue[f.qhead]
		if !g.done && f.now.Sub(g.start) <= FanoutWindow {
			break
		}
		f.pop()
	}
}

// pop finishes the group at the front of the queue, unless it is done
// already, and recycles it.
func (f *fanout) pop() {
	g := f.queue[f.qhead]
	if !g.done {
		f.finish(g)
	}
	f.queue[f.qhead] = nil
	f.qhead++
	// Recycled whole, keeping only its list's and set's memory.
	clear(g.set)
	*g = group{conns: g.conns[:0], set: g.set}
	f.free = append(f.free, g)
	// Slide the live part of the queue back to the start once the
	// dead part is the larger: amortised O(1) per group, and the
	// queue's array stays the size of the live state.
	if f.qhead > 64 && f.qhead*2 > len(f.queue) {
		n := copy(f.queue, f.queue[f.qhead:])
		clear(f.queue[n:])
		f.queue, f.qhead = f.queue[:n], 0
	}
}

// live is the number of groups held: open, or done and still queued.
func (f *fanout) live() int { return len(f.queue) - f.qhead }

// report returns each server's figures, ordered by server, counting the
// groups still open as if finished now, without finishing them: Report
// may be called while events still come.
func (f *fanout) report() []Fanout {
	figs := make(map[netip.AddrPort]*serverFan, len(f.servers))
	for k, s := range f.servers {
		c := *s
		figs[k] = &c
	}
	for _, g := range f.open {
		figs[g.key.server].record(g)
	}
	out := make([]Fanout, 0, len(figs))
	for _, s := range figs {
		out = append(out, s.figures())
	}
	slices.SortFunc(out, func(a, b Fanout) int { return a.Server.Compare(b.Server) })
	return out
}

func (s *serverFan) figures() Fanout {
	f := Fanout{
		Server:     s.server,
		Window:     FanoutWindow,
		Messages:   s.messages,
		Unicasts:   s.unicasts,
		Broadcasts: s.broadcasts,
		Copies:     s.copies,
		CopiesMax:  s.copiesMax,
		SpreadP50:  time.Duration(s.spread.quantile(0.50)),
		SpreadP99:  time.Duration(s.spread.quantile(0.99)),
		SpreadMax:  time.Duration(s.spread.max),
		Cut:        s.cut,
	}
	if s.broadcasts > 0 {
		f.CopiesMean = float64(s.copies) / float64(s.broadcasts)
	}
	return f
}
