package reassembly

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// timedRecorder is a Handler that writes down every call with its time,
// as an offset from t0.
type timedRecorder struct {
	log []string
	// ignore makes NewConn return nil for these IDs.
	ignore map[uint64]bool
}

func (r *timedRecorder) NewConn(info ConnInfo) Conn {
	r.log = append(r.log, fmt.Sprintf("new #%d client=%s server=%s syn=%v @%v", info.ID, info.Client, info.Server, info.SawSYN, info.Time.Sub(t0)))
	if r.ignore[info.ID] {
		return nil
	}
	return &timedConn{r: r, id: info.ID}
}

type timedConn struct {
	r     *timedRecorder
	id    uint64
	ended bool
}

func (c *timedConn) add(format string, args ...any) {
	if c.ended {
		c.r.log = append(c.r.log, fmt.Sprintf("#%d CALL AFTER END", c.id))
	}
	c.r.log = append(c.r.log, fmt.Sprintf("#%d ", c.id)+fmt.Sprintf(format, args...))
}

func (c *timedConn) Data(dir Dir, b []byte, t time.Time) {
	if len(b) == 0 {
		c.add("%s EMPTY DATA", dir)
	}
	c.add("%s data %q @%v", dir, b, t.Sub(t0))
}

func (c *timedConn) Gap(dir Dir, n int, t time.Time) {
	c.add("%s gap %d @%v", dir, n, t.Sub(t0))
}

func (c *timedConn) End(reason EndReason, t time.Time) {
	c.add("end %s @%v", reason, t.Sub(t0))
	c.ended = true
}

// pkt is a packet of a test connection between cliIP:cliPort and
// srvIP:srvPort (or port+ as client port, for several connections), with
// absolute sequence numbers.
type pkt struct {
	fromClient bool
	flags      string // S, A, F, R
	seq        uint32
	data       string
	at         time.Duration
	port       uint16 // client port: cliPort when 0
	v6         bool
}

func (p pkt) feed(a *Assembler) {
	cp := p.port
	if cp == 0 {
		cp = cliPort
	}
	tcp := &layers.TCP{Seq: p.seq, Window: 1000}
	var cip, sip net.IP = cliIP, srvIP
	typ := layers.EndpointIPv4
	if p.v6 {
		cip, sip, typ = net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::2"), layers.EndpointIPv6
	}
	src, dst := sip, cip
	tcp.SrcPort, tcp.DstPort = srvPort, layers.TCPPort(cp)
	if p.fromClient {
		src, dst = cip, sip
		tcp.SrcPort, tcp.DstPort = layers.TCPPort(cp), srvPort
	}
	tcp.SYN = strings.Contains(p.flags, "S")
	tcp.ACK = strings.Contains(p.flags, "A")
	tcp.FIN = strings.Contains(p.flags, "F")
	tcp.RST = strings.Contains(p.flags, "R")
	tcp.Payload = []byte(p.data)
	a.Feed(gopacket.NewFlow(typ, src, dst), tcp, gopacket.CaptureInfo{Timestamp: t0.Add(p.at)})
}

// cp and sp are client and server packets at time at.
func cp(flags string, seq uint32, data string, at time.Duration) pkt {
	return pkt{fromClient: true, flags: flags, seq: seq, data: data, at: at}
}
func sp(flags string, seq uint32, data string, at time.Duration) pkt {
	return pkt{flags: flags, seq: seq, data: data, at: at}
}

// open is a handshake with the given initial sequence numbers; the first
// data byte of the client is cisn+1, of the server sisn+1.
func open(cisn, sisn uint32) []pkt {
	return []pkt{cp("S", cisn, "", 0), sp("SA", sisn, "", 0), cp("A", cisn+1, "", 0)}
}

