package reassembly

import (
	"time"

	"github.com/gopacket/gopacket/layers"
)

// maxAhead is how far past the next expected byte a segment may start and
// still be kept for later. A TCP window is at most 1 GiB (RFC 7323), so a
// segment further ahead is garbage or from another connection; refusing it
// also keeps every queued sequence number within half the sequence space
// of the others, where serial arithmetic orders them.
const maxAhead = 1 << 30

// maxScratch bounds the join buffer kept between Data calls.
const maxScratch = 256 << 10

// after returns how far sequence number x is after y, negative when it is
// before: serial arithmetic (RFC 1982), so numbers wrap around 2³².
func after(x, y uint32) int { return int(int32(x - y)) }

// segment assembles one packet on direction d of c, which is open.
// Checksums are not verified: captures on the sending host carry unfinished
// ones (offload).
func (a *Assembler) segment(c *conn, d Dir, tcp *layers.TCP, t time.Time) {
	h := &c.half[d]
	seq := tcp.Seq
	payload := tcp.Payload
	switch {
	case tcp.SYN && h.started:
		// A SYN on a synchronized direction (most often a retransmitted
		// SYN) is answered with a challenge ACK and dropped by the
		// receiver (RFC 5961): its payload is not stream data.
		return
	case tcp.SYN:
		h.started = true
		seq++
		h.next = seq
	case !h.started:
		// The direction's SYN was not captured: it starts here.
		h.started = true
		h.next = seq
	}
	if h.closed {
		// Past its FIN a direction sends nothing but perhaps a RST (at the
		// FIN's sequence number or the one after), which aborts the
		// connection.
		if tcp.RST && (seq == h.next || seq == h.next-1) {
			a.reset(c, t)
		}
		return
	}
	ahead := after(seq, h.next)
	if ahead > 0 {
		// Bytes before this segment are missing: keep it for later. A RST
		// not at the next sequence number is dropped by the receiver (RFC
		// 5961), so it must not end the stream.
		if tcp.RST || ahead >= maxAhead {
			return
		}
		if len(payload) > 0 {
			a.queue(c, h, seq, payload, t)
		}
		if tcp.FIN && !h.closed && !c.over() {
			// Its FIN is kept too (it has no bytes to queue): when the
			// data reaches it the direction ends, and when it times out
			// the bytes before it are a gap.
			q := h.q
			q.fin, q.finSeq, q.finSeen = true, seq+uint32(len(payload)), t
			a.gaps.add(q)
		}
		return
	}
	if ahead < 0 {
		// A retransmission, perhaps with new bytes at its end. A RST or
		// FIN before the next byte is out of the receiver's window and
		// ignored as it would be.
		end := seq + uint32(len(payload))
		if tcp.RST || (tcp.FIN && after(end, h.next) < 0) {
			return
		}
		if after(end, h.next) <= 0 {
			payload = nil
		} else {
			payload = payload[-ahead:]
		}
	}
	a.deliver(c, h, payload, t)
	switch {
	case c.over():
	case tcp.RST:
		a.reset(c, t)
	case tcp.FIN && !h.closed:
		a.closeHalf(c, h)
	}
}

// queue keeps the out-of-order bytes b, starting at seq (after h.next).
// Where they overlap bytes already queued, the newer copy wins, as it did
// with gopacket. Past the memory bounds, h stops waiting for its missing
// bytes.
func (a *Assembler) queue(c *conn, h *half, seq uint32, b []byte, t time.Time) {
	q := h.q
	end := seq + uint32(len(b))
	segs := q.segs
	// i: the first segment that ends after seq (ends are sorted too, as
	// segments do not overlap).
	lo, hi := 0, len(segs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if after(segs[m].end(), seq) > 0 {
			hi = m
		} else {
			lo = m + 1
		}
	}
	i := lo
	if i < len(segs) && after(segs[i].seq, seq) <= 0 && after(segs[i].end(), end) >= 0 {
		return // nothing new: all of it is queued already
	}
	if i < len(segs) && after(segs[i].seq, seq) < 0 {
		segs[i].data = segs[i].data[:after(seq, segs[i].seq)]
		i++
	}
	j := i
	for j < len(segs) && after(segs[j].end(), end) <= 0 {
		a.freeSeg(c, &segs[j])
		j++
	}
	if j < len(segs) && after(segs[j].seq, end) < 0 {
		n := after(end, segs[j].seq)
		segs[j].data = segs[j].data[n:]
		segs[j].seq = end
	}
	s := segment{seq: seq, buf: a.bufs.get(len(b)), seen: t}
	s.data = s.buf
	copy(s.data, b)
	switch {
	case j > i:
		// The new segment replaces the ones it covers.
		segs[i] = s
		segs = append(segs[:i+1], segs[j:]...)
		clear(q.segs[len(segs):])
	default:
		segs = append(segs, segment{})
		copy(segs[i+1:], segs[i:])
		segs[i] = s
	}
	q.segs = segs
	n := cost(&s)
	c.buffered += n
	a.buffered += n
	a.gaps.add(q)
	for (c.buffered > a.perConn || a.buffered > a.total) && len(q.segs) > 0 && !h.closed && !c.over() {
		a.skipGap(c, h)
	}
}

// freeSeg gives back a queued segment's buffer.
func (a *Assembler) freeSeg(c *conn, s *segment) {
	n := cost(s)
	c.buffered -= n
	a.buffered -= n
	a.bufs.put(s.buf)
	*s = segment{}
}

