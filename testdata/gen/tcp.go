package main

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagPSH = 0x08
	flagACK = 0x10
)

// Sides of a connection, the index of conn.ep.
const (
	client = 0
	server = 1
)

// Header sizes. Every segment carries the timestamp option, as Linux's do,
// so that -mss 1448 fills a 1500-byte MTU exactly as on a real network.
const (
	ipv4Header   = 20
	ipv6Header   = 40
	tcpHeader    = 20 + 12 // nop, nop, timestamps
	tcpSynHeader = 20 + 20 // mss, sackOK, timestamps, nop, wscale
	maxLinkHdr   = 20      // SLL2
	// maxPacket bounds the packet buffer: headers plus the largest -mss.
	maxPacket = maxLinkHdr + ipv6Header + tcpSynHeader + maxMSS
	// snapLen is the file's snapshot length, what tcpdump writes by default.
	snapLen = 262144
)

// Link types the generator can write: loopback captures as tcpdump -i lo
// (Ethernet with zero addresses) and tcpdump -i any (SLL, SLL2) record them.
var linkTypes = map[string]layers.LinkType{
	"ethernet": layers.LinkTypeEthernet,
	"sll":      layers.LinkTypeLinuxSLL,
	"sll2":     layers.LinkTypeLinuxSLL2,
}

// arphrdLoopback is the ARPHRD_ type of the loopback device in SLL headers.
const arphrdLoopback = 772

// endpoint is one side of a TCP connection.
type endpoint struct {
	addr   [16]byte // IPv4 addresses use the first 4 bytes
	port   uint16
	seq    uint32 // the next sequence number this side sends
	ipID   uint16
	tsOff  uint32 // this host's TCP timestamp clock offset
	lastTS uint32 // the last TSval sent, echoed by the peer
	// pending holds frames written but not sent yet: they leave together,
	// so several small frames share one segment.
	pending []byte
	queued  bool // on the generator's list of endpoints with pending bytes
	// ackDue says this side owes its peer an ACK for data received; data
	// it sends first carries the ACK instead.
	ackDue    bool
	ackQueued bool
	defl      *deflater
}

// conn is one TCP connection and, for WebSocket ones, the chat user on it.
type conn struct {
	v6      bool
	addrIdx int // which client address: 0 to clientAddrs-1, clientAddrs for ::1
	ep      [2]endpoint
	user    user
	tls     *tlsConn // with -tls, once its handshake was written
}

// packet writes one TCP segment from side from of c, with everything the
// peer sent acknowledged, and advances from's sequence number.
func (g *gen) packet(c *conn, from int, flags byte, payload []byte) {
	if g.err != nil {
		return
	}
	// Loopback packets follow each other by a few microseconds.
	g.advance(time.Duration(2+g.rng.IntN(25)) * time.Microsecond)
	src, dst := &c.ep[from], &c.ep[1-from]
	b := g.pkt[:0]

	ethertype := uint16(layers.EthernetTypeIPv4)
	if c.v6 {
		ethertype = uint16(layers.EthernetTypeIPv6)
	}
	switch g.link {
	case layers.LinkTypeEthernet:
		b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, ethertype)
	case layers.LinkTypeLinuxSLL:
		b = append(b, 0, 0) // packet type: to us
		b = binary.BigEndian.AppendUint16(b, arphrdLoopback)
		b = append(b, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, ethertype)
	case layers.LinkTypeLinuxSLL2:
		b = binary.BigEndian.AppendUint16(b, ethertype)
		b = append(b, 0, 0, 0, 0, 0, 1) // reserved, interface index 1 (lo)
		b = binary.BigEndian.AppendUint16(b, arphrdLoopback)
		b = append(b, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0)
	}

	thl := tcpHeader
	if flags&flagSYN != 0 {
		thl = tcpSynHeader
	}
	tcpLen := thl + len(payload)
	ipStart := len(b)
	var pseudo uint64
	if c.v6 {
		b = append(b, 0x60, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(tcpLen))
		b = append(b, byte(layers.IPProtocolTCP), 64)
		b = append(b, src.addr[:]...)
		b = append(b, dst.addr[:]...)
		pseudo = sum16(b[ipStart+8:ipStart+40], uint64(tcpLen)+uint64(layers.IPProtocolTCP))
	} else {
		b = append(b, 0x45, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(ipv4Header+tcpLen))
		b = binary.BigEndian.AppendUint16(b, src.ipID)
		b = append(b, 0x40, 0, 64, byte(layers.IPProtocolTCP), 0, 0) // DF, TTL 64
		b = append(b, src.addr[:4]...)
		b = append(b, dst.addr[:4]...)
		binary.BigEndian.PutUint16(b[ipStart+10:], fold(sum16(b[ipStart:], 0)))
		pseudo = sum16(b[ipStart+12:ipStart+20], uint64(tcpLen)+uint64(layers.IPProtocolTCP))
		src.ipID++
	}

	tcpStart := len(b)
	ack := uint32(0)
	if flags&flagACK != 0 {
		ack = dst.seq
	}
	tsval := uint32(g.now/int64(time.Millisecond)) + src.tsOff
	src.lastTS = tsval
	b = binary.BigEndian.AppendUint16(b, src.port)
	b = binary.BigEndian.AppendUint16(b, dst.port)
	b = binary.BigEndian.AppendUint32(b, src.seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, byte(thl/4)<<4, flags)
	if flags&flagSYN != 0 {
		b = binary.BigEndian.AppendUint16(b, 65535)
		b = append(b, 0, 0, 0, 0) // checksum, urgent pointer
		b = append(b, 2, 4)
		b = binary.BigEndian.AppendUint16(b, uint16(g.o.MSS+12)) // the MSS option counts no TCP options
		b = append(b, 4, 2, 8, 10)
		b = binary.BigEndian.AppendUint32(b, tsval)
		b = binary.BigEndian.AppendUint32(b, dst.lastTS)
		b = append(b, 1, 3, 3, 7) // nop, window scale 7
	} else {
		b = binary.BigEndian.AppendUint16(b, 512) // 64 KiB with window scale 7
		b = append(b, 0, 0, 0, 0)
		b = append(b, 1, 1, 8, 10)
		b = binary.BigEndian.AppendUint32(b, tsval)
		b = binary.BigEndian.AppendUint32(b, dst.lastTS)
	}
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[tcpStart+16:], fold(sum16(b[tcpStart:], pseudo)))

	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, g.now), CaptureLength: len(b), Length: len(b)}
	if err := g.pw.WritePacket(ci, b); err != nil {
		g.err = fmt.Errorf("write packet %d: %w", g.exp.Packets+1, err)
		return
	}
	g.pkt = b
	if g.exp.Packets == 0 {
		g.exp.FirstTime = ci.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	g.written += int64(16 + len(b))
	g.exp.Packets++
	g.exp.TCPPayloadBytes.add(from, len(payload))

	src.seq += uint32(len(payload))
	if flags&(flagSYN|flagFIN) != 0 {
		src.seq++
	}
	if len(payload) > 0 || flags&flagFIN != 0 {
		src.ackDue = false // the peer is told what from received with this segment
	}
}

