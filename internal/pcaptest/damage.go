package pcaptest

import (
	"errors"
	"fmt"
	"sort"
)

// The transforms below each take a pcap or pcapng file and return a new
// pcap file of the same link type, damaged in one way. They find TCP
// segments by decoding Ethernet, Linux SLL or SLL2, IPv4 or IPv6, and TCP
// with gopacket; other packets pass through untouched. A "data segment" is
// a TCP segment with a payload that the capture kept whole.
//
// They expect a real capture as input (segments in order, no damage yet):
// that is how they tell handshake bytes from WebSocket bytes.

// ErrNoSuchSegment is returned by DropSegment when the capture has fewer
// WebSocket segments on that side than asked for.
var ErrNoSuchSegment = errors.New("no such segment")

func load(capture []byte) (*analysis, error) {
	c, err := Parse(capture)
	if err != nil {
		return nil, err
	}
	return analyze(c), nil
}

// frameGroups returns, per connection and side, the data segments that
// carry only WebSocket bytes, in capture order.
func (a *analysis) frameGroups() [][]*segment {
	var groups [][]*segment
	for _, k := range a.order {
		cn := a.conns[k]
		for side := range cn.segments {
			var g []*segment
			for _, s := range cn.segments[side] {
				if !s.truncated && a.carriesFrames(s) {
					g = append(g, s)
				}
			}
			groups = append(groups, g)
		}
	}
	return groups
}

// Reorder swaps the WebSocket data segments (those after the handshake) of
// each direction of each connection in pairs (first with second, third with
// fourth, …), as a network that reorders packets would deliver them. The
// handshake stays in place: a 101 seen before its request is another kind
// of damage, which even tshark does not follow. The records keep their timestamps
// in place, so the file stays in time order, as a real capture of
// out-of-order arrivals does.
func Reorder(capture []byte) ([]byte, error) {
	a, err := load(capture)
	if err != nil {
		return nil, fmt.Errorf("reorder: %w", err)
	}
	pk := a.c.Packets
	for _, g := range a.frameGroups() {
		for i := 0; i+1 < len(g); i += 2 {
			x, y := g[i].index, g[i+1].index
			tx, ty := pk[x].CI.Timestamp, pk[y].CI.Timestamp
			pk[x], pk[y] = pk[y], pk[x]
			pk[x].CI.Timestamp, pk[y].CI.Timestamp = tx, ty
		}
	}
	return a.c.Bytes()
}

// Duplicate retransmits every data segment: an identical copy of each one
// appears again after the next packet of its connection (or right after it
// when it is the connection's last), stamped with the time of the packet it
// follows. A reassembler must deliver each byte once.
func Duplicate(capture []byte) ([]byte, error) {
	a, err := load(capture)
	if err != nil {
		return nil, fmt.Errorf("duplicate: %w", err)
	}
	in := a.c.Packets
	// copiesAfter[i] lists the data segments whose copy goes after packet i.
	copiesAfter := make([][]int, len(in))
	last := map[connKey]int{} // the connection's previous packet
	for i, s := range a.segs {
		if s == nil {
			continue
		}
		k := keyOf(s)
		if j, ok := last[k]; ok && isData(a.segs[j]) {
			copiesAfter[i] = append(copiesAfter[i], j)
		}
		last[k] = i
	}
	for _, j := range last {
		if isData(a.segs[j]) {
			copiesAfter[j] = append(copiesAfter[j], j)
		}
	}
	out := make([]Packet, 0, 2*len(in))
	for i, p := range in {
		out = append(out, p)
		for _, j := range copiesAfter[i] {
			dup := in[j]
			dup.CI.Timestamp = p.CI.Timestamp
			out = append(out, dup)
		}
	}
	a.c.Packets = out
	return a.c.Bytes()
}

func isData(s *segment) bool { return s != nil && len(s.payload) > 0 && !s.truncated }

// Overlap splits every data segment of three bytes or more into two
// segments that overlap by a third of its bytes: the first carries bytes
// [0, 2n/3), the second [n/3, n) with the sequence number moved on, both
// with the same (consistent) bytes where they overlap. FIN and PSH stay on
// the second. IP lengths and checksums are recomputed.
func Overlap(capture []byte) ([]byte, error) {
	a, err := load(capture)
	if err != nil {
		return nil, fmt.Errorf("overlap: %w", err)
	}
	out := make([]Packet, 0, 2*len(a.c.Packets))
	for i, p := range a.c.Packets {
		s := a.segs[i]
		n := 0
		if s != nil && !s.truncated && s.ip != nil {
			n = len(s.payload)
		}
		if n < 3 {
			out = append(out, p)
			continue
		}
		first, err := s.rebuild(s.seq, s.payload[:2*n/3], false, false)
		if err != nil {
			return nil, fmt.Errorf("overlap: packet %d: %w", i+1, err)
		}
		second, err := s.rebuild(s.seq+uint32(n/3), s.payload[n/3:], s.fin, s.tcp.PSH)
		if err != nil {
			return nil, fmt.Errorf("overlap: packet %d: %w", i+1, err)
		}
		for _, d := range [][]byte{first, second} {
			ci := p.CI
			ci.CaptureLength, ci.Length = len(d), len(d)
			out = append(out, Packet{CI: ci, Data: d})
		}
	}
	a.c.Packets = out
	return a.c.Bytes()
}

