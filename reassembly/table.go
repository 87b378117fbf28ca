package reassembly

import (
	"time"

	"github.com/gopacket/gopacket"
)

// dirKey names one direction of a connection: the packet's network flow
// (addresses as captured) and its ports. A connection is in the table under
// both of its directions' keys, so a packet is found with one lookup and no
// work to put its endpoints in a canonical order, and its direction comes
// with it.
type dirKey struct {
	flow  gopacket.Flow
	ports uint64 // source port << 16 | destination port
}

// reverse is the key of the other direction.
func (k dirKey) reverse() dirKey {
	return dirKey{k.flow.Reverse(), k.ports>>16 | (k.ports&0xffff)<<16}
}

// conn is one connection's state.
type conn struct {
	// What every packet uses fills the first cache line, and padding
	// makes a conn 7 lines long, a size the allocator hands out aligned to
	// a line: an in-order packet reads two lines of its connection, this
	// one and its direction's key.
	//
	// conn is the Handler's (discard when it ignored the connection), nil
	// once End was called: the connection then stays known, swallowing its
	// late packets, until it idles out or a new SYN replaces it.
	conn     Conn
	lastSeen int64   // capture time of the last packet, in ns since 1970
	moved    int64   // when it last moved to the back of Assembler.lru
	half     [2]half // by Dir

	hashes     [2]uint64 // of keys
	buffered   int       // bytes of out-of-order data held, as counted by cost
	id         uint64
	tick       uint64 // the last Assembler.ticks that flushed it
	prev, next *conn  // in Assembler.lru
	first      Dir    // direction of the packet that opened it

	keys [2]dirKey // by Dir: the key of packets sent that way, a line each
	q    [2]queue  // by Dir
	_    [16]byte
}

// over reports whether End was called.
func (c *conn) over() bool { return c.conn == nil }

// flushOrder is the order in which c's directions give up on missing
// bytes when both do at once: the direction opposite to the connection's
// first packet first, as gopacket did. The decoder may read the first gap
// of a connection it has not recognized yet differently from the second,
// so keeping the order keeps the output the same as before.
func (c *conn) flushOrder() [2]Dir { return [2]Dir{c.first.Reverse(), c.first} }

// init clears c for use, keeping its queues' capacity unless a burst of
// reordering made them large: a thousand idle connections must not each
// pin their peak.
func (c *conn) init() {
	segs := [2][]segment{c.q[0].segs[:0], c.q[1].segs[:0]}
	*c = conn{}
	for d := range c.half {
		if cap(segs[d]) > maxKeptSegs {
			segs[d] = nil
		}
		c.half[d] = half{dir: Dir(d), q: &c.q[d]}
		c.q[d] = queue{c: c, h: &c.half[d], segs: segs[d]}
	}
}

// maxKeptSegs is the largest queue capacity a reused connection keeps.
const maxKeptSegs = 64

// half is what one direction of a connection needs for in-order data;
// the rest is in its queue.
type half struct {
	next uint32 // sequence number of the next byte to deliver
	dir  Dir
	// started: next is known, from the direction's SYN or, without one,
	// from its first packet (a connection caught midway).
	started bool
	closed  bool // its FIN was reached: nothing more is delivered
	// held: q has segments or a FIN, and is in Assembler.gaps.
	held bool
	q    *queue
}

// queue is what one direction holds ahead of its data.
type queue struct {
	// segs is the out-of-order data: sorted, not overlapping, every
	// segment after next.
	segs []segment
	// fin: a FIN was seen at finSeq, ahead of next (bytes before it are
	// missing), at capture time finSeen.
	fin          bool
	finSeq       uint32
	finSeen      time.Time
	c            *conn
	h            *half
	gprev, gnext *queue // in Assembler.gaps
}

// segment is out-of-order data waiting for the bytes before it.
type segment struct {
	seq  uint32
	data []byte    // the bytes still to deliver, within buf
	buf  []byte    // from the Assembler's bufPool
	seen time.Time // capture time of the packet that carried it
}

func (s *segment) end() uint32 { return s.seq + uint32(len(s.data)) }

// oldest is the capture time of the oldest thing q holds. The gap timeout runs from it: bytes are delivered in order, so a
// segment waits no longer than any after it.
func (q *queue) oldest() time.Time {
	var t time.Time
	set := false
	if q.fin {
		t, set = q.finSeen, true
	}
	for i := range q.segs {
		if !set || q.segs[i].seen.Before(t) {
			t, set = q.segs[i].seen, true
		}
	}
	return t
}

// connList is a doubly linked list of connections through conn.prev/next.
type connList struct{ front, back *conn }

func (l *connList) pushBack(c *conn) {
	c.prev, c.next = l.back, nil
	if l.back != nil {
		l.back.next = c
	} else {
		l.front = c
	}
	l.back = c
}

func (l *connList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if l.front == c {
		l.front = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if l.back == c {
		l.back = c.prev
	}
	c.prev, c.next = nil, nil
}

// queueList is a doubly linked list of queues through queue.gprev/gnext,
// in the order they joined it; a queue is in it when its half is held.
type queueList struct{ front, back *queue }

func (l *queueList) add(q *queue) {
	if q.h.held {
		return
	}
	q.h.held = true
	q.gprev, q.gnext = l.back, nil
	if l.back != nil {
		l.back.gnext = q
	} else {
		l.front = q
	}
	l.back = q
}

func (l *queueList) remove(q *queue) {
	if !q.h.held {
		return
	}
	q.h.held = false
	if q.gprev != nil {
		q.gprev.gnext = q.gnext
	} else {
		l.front = q.gnext
	}
	if q.gnext != nil {
		q.gnext.gprev = q.gprev
	} else {
		l.back = q.gprev
	}
	q.gprev, q.gnext = nil, nil
}