// deliver hands the in-order bytes b (perhaps none), which start at h.next
// and were captured at t, to the Conn, followed by the queued segments that
// continue them, in one Data call whose time is that of the last bytes.
func (a *Assembler) deliver(c *conn, h *half, b []byte, t time.Time) {
	h.next += uint32(len(b))
	if !h.held {
		// Nothing queued: the common case reads no more of c.
		if len(b) > 0 {
			c.conn.Data(h.dir, b, t)
		}
		return
	}
	q := h.q
	if len(q.segs) > 0 {
		a.drop(c, h)
	}
	// k: how many queued segments continue b.
	k, end := 0, h.next
	for k < len(q.segs) && q.segs[k].seq == end {
		end = q.segs[k].end()
		k++
	}
	switch {
	case k == 0:
		if len(b) > 0 {
			c.conn.Data(h.dir, b, t)
		}
	case k == 1 && len(b) == 0:
		c.conn.Data(h.dir, q.segs[0].data, q.segs[0].seen)
	default:
		buf := append(a.scratch[:0], b...)
		for i := range k {
			buf = append(buf, q.segs[i].data...)
		}
		c.conn.Data(h.dir, buf, q.segs[k-1].seen)
		if cap(buf) <= maxScratch {
			a.scratch = buf
		}
	}
	if k > 0 {
		h.next = end
		for i := range k {
			a.freeSeg(c, &q.segs[i])
		}
		n := copy(q.segs, q.segs[k:])
		q.segs = q.segs[:n]
	}
	if q.fin && after(q.finSeq, h.next) <= 0 {
		// The data reached a FIN that came ahead of it.
		a.closeHalf(c, h)
		return
	}
	if len(q.segs) == 0 && !q.fin {
		a.gaps.remove(q)
	}
}

// drop forgets the queued bytes before h.next, which were just delivered.
func (a *Assembler) drop(c *conn, h *half) {
	q := h.q
	k := 0
	for k < len(q.segs) && after(q.segs[k].end(), h.next) <= 0 {
		a.freeSeg(c, &q.segs[k])
		k++
	}
	if k > 0 {
		n := copy(q.segs, q.segs[k:])
		clear(q.segs[n:])
		q.segs = q.segs[:n]
	}
	if len(q.segs) > 0 {
		if n := after(h.next, q.segs[0].seq); n > 0 {
			q.segs[0].data = q.segs[0].data[n:]
			q.segs[0].seq = h.next
		}
	}
}

// skipGap gives up on the bytes missing before h's first queued segment:
// a Gap for them, then the segment and those that continue it. Without
// queued segments, the missing bytes are those before a FIN, and the
// direction ends after the Gap.
func (a *Assembler) skipGap(c *conn, h *half) {
	q := h.q
	if len(q.segs) > 0 {
		// The Gap's time is that of the Data after it.
		k, end := 1, q.segs[0].end()
		for k < len(q.segs) && q.segs[k].seq == end {
			end = q.segs[k].end()
			k++
		}
		c.conn.Gap(h.dir, after(q.segs[0].seq, h.next), q.segs[k-1].seen)
		h.next = q.segs[0].seq
		a.deliver(c, h, nil, time.Time{})
		return
	}
	if q.fin {
		c.conn.Gap(h.dir, after(q.finSeq, h.next), a.now)
		h.next = q.finSeq
		a.closeHalf(c, h)
		return
	}
	a.gaps.remove(q)
}

// release drops whatever h holds ahead of its data.
func (a *Assembler) release(h *half) {
	q := h.q
	for i := range q.segs {
		a.freeSeg(q.c, &q.segs[i])
	}
	q.segs = q.segs[:0]
	q.fin = false
	a.gaps.remove(q)
}

// closeHalf ends direction h at its FIN (which takes a sequence number);
// the connection ends when both directions have.
func (a *Assembler) closeHalf(c *conn, h *half) {
	a.release(h)
	h.closed = true
	h.next++
	if c.half[0].closed && c.half[1].closed {
		a.end(c, EndFIN, a.now)
	}
}

// drain delivers everything c's open directions hold, each missing run of
// bytes reported as a Gap. With fins, a FIN ahead of the data then also
// ends its direction, after a Gap for the bytes before it: FINs after all
// data, the client's first, as gopacket's wrapper reported them.
func (a *Assembler) drain(c *conn, fins bool) {
	for _, d := range c.flushOrder() {
		h := &c.half[d]
		for len(h.q.segs) > 0 && !h.closed && !c.over() {
			a.skipGap(c, h)
		}
	}
	for d := range c.half {
		if h := &c.half[d]; fins && h.q.fin && !h.closed && !c.over() {
			a.skipGap(c, h)
		}
	}
}

// reset ends c at a RST seen at t, after delivering, past gaps, what its
// directions hold: the capture lost those bytes, the receiver most likely
// did not.
func (a *Assembler) reset(c *conn, t time.Time) {
	a.drain(c, false)
	if !c.over() {
		a.end(c, EndRST, t)
	}
}

// end tells the Conn that c ended, and lets go of it. c stays known until
// it idles out.
func (a *Assembler) end(c *conn, reason EndReason, t time.Time) {
	for d := range c.half {
		a.release(&c.half[d])
	}
	cn := c.conn
	c.conn = nil
	cn.End(reason, t)
}