func pkts(parts ...[]pkt) []pkt {
	var all []pkt
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

const newConn1 = "new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true @0s"

func TestAssemblerEdgeCases(t *testing.T) {
	var wrap uint32 = 0xfffffffa // the client's data wraps after 6 bytes
	sec := time.Second
	tests := []struct {
		name   string
		opts   Options
		pkts   []pkt
		ignore map[uint64]bool
		tick   time.Duration // call Tick at t0+tick at the end when > 0
		close  bool
		want   []string
	}{
		{
			name: "sequence numbers wrap around",
			pkts: pkts(open(wrap-1, 100), []pkt{cp("A", wrap+6, "ghij", 0), cp("A", wrap, "abc", 0), cp("A", wrap+3, "def", 0)}),
			want: []string{newConn1, `#1 client data "abc" @0s`, `#1 client data "defghij" @0s`},
		},
		{
			name:  "a gap across the wrap is measured in serial arithmetic",
			pkts:  pkts(open(wrap-1, 100), []pkt{cp("A", wrap, "abc", 0), cp("A", wrap+10, "xyz", 0)}),
			close: true,
			want:  []string{newConn1, `#1 client data "abc" @0s`, `#1 client gap 7 @0s`, `#1 client data "xyz" @0s`, `#1 end end of capture @0s`},
		},
		{
			name: "reordered segments come out in order, timed by the last",
			pkts: pkts(open(0, 100), []pkt{cp("A", 7, "g", 1*sec), cp("A", 4, "def", 2*sec), cp("A", 1, "abc", 3*sec)}),
			want: []string{newConn1, `#1 client data "abcdefg" @1s`},
		},
		{
			name: "duplicates of queued and delivered bytes are dropped",
			pkts: pkts(open(0, 100), []pkt{cp("A", 4, "def", 0), cp("A", 4, "def", 0), cp("A", 1, "abc", 0), cp("A", 1, "abc", 0), cp("A", 4, "def", 0), cp("A", 7, "g", 0)}),
			want: []string{newConn1, `#1 client data "abcdef" @0s`, `#1 client data "g" @0s`},
		},
		{
			name: "overlapping queued segments: each byte once",
			pkts: pkts(open(0, 100), []pkt{
				cp("A", 5, "efg", 0),       // [5,8)
				cp("A", 10, "jk", 0),       // [10,12)
				cp("A", 4, "defghijkl", 0), // covers both, extends each way
				cp("A", 6, "fg", 0),        // inside
				cp("A", 12, "lmn", 0),      // overlaps the end
				cp("A", 3, "cd", 0),        // overlaps the start
				cp("A", 1, "ab", 0),
			}),
			want: []string{newConn1, `#1 client data "abcdefghijklmn" @0s`},
		},
		{
			name: "in-order data overlapping queued data delivers each byte once",
			pkts: pkts(open(0, 100), []pkt{cp("A", 5, "efgh", 0), cp("A", 1, "abcdef", 0)}),
			want: []string{newConn1, `#1 client data "abcdefgh" @0s`},
		},
		{
			name: "a retransmission with new bytes at its end delivers them",
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "abc", 0), cp("A", 1, "abcdef", 0)}),
			want: []string{newConn1, `#1 client data "abc" @0s`, `#1 client data "def" @0s`},
		},
		{
			name: "gap timeout: missing bytes are a gap, their late arrival is dropped",
			pkts: pkts(open(0, 100), []pkt{
				cp("A", 1, "abc", 0), cp("A", 7, "ghi", 1*sec),
				sp("A", 101, "", 3*sec), // not yet: the gap timeout is 3s
				sp("A", 101, "", 5*sec),
				cp("A", 4, "def", 6*sec),
				cp("A", 10, "j", 6*sec),
			}),
			want: []string{newConn1, `#1 client data "abc" @0s`, `#1 client gap 3 @1s`, `#1 client data "ghi" @1s`, `#1 client data "j" @6s`},
		},
		{
			name: "gap timeout runs from the oldest queued segment",
			pkts: pkts(open(0, 100), []pkt{
				cp("A", 1, "a", 0), cp("A", 10, "j", 1*sec), cp("A", 5, "e", 4*sec),
				sp("A", 101, "", 5*sec),
			}),
			want: []string{newConn1, `#1 client data "a" @0s`, `#1 client gap 3 @4s`, `#1 client data "e" @4s`, `#1 client gap 4 @1s`, `#1 client data "j" @1s`},
		},
		{
			name: "Tick applies the timeouts without a packet",
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "a", 0), cp("A", 5, "e", 0)}),
			tick: 10 * sec,
			want: []string{newConn1, `#1 client data "a" @0s`, `#1 client gap 3 @0s`, `#1 client data "e" @0s`},
		},
		{
			name: "per-connection bound: the first missing bytes are given up at once",
			opts: Options{PagesPerConn: 1},
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "a", 0), cp("A", 5, "e", 0), cp("A", 100, strings.Repeat("x", 2000), 0), cp("A", 2, "bcd", 0)}),
			want: []string{newConn1, `#1 client data "a" @0s`, `#1 client gap 3 @0s`, `#1 client data "e" @0s`, `#1 client gap 94 @0s`, `#1 client data "` + strings.Repeat("x", 2000) + `" @0s`},
		},
		{
			name: "total bound: the connection being fed gives up",
			opts: Options{PagesTotal: 1},
			pkts: pkts(open(0, 100), []pkt{
				cp("A", 10, strings.Repeat("y", 1000), 0),
				{fromClient: true, flags: "S", seq: 0, port: 50001},
				{fromClient: true, flags: "A", seq: 10, data: strings.Repeat("z", 1500), port: 50001},
			}),
			close: true,
			want: []string{
				newConn1,
				"new #2 client=10.0.0.1:50001 server=10.0.0.2:7272 syn=true @0s",
				`#2 client gap 9 @0s`, `#2 client data "` + strings.Repeat("z", 1500) + `" @0s`,
				`#1 client gap 9 @0s`, `#1 client data "` + strings.Repeat("y", 1000) + `" @0s`, `#1 end end of capture @0s`,
				`#2 end end of capture @0s`,
			},
		},
		{
			name: "RST ends at once, after what its side holds past a gap",
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "abc", 0), cp("A", 7, "ghi", 0), sp("A", 101, "ok", 1*sec), sp("R", 103, "", 2*sec), cp("A", 4, "def", 2*sec)}),
			want: []string{newConn1, `#1 client data "abc" @0s`, `#1 server data "ok" @1s`, `#1 client gap 3 @0s`, `#1 client data "ghi" @0s`, `#1 end rst @2s`},
		},
		{
			name: "RST out of the window is ignored",
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "abc", 0), cp("R", 1, "", 0), cp("R", 9, "", 0), cp("A", 4, "d", 0)}),
			want: []string{newConn1, `#1 client data "abc" @0s`, `#1 client data "d" @0s`},
		},
		{
			name: "RST after FIN",
			pkts: pkts(open(0, 100), []pkt{cp("FA", 1, "bye", 0), cp("R", 5, "", 1*sec)}),
			want: []string{newConn1, `#1 client data "bye" @0s`, `#1 end rst @1s`},
		},
		{
			name: "FIN with lost bytes before it: gap at the gap timeout, then the end",
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "abc", 0), cp("FA", 7, "", 0), sp("FA", 101, "", 1*sec), sp("A", 102, "", 4*sec)}),
			want: []string{newConn1, `#1 client data "abc" @0s`, `#1 client gap 3 @4s`, `#1 end fin @4s`},
		},
		{
			name:  "FIN with lost bytes before it at the end of the capture",
			pkts:  pkts(open(0, 100), []pkt{cp("A", 1, "abc", 0), cp("FA", 7, "", 0), sp("FA", 101, "", 0)}),
			close: true,
			want:  []string{newConn1, `#1 client data "abc" @0s`, `#1 client gap 3 @0s`, `#1 end fin @0s`},
		},
		{
			name: "FIN ahead of data that arrives",
			pkts: pkts(open(0, 100), []pkt{cp("FA", 4, "de", 0), sp("FA", 101, "", 0), cp("A", 1, "abc", 1*sec)}),
			want: []string{newConn1, `#1 client data "abcde" @0s`, `#1 end fin @1s`},
		},
		{
			name:  "SYN-less: each direction starts at its first packet",
			pkts:  []pkt{sp("A", 5000, "srv", 0), cp("A", 9000, "cli", 0), cp("A", 8990, "old", 0), sp("A", 5010, "lost", 0)},
			close: true,
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=false @0s",
				`#1 server data "srv" @0s`, `#1 client data "cli" @0s`,
				`#1 server gap 7 @0s`, `#1 server data "lost" @0s`, `#1 end end of capture @0s`,
			},
		},
		{
			name:  "a pure ACK, FIN or RST of an unknown connection starts none",
			pkts:  []pkt{cp("A", 1, "", 0), sp("FA", 1, "", 0), cp("R", 1, "", 0)},
			close: true,
		},
		{
			name: "idle: the connection ends, a later ACK starts none, later data does",
			opts: Options{IdleTimeout: time.Minute},
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "abc", 0), sp("A", 101, "", 90*sec), cp("A", 4, "more", 91*sec)}),
			want: []string{
				newConn1, `#1 client data "abc" @0s`, `#1 end idle @1m30s`,
				"new #2 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=false @1m31s",
				`#2 client data "more" @1m31s`,
			},
		},
		{
			name: "idle delivers what was held first",
			opts: Options{IdleTimeout: time.Minute, GapTimeout: time.Hour},
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "a", 0), cp("A", 3, "c", 0), {fromClient: true, flags: "A", seq: 1, at: 2 * time.Minute, port: 1}}),
			want: []string{newConn1, `#1 client data "a" @0s`, `#1 client gap 1 @0s`, `#1 client data "c" @0s`, `#1 end idle @2m0s`},
		},
		{
			name: "a new SYN after RST is a new connection; late packets of the old are not",
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "abc", 0), sp("RA", 101, "", 0), cp("A", 4, "late", 0)}, open(7000, 9000), []pkt{cp("A", 7001, "new", 0)}),
			want: []string{
				newConn1, `#1 client data "abc" @0s`, `#1 end rst @0s`,
				"new #2 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true @0s", `#2 client data "new" @0s`,
			},
		},
		{
			name: "retransmitted SYN and SYN with data",
			pkts: []pkt{cp("S", 0, "", 0), cp("S", 0, "", 1*sec), sp("SA", 100, "fast", 1*sec), cp("A", 1, "x", 1*sec)},
			want: []string{newConn1, `#1 server data "fast" @1s`, `#1 client data "x" @1s`},
		},
		{
			name: "time does not go back",
			pkts: pkts(open(0, 100), []pkt{cp("A", 1, "a", 10*sec), cp("A", 5, "e", 10*sec), sp("A", 101, "", 12*sec), sp("A", 101, "", 1*sec), sp("A", 101, "", 13*sec+500*time.Millisecond)}),
			want: []string{newConn1, `#1 client data "a" @10s`, `#1 client gap 3 @10s`, `#1 client data "e" @10s`},
		},
		{
			name:   "an ignored connection is followed all the same",
			ignore: map[uint64]bool{1: true},
			pkts:   pkts(open(0, 100), []pkt{cp("A", 1, "abc", 0), cp("FA", 4, "", 0), sp("FA", 101, "", 0)}, open(500, 600), []pkt{cp("A", 501, "x", 0)}),
			want:   []string{newConn1, "new #2 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true @0s", `#2 client data "x" @0s`},
		},
		{
			name:  "IPv6, and Close ends connections in the order they were seen",
			pkts:  []pkt{{fromClient: true, flags: "S", port: 2, v6: true}, {fromClient: true, flags: "S", port: 1, v6: true}, {fromClient: true, flags: "A", seq: 1, data: "v6", port: 2, v6: true}},
			close: true,
			want: []string{
				"new #1 client=[2001:db8::1]:2 server=[2001:db8::2]:7272 syn=true @0s",
				"new #2 client=[2001:db8::1]:1 server=[2001:db8::2]:7272 syn=true @0s",
				`#1 client data "v6" @0s`,
				`#1 end end of capture @0s`, `#2 end end of capture @0s`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &timedRecorder{ignore: tt.ignore}
			a := New(r, tt.opts)
			for _, p := range tt.pkts {
				p.feed(a)
			}
			if tt.tick > 0 {
				a.Tick(t0.Add(tt.tick))
			}
			if tt.close {
				a.Close()
			}
			got := strings.Join(r.log, "\n")
			want := strings.Join(tt.want, "\n")
			if got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			if a.buffered != 0 && tt.close {
				t.Errorf("%d bytes still counted as buffered after Close", a.buffered)
			}
		})
	}
}

