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

// recorder is a Handler that writes down every call, one line each.
type recorder struct {
	log   []string
	conns []ConnInfo
}

func (r *recorder) NewConn(info ConnInfo) Conn {
	r.conns = append(r.conns, info)
	r.log = append(r.log, fmt.Sprintf("new #%d client=%s server=%s syn=%v", info.ID, info.Client, info.Server, info.SawSYN))
	return &recConn{r: r, id: info.ID}
}

type recConn struct {
	r  *recorder
	id uint64
}

func (c *recConn) Data(dir Dir, b []byte, t time.Time) {
	c.r.log = append(c.r.log, fmt.Sprintf("#%d %s data %q", c.id, dir, b))
}
func (c *recConn) Gap(dir Dir, n int, t time.Time) {
	c.r.log = append(c.r.log, fmt.Sprintf("#%d %s gap %d", c.id, dir, n))
}
func (c *recConn) End(reason EndReason, t time.Time) {
	c.r.log = append(c.r.log, fmt.Sprintf("#%d end %s", c.id, reason))
}

var (
	cliIP = net.IP{10, 0, 0, 1}
	srvIP = net.IP{10, 0, 0, 2}
	t0    = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
)

const (
	cliPort = 50000
	srvPort = 7272
	cliISN  = 1000
	srvISN  = 5000
)

// seg is a TCP segment of the test connection; seq is relative to the
// sender's ISN (the SYN is 0, the first data byte 1).
type seg struct {
	fromClient bool
	flags      string // S, A, F, R, in any combination
	seq        uint32
	data       string
	at         time.Duration
}

func (s seg) feed(a *Assembler) {
	tcp := &layers.TCP{Seq: srvISN + s.seq, Window: 1000}
	src, dst := srvIP, cliIP
	tcp.SrcPort, tcp.DstPort = srvPort, cliPort
	if s.fromClient {
		tcp.Seq = cliISN + s.seq
		src, dst = cliIP, srvIP
		tcp.SrcPort, tcp.DstPort = cliPort, srvPort
	}
	tcp.SYN = strings.Contains(s.flags, "S")
	tcp.ACK = strings.Contains(s.flags, "A")
	tcp.FIN = strings.Contains(s.flags, "F")
	tcp.RST = strings.Contains(s.flags, "R")
	tcp.Payload = []byte(s.data)
	flow := gopacket.NewFlow(layers.EndpointIPv4, src, dst)
	a.Feed(flow, tcp, gopacket.CaptureInfo{Timestamp: t0.Add(s.at), Length: 60 + len(s.data), CaptureLength: 60 + len(s.data)})
}

func c(flags string, seq uint32, data string) seg { return seg{true, flags, seq, data, 0} }
func s(flags string, seq uint32, data string) seg { return seg{false, flags, seq, data, 0} }

var handshake = []seg{c("S", 0, ""), s("SA", 0, ""), c("A", 1, "")}

