package reassembly

import (
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	gr "github.com/gopacket/gopacket/reassembly"
)

// Defaults for Options. Buffered pages hold out-of-order segments; a page is
// about 1.9 KB, so the total bounds the assembler's memory at about 60 MB.
const (
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultGapTimeout   = 3 * time.Second
	DefaultPagesPerConn = 2048
	DefaultPagesTotal   = 32768
	flushEvery          = time.Second // of capture time
)

// Options tunes an Assembler. The zero value gives the defaults.
type Options struct {
	// ServerPorts are the ports the user asked for (-p). A connection whose
	// SYN was not captured has its server guessed from them.
	ServerPorts []uint16
	// IdleTimeout ends connections with no packet for this long (capture time).
	IdleTimeout time.Duration
	// GapTimeout is how long out-of-order data waits for a missing segment
	// before the missing bytes are declared lost (a gap).
	GapTimeout   time.Duration
	PagesPerConn int
	PagesTotal   int
}

// Stats counts what the assembler saw.
type Stats struct {
	Packets     uint64 // TCP packets fed
	Connections uint64 // connections seen
}

// Assembler reassembles TCP streams and hands them to a Handler. It is not
// safe for concurrent use: one loop feeds it.
type Assembler struct {
	opts      Options
	handler   Handler
	asm       *gr.Assembler
	nextID    uint64
	lastFlush time.Time
	now       time.Time
	// ending is the reason given to connections closed by the flush under way.
	ending EndReason
	stats  Stats
	// contexts are handed out from a slab so that feeding a packet does not
	// allocate; buffered pages keep their packet's context alive.
	contexts []packetContext
}

// packetContext carries a packet's capture info through gopacket's assembler.
type packetContext struct{ ci gopacket.CaptureInfo }

func (c *packetContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

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
	a := &Assembler{opts: opts, handler: h}
	pool := gr.NewStreamPool(&streamFactory{a: a})
	a.asm = gr.NewAssembler(pool)
	a.asm.MaxBufferedPagesPerConnection = opts.PagesPerConn
	a.asm.MaxBufferedPagesTotal = opts.PagesTotal
	return a
}

// Stats returns the counters so far.
func (a *Assembler) Stats() Stats { return a.stats }

// Feed hands one TCP packet to the assembler. Data it completes is delivered
// to the Handler before Feed returns. Time only moves forward: a packet
// stamped earlier than one before it does not turn back the clock used for
// timeouts.
func (a *Assembler) Feed(netFlow gopacket.Flow, tcp *layers.TCP, ci gopacket.CaptureInfo) {
	a.stats.Packets++
	// Connections that complete during Feed ended with FIN or RST.
	a.ending = EndFIN
	if ci.Timestamp.After(a.now) {
		a.now = ci.Timestamp
	}
	// Time passes before the packet is assembled, so that a connection idle
	// for too long ends before this packet, perhaps a new SYN on the same
	// ports, is taken for part of it.
	if a.lastFlush.IsZero() {
		a.lastFlush = a.now
	} else if a.now.Sub(a.lastFlush) >= flushEvery {
		a.Tick(a.now)
		a.ending = EndFIN
	}
	if len(a.contexts) == cap(a.contexts) {
		a.contexts = make([]packetContext, 0, 1024)
	}
	a.contexts = append(a.contexts, packetContext{ci: ci})
	a.asm.AssembleWithContext(netFlow, tcp, &a.contexts[len(a.contexts)-1])
}

// Tick flushes by time: data held behind a missing segment for longer than
// the gap timeout is delivered after a Gap, and connections idle for longer
// than the idle timeout end. Feed calls it as capture time passes; a live
// capture also calls it when no packet comes.
func (a *Assembler) Tick(now time.Time) {
	if now.After(a.now) {
		a.now = now
	}
	a.lastFlush = a.now
	a.ending = EndIdle
	a.asm.FlushWithOptions(gr.FlushOptions{
		T:  a.now.Add(-a.opts.GapTimeout),
		TC: a.now.Add(-a.opts.IdleTimeout),
	})
}

// Close delivers what is still buffered, after gaps where segments are
// missing, and ends every connection still open.
func (a *Assembler) Close() {
	a.ending = EndCapture
	a.asm.FlushAll()
}

type streamFactory struct{ a *Assembler }

// New is called by gopacket for the first packet of a connection. The
// Handler hears of the connection only when it carries a SYN or data: the
// last ACK of a closed connection otherwise starts a new, empty one.
func (f *streamFactory) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac gr.AssemblerContext) gr.Stream {
	src, dst := endpoints(netFlow, tcp)
	return &stream{a: f.a, first: [2]netip.AddrPort{src, dst}}
}