// TestAssemblerMemoryBounded feeds a connection whose first byte never
// comes, and checks that buffered data stays within the bounds.
func TestAssemblerMemoryBounded(t *testing.T) {
	a := New(nullHandler{}, Options{PagesPerConn: 64, PagesTotal: 100})
	for _, p := range open(0, 100) {
		p.feed(a)
	}
	for port := uint16(1); port <= 4; port++ {
		(pkt{fromClient: true, flags: "S", port: port}).feed(a)
	}
	seq := uint32(2)
	for i := range 10000 {
		port := uint16(i % 5)
		(pkt{fromClient: true, flags: "A", seq: seq, data: strings.Repeat("x", 1000), port: port}).feed(a)
		if port == 4 {
			seq += 1000
		}
		if a.buffered > a.total {
			t.Fatalf("packet %d: %d bytes buffered, bound %d", i, a.buffered, a.total)
		}
		for c := a.lru.front; c != nil; c = c.next {
			if c.buffered > a.perConn {
				t.Fatalf("packet %d: connection %d holds %d bytes, bound %d", i, c.id, c.buffered, a.perConn)
			}
		}
	}
	a.Close()
	if a.buffered != 0 {
		t.Errorf("%d bytes counted as buffered after Close", a.buffered)
	}
}

// interleaved is a capture of n connections taking turns, as on a busy
// server: each packet goes to another connection, in both directions. As
// in a real read loop, the packet just decoded is in the CPU's caches and
// the connection's state is not.
type interleaved struct {
	a       *Assembler
	flows   [][2]gopacket.Flow
	ports   []layers.TCPPort
	seqs    [][2]uint32
	order   []int32 // connection and direction (low bit) of each packet
	tcp     layers.TCP
	payload [2][]byte
	ci      gopacket.CaptureInfo
	i       int
}