func concat(parts ...[]seg) []seg {
	var all []seg
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestAssembler(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		segs  []seg
		close bool // call Close at the end
		want  []string
	}{
		{
			name: "in order with FIN teardown",
			segs: concat(handshake, []seg{c("A", 1, "hello"), s("A", 1, "world"), c("FA", 6, ""), s("FA", 6, "")}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "hello"`, `#1 server data "world"`, `#1 end fin`,
			},
		},
		{
			name: "out of order segments are put back in order",
			segs: concat(handshake, []seg{c("A", 4, "def"), c("A", 1, "abc"), c("A", 7, "g")}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "abcdef"`, `#1 client data "g"`,
			},
		},
		{
			name: "retransmission is delivered once",
			segs: concat(handshake, []seg{c("A", 1, "abc"), c("A", 1, "abc"), c("A", 4, "def")}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "abc"`, `#1 client data "def"`,
			},
		},
		{
			name: "overlapping segment adds only its new bytes",
			segs: concat(handshake, []seg{c("A", 1, "abcd"), c("A", 3, "cdef")}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "abcd"`, `#1 client data "ef"`,
			},
		},
		{
			name:  "lost segment is a gap at the end of the capture",
			segs:  concat(handshake, []seg{c("A", 1, "abc"), c("A", 7, "ghi")}),
			close: true,
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "abc"`, `#1 client gap 3`, `#1 client data "ghi"`, `#1 end end of capture`,
			},
		},
		{
			name: "lost segment is a gap once the gap timeout passes",
			segs: concat(handshake, []seg{c("A", 1, "abc"), c("A", 7, "ghi"), {fromClient: false, flags: "A", seq: 1, at: 10 * time.Second}}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "abc"`, `#1 client gap 3`, `#1 client data "ghi"`,
			},
		},
		{
			name: "no SYN: server guessed from the lower port",
			segs: []seg{s("A", 100, "from server"), c("A", 200, "from client")},
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=false",
				`#1 server data "from server"`, `#1 client data "from client"`,
			},
		},
		{
			name: "no SYN: server taken from -p even when its port is higher",
			opts: Options{ServerPorts: []uint16{50000}},
			segs: []seg{c("A", 200, "x")},
			want: []string{
				"new #1 client=10.0.0.2:7272 server=10.0.0.1:50000 syn=false",
				`#1 server data "x"`,
			},
		},
		{
			name: "SYN-ACK first: its receiver is the client",
			segs: []seg{s("SA", 0, ""), c("A", 1, "hi")},
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "hi"`,
			},
		},
		{
			name: "RST ends the connection at once",
			segs: concat(handshake, []seg{c("A", 1, "abc"), s("R", 1, "")}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "abc"`, `#1 end rst`,
			},
		},
		{
			name: "idle connection ends after the idle timeout",
			opts: Options{IdleTimeout: time.Minute},
			segs: concat(handshake, []seg{c("A", 1, "abc"), {fromClient: true, flags: "S", seq: 0, at: 2 * time.Minute}}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 client data "abc"`, `#1 end idle`,
				"new #2 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
			},
		},
		{
			name: "the last ACK after both FINs is not a new connection",
			segs: concat(handshake, []seg{c("FA", 1, ""), s("FA", 1, ""), c("A", 2, "")}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 end fin`,
			},
		},
		{
			name: "a new SYN after FIN is a new connection",
			segs: concat(handshake, []seg{c("FA", 1, ""), s("FA", 1, "")}, handshake, []seg{c("A", 1, "again")}),
			want: []string{
				"new #1 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#1 end fin`,
				"new #2 client=10.0.0.1:50000 server=10.0.0.2:7272 syn=true",
				`#2 client data "again"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			a := New(r, tt.opts)
			for _, sg := range tt.segs {
				sg.feed(a)
			}
			if tt.close {
				a.Close()
			}
			got := strings.Join(r.log, "\n")
			want := strings.Join(tt.want, "\n")
			if got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestAssemblerFeedDoesNotAllocatePerPacket(t *testing.T) {
	a := New(nullHandler{}, Options{})
	for _, sg := range handshake {
		sg.feed(a)
	}
	tcp := &layers.TCP{SrcPort: cliPort, DstPort: srvPort, ACK: true}
	tcp.Payload = make([]byte, 100)
	flow := gopacket.NewFlow(layers.EndpointIPv4, cliIP, srvIP)
	seq := uint32(cliISN + 1)
	allocs := testing.AllocsPerRun(1000, func() {
		tcp.Seq = seq
		seq += 100
		a.Feed(flow, tcp, gopacket.CaptureInfo{Timestamp: t0})
	})
	if allocs > 0.1 {
		t.Errorf("Feed allocates %.2f times per in-order packet", allocs)
	}
}

type nullHandler struct{}

func (nullHandler) NewConn(ConnInfo) Conn { return nullConn{} }

type nullConn struct{}

func (nullConn) Data(Dir, []byte, time.Time) {}
func (nullConn) Gap(Dir, int, time.Time)     {}
func (nullConn) End(EndReason, time.Time)    {}

func BenchmarkFeed(b *testing.B) {
	a := New(nullHandler{}, Options{})
	for _, sg := range handshake {
		sg.feed(a)
	}
	tcp := &layers.TCP{SrcPort: cliPort, DstPort: srvPort, ACK: true}
	tcp.Payload = make([]byte, 100)
	flow := gopacket.NewFlow(layers.EndpointIPv4, cliIP, srvIP)
	seq := uint32(cliISN + 1)
	b.ReportAllocs()
	for b.Loop() {
		tcp.Seq = seq
		seq += 100
		a.Feed(flow, tcp, gopacket.CaptureInfo{Timestamp: t0})
	}
}