// open tells the Handler of the connection, deciding which side is the
// client from the packet that opens it, sent in direction d.
func (s *stream) open(tcp *layers.TCP, d gr.TCPFlowDirection, t time.Time) {
	a := s.a
	a.nextID++
	a.stats.Connections++
	s.opened = true
	fromClient, sawSYN := a.firstPacketFromClient(tcp)
	// gopacket's "client to server" is the direction of the first packet.
	s.firstIsClient = fromClient == (d == gr.TCPDirClientToServer)
	info := ConnInfo{ID: a.nextID, SawSYN: sawSYN, Time: t}
	if s.firstIsClient {
		info.Client, info.Server = s.first[0], s.first[1]
	} else {
		info.Client, info.Server = s.first[1], s.first[0]
	}
	s.conn = a.handler.NewConn(info)
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

// stream adapts one connection to gopacket's Stream interface.
type stream struct {
	a             *Assembler
	first         [2]netip.AddrPort // source and destination of the first packet
	opened        bool              // the Handler was told of the connection
	conn          Conn              // nil until opened, or when the handler ignores it
	firstIsClient bool
	started       [2]bool // a direction has delivered data or been started
	fin, rst      bool
	ended         bool
	// next is where each direction's delivered bytes end (known once it
	// started, while every skip was known), and finAt where its FIN said
	// it ends: bytes lost just before a FIN are followed by no data, so
	// gopacket reports no skip for them; end does.
	next, finAt     [2]gr.Sequence
	nextOK, finSeen [2]bool
}

func (s *stream) dir(d gr.TCPFlowDirection) Dir {
	if (d == gr.TCPDirClientToServer) == s.firstIsClient {
		return ClientToServer
	}
	return ServerToClient
}

// Accept takes every packet: checksums are not verified because captures on
// the sending host carry unfinished checksums (offload). A direction whose
// SYN was not captured is started at its first packet, so connections caught
// midway are still reassembled.
func (s *stream) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir gr.TCPFlowDirection, nextSeq gr.Sequence, start *bool, ac gr.AssemblerContext) bool {
	if !s.opened && (tcp.SYN || len(tcp.Payload) > 0) {
		s.open(tcp, dir, ci.Timestamp)
	}
	if tcp.RST {
		s.rst = true
	}
	if tcp.FIN {
		s.fin = true
	}
	if !*start && nextSeq == -1 && !tcp.SYN {
		*start = true
	}
	if s.opened {
		d := s.dir(dir)
		seq := gr.Sequence(tcp.Seq)
		switch {
		case nextSeq != -1:
		case tcp.SYN:
			s.next[d], s.nextOK[d] = seq.Add(1), true
		case *start:
			s.next[d], s.nextOK[d] = seq, true
		}
		if tcp.FIN {
			s.finAt[d], s.finSeen[d] = seq.Add(len(tcp.Payload)), true
		}
	}
	return true
}

func (s *stream) ReassembledSG(sg gr.ScatterGather, ac gr.AssemblerContext) {
	if s.conn == nil || s.ended {
		return
	}
	d, _, end, skip := sg.Info()
	dir := s.dir(d)
	avail, _ := sg.Lengths()
	var t time.Time
	if avail > 0 {
		t = sg.CaptureInfo(avail - 1).Timestamp
	} else if ac != nil {
		t = ac.GetCaptureInfo().Timestamp
	} else {
		t = s.a.now
	}
	if skip > 0 || (skip < 0 && s.started[dir]) {
		s.conn.Gap(dir, skip, t)
	}
	if skip < 0 {
		s.nextOK[dir] = false
	}
	s.next[dir] = s.next[dir].Add(max(skip, 0) + avail)
	s.started[dir] = true
	if avail > 0 {
		s.conn.Data(dir, sg.Fetch(avail), t)
	}
	// A RST ends the connection at once: gopacket would otherwise keep the
	// other direction open until it idles out.
	if end && s.rst {
		s.end(EndRST, t)
	}
}

func (s *stream) ReassemblyComplete(ac gr.AssemblerContext) bool {
	reason := s.a.ending
	if s.rst {
		reason = EndRST
	} else if s.fin && reason != EndIdle {
		reason = EndFIN
	}
	s.end(reason, s.a.now)
	// Forget the connection: a new SYN on the same ports is a new one.
	return true
}

func (s *stream) end(reason EndReason, t time.Time) {
	if s.ended {
		return
	}
	s.ended = true
	if s.conn == nil {
		return
	}
	if !s.rst {
		for d := range Dir(2) {
			if n := s.next[d].Difference(s.finAt[d]); s.finSeen[d] && s.nextOK[d] && n > 0 {
				s.conn.Gap(d, n, t)
			}
		}
	}
	s.conn.End(reason, t)
}