func newInterleaved(h Handler, n int) *interleaved {
	w := &interleaved{a: New(h, Options{}), ci: gopacket.CaptureInfo{Timestamp: t0}}
	w.payload = [2][]byte{make([]byte, 100), make([]byte, 300)}
	for j := range n {
		cli := net.IP{10, 1, byte(j >> 8), byte(j)}
		port := layers.TCPPort(40000 + j)
		f := [2]gopacket.Flow{gopacket.NewFlow(layers.EndpointIPv4, cli, srvIP), gopacket.NewFlow(layers.EndpointIPv4, srvIP, cli)}
		w.a.Feed(f[0], &layers.TCP{SrcPort: port, DstPort: srvPort, SYN: true, Seq: 1000}, w.ci)
		w.a.Feed(f[1], &layers.TCP{SrcPort: srvPort, DstPort: port, SYN: true, ACK: true, Seq: 5000}, w.ci)
		w.flows = append(w.flows, f)
		w.ports = append(w.ports, port)
		w.seqs = append(w.seqs, [2]uint32{1001, 5001})
	}
	// A scrambled but fixed order, a client packet for every three from
	// the server.
	w.order = make([]int32, 1<<16)
	for i := range w.order {
		d := int32(1)
		if i%4 == 0 {
			d = 0
		}
		w.order[i] = int32((i*7919)%n)<<1 | d
	}
	w.tcp.ACK = true
	return w
}