// DropSegment removes the n-th (from 0) data segment sent by side that
// carries only WebSocket bytes, counting over all connections in capture
// order. The receiver of that direction then sees a gap. Use
// FrameSegments to know how many there are.
func DropSegment(capture []byte, side Side, n int) ([]byte, error) {
	a, err := load(capture)
	if err != nil {
		return nil, fmt.Errorf("drop segment: %w", err)
	}
	segs := a.frameSegments(side)
	if n < 0 || n >= len(segs) {
		return nil, fmt.Errorf("drop segment %d of %s: %w (it has %d)", n, side, ErrNoSuchSegment, len(segs))
	}
	i := segs[n].index
	a.c.Packets = append(a.c.Packets[:i:i], a.c.Packets[i+1:]...)
	return a.c.Bytes()
}

// FrameSegments counts the data segments sent by side that carry only
// WebSocket bytes: the segments DropSegment can remove.
func FrameSegments(capture []byte, side Side) (int, error) {
	a, err := load(capture)
	if err != nil {
		return 0, fmt.Errorf("frame segments: %w", err)
	}
	return len(a.frameSegments(side)), nil
}

// CutHandshake removes, for each upgraded connection, its packets up to and
// including the one that completes the 101 response, as if the capture had
// started just after the upgrade: the SYNs, the GET request and the 101 are
// gone. Connections that were not upgraded are left alone.
func CutHandshake(capture []byte) ([]byte, error) {
	a, err := load(capture)
	if err != nil {
		return nil, fmt.Errorf("cut handshake: %w", err)
	}
	cut := 0
	out := a.c.Packets[:0:0]
	for i, p := range a.c.Packets {
		if s := a.segs[i]; s != nil {
			cn := a.conns[keyOf(s)]
			if cn.upgraded() && i <= cn.dirs[Server].hdrIndex {
				cut++
				continue
			}
		}
		out = append(out, p)
	}
	if cut == 0 {
		return nil, errors.New("cut handshake: no 101 response in the capture")
	}
	a.c.Packets = out
	return a.c.Bytes()
}

// Snaplen cuts every packet to at most n bytes, as `tcpdump -s n` does: the
// captured length shrinks, the original length is kept, and the file header
// says n.
func Snaplen(capture []byte, n int) ([]byte, error) {
	if n <= 0 {
		return nil, fmt.Errorf("snaplen %d: must be positive", n)
	}
	c, err := Parse(capture)
	if err != nil {
		return nil, fmt.Errorf("snaplen: %w", err)
	}
	for i := range c.Packets {
		p := &c.Packets[i]
		if len(p.Data) > n {
			p.Data = p.Data[:n]
			p.CI.CaptureLength = n
		}
	}
	c.Snaplen = uint32(n)
	return c.Bytes()
}

// CutMidRecord returns the capture as pcap, cut in the middle of the packet
// data of the record that holds the file's middle byte: the way a capture
// ends when it is copied while tcpdump is still writing it, or when the
// disk fills up. The last record header is whole and promises more bytes
// than remain.
func CutMidRecord(capture []byte) ([]byte, error) {
	c, err := Parse(capture)
	if err != nil {
		return nil, fmt.Errorf("cut mid-record: %w", err)
	}
	b, err := c.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cut mid-record: %w", err)
	}
	offs, err := recordOffsets(b)
	if err != nil {
		return nil, fmt.Errorf("cut mid-record: %w", err)
	}
	// Start from the last record that begins at or before the middle, and
	// go back past records too short to cut inside.
	mid := len(b) / 2
	for i := sort.SearchInts(offs, mid+1) - 1; i >= 0; i-- {
		if caplen := len(c.Packets[i].Data); caplen >= 2 {
			return b[:offs[i]+pcapRecordHeaderLen+caplen/2], nil
		}
	}
	return nil, errors.New("cut mid-record: no record with two bytes of data or more")
}