// sum16 adds b to the ones' complement sum s, as big-endian 16-bit words
// (a last odd byte padded with zero). It reads eight bytes at a time: the
// 32-bit halves of each word fold to the same sum modulo 0xffff, and a
// uint64 cannot overflow within a packet.
func sum16(b []byte, s uint64) uint64 {
	for len(b) >= 8 {
		x := binary.BigEndian.Uint64(b)
		s += x>>32 + x&0xffffffff
		b = b[8:]
	}
	if len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold turns a sum into the checksum field: folded to 16 bits and inverted.
func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// sendData sends data from side from as MSS-sized segments, PSH on the
// last. The receiver ACKs every second full segment inline, as Linux's
// delayed ACK does on a bulk transfer, and owes an ACK for the rest.
func (g *gen) sendData(c *conn, from int, data []byte) {
	for n := 0; len(data) > 0; n++ {
		seg := data[:min(len(data), g.o.MSS)]
		data = data[len(seg):]
		flags := byte(flagACK)
		if len(data) == 0 {
			flags |= flagPSH
		}
		g.packet(c, from, flags, seg)
		if n%2 == 1 && len(data) > 0 {
			g.packet(c, 1-from, flagACK, nil)
		}
	}
	g.owe(c, 1-from)
}

// owe records that side of c owes its peer an ACK, sent at the end of the
// step unless data from that side carries it first.
func (g *gen) owe(c *conn, side int) {
	ep := &c.ep[side]
	ep.ackDue = true
	if !ep.ackQueued {
		ep.ackQueued = true
		g.acks = append(g.acks, sideRef{c, side})
	}
}

// write queues data (one or more frames) from side from. It leaves at once,
// or (a quarter of the time) waits in pending to share segments with what
// that side writes next in the same step, as when a sender outpaces the
// network. Whatever the other side has pending leaves first: a reply never
// overtakes what it answers.
func (g *gen) write(c *conn, from int, data []byte) {
	data = c.protect(from, data)
	if len(c.ep[1-from].pending) > 0 {
		g.flush(c, 1-from)
	}
	ep := &c.ep[from]
	if len(ep.pending)+len(data) > pendingMax {
		// Bulk data goes out at once: coalescing is for small frames, and
		// pending buffers must stay small with thousands of connections.
		g.flush(c, from)
		g.sendData(c, from, data)
		return
	}
	if len(ep.pending) == 0 && g.rng.IntN(4) != 0 {
		g.sendData(c, from, data)
		return
	}
	ep.pending = append(ep.pending, data...)
	if !ep.queued {
		ep.queued = true
		g.pend = append(g.pend, sideRef{c, from})
	}
}

// flush sends what side from of c has pending.
func (g *gen) flush(c *conn, from int) {
	ep := &c.ep[from]
	if len(ep.pending) > 0 {
		g.sendData(c, from, ep.pending)
		ep.pending = ep.pending[:0]
	}
	if cap(ep.pending) > pendingMax {
		ep.pending = nil
	}
}

// pendingMax bounds what waits in one side's pending buffer.
const pendingMax = 8192

// sideRef names one side of one connection.
type sideRef struct {
	c    *conn
	side int
}

// endStep sends everything pending, then the ACKs still owed.
func (g *gen) endStep() {
	for _, r := range g.pend {
		r.c.ep[r.side].queued = false
		g.flush(r.c, r.side)
	}
	g.pend = g.pend[:0]
	for _, r := range g.acks {
		ep := &r.c.ep[r.side]
		ep.ackQueued = false
		if ep.ackDue {
			g.packet(r.c, r.side, flagACK, nil)
			ep.ackDue = false
		}
	}
	g.acks = g.acks[:0]
}