// next feeds the next packet, a microsecond after the one before.
func (w *interleaved) next() { w.step(w.a.Feed) }

// step prepares the next packet and hands it to feed.
func (w *interleaved) step(feed func(gopacket.Flow, *layers.TCP, gopacket.CaptureInfo)) {
	o := w.order[w.i&(len(w.order)-1)]
	w.i++
	j, d := o>>1, o&1
	tcp := &w.tcp
	if d == 0 {
		tcp.SrcPort, tcp.DstPort = w.ports[j], srvPort
	} else {
		tcp.SrcPort, tcp.DstPort = srvPort, w.ports[j]
	}
	tcp.Payload = w.payload[d]
	tcp.Seq = w.seqs[j][d]
	w.seqs[j][d] += uint32(len(tcp.Payload))
	w.ci.Timestamp = w.ci.Timestamp.Add(time.Microsecond)
	feed(w.flows[j][d], tcp, w.ci)
}

//go:noinline
func feedNothing(gopacket.Flow, *layers.TCP, gopacket.CaptureInfo) {}

// BenchmarkFeedInterleaved is BenchmarkFeed with 1000 connections taking
// turns, so that each packet finds its connection out of the CPU's caches.
func BenchmarkFeedInterleaved(b *testing.B) {
	w := newInterleaved(nullHandler{}, 1000)
	for range 10000 {
		w.next()
	}
	b.ReportAllocs()
	for b.Loop() {
		w.next()
	}
}

// BenchmarkInterleavedHarness is BenchmarkFeedInterleaved without the
// Assembler: what preparing and passing the packets costs, to subtract.
func BenchmarkInterleavedHarness(b *testing.B) {
	w := newInterleaved(nullHandler{}, 1000)
	b.ReportAllocs()
	for b.Loop() {
		w.step(feedNothing)
	}
}

func TestFeedInterleavedDoesNotAllocate(t *testing.T) {
	w := newInterleaved(nullHandler{}, 1000)
	for range 10000 {
		w.next()
	}
	if allocs := testing.AllocsPerRun(10000, w.next); allocs > 0.01 {
		t.Errorf("Feed allocates %.3f times per in-order packet", allocs)
	}
}
