package reassembly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// streamChecker is a Handler for one connection that checks every call
// against the stream the client sent: Data must be the next bytes after
// the Gaps, and nothing may come after End.
type streamChecker struct {
	t         *testing.T
	stream    []byte
	pos       int    // where the next Data or Gap starts
	delivered []bool // by stream offset
	conns     int
	ended     int
	calls     int
}

func (s *streamChecker) NewConn(ConnInfo) Conn {
	s.conns++
	return s
}

func (s *streamChecker) Data(dir Dir, b []byte, _ time.Time) {
	s.calls++
	if s.ended > 0 {
		s.t.Fatalf("Data after End")
	}
	if dir != ClientToServer {
		s.t.Fatalf("Data on %s, which sent nothing", dir)
	}
	if len(b) == 0 {
		s.t.Fatalf("empty Data at %d", s.pos)
	}
	if s.pos+len(b) > len(s.stream) || !bytes.Equal(b, s.stream[s.pos:s.pos+len(b)]) {
		s.t.Fatalf("Data at %d: %q is not the stream's bytes there", s.pos, b)
	}
	for i := range b {
		s.delivered[s.pos+i] = true
	}
	s.pos += len(b)
}

func (s *streamChecker) Gap(dir Dir, n int, _ time.Time) {
	s.calls++
	if s.ended > 0 {
		s.t.Fatalf("Gap after End")
	}
	if dir != ClientToServer {
		s.t.Fatalf("Gap on %s, which sent nothing", dir)
	}
	if n <= 0 {
		s.t.Fatalf("Gap of %d bytes at %d: the engine always knows", n, s.pos)
	}
	s.pos += n
	if s.pos > len(s.stream) {
		s.t.Fatalf("Gap of %d bytes goes past the end of the stream", n)
	}
}

func (s *streamChecker) End(EndReason, time.Time) {
	s.calls++
	s.ended++
}

// FuzzAssembler sends a random stream as segments that plan cuts out of
// it, in plan's order: so reordered, duplicated, overlapping, and some
// bytes never sent. The delivered bytes and gaps must rebuild the stream
// exactly; unless timeouts or bounds gave up on missing bytes, every byte
// sent is delivered, once.
//
// plan: 4 bytes of initial sequence number (to wrap around), 1 byte of
// switches (bit 0: tiny memory bounds; bit 1: a FIN after the stream),
// then 4 bytes a segment: offset (2), length (1), and a byte whose low 2
// bits advance the clock (0, 10 ms, 1 s, 4 s) and bit 2 sends it twice.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte("hello, world"), []byte{0, 0, 0, 0, 2, 0, 7, 5, 0, 0, 0, 7, 0})
	f.Add([]byte("0123456789abcdef"), []byte{0xff, 0xff, 0xff, 0xfa, 0, 0, 8, 8, 4, 0, 0, 8, 0, 0, 4, 8, 4})
	f.Add([]byte("abcdefghijklmnopqrstuvwxyz"), []byte{0, 0, 1, 0, 3, 0, 20, 6, 3, 0, 0, 4, 1, 0, 10, 12, 2})
	f.Add(bytes.Repeat([]byte("x"), 3000), []byte{1, 2, 3, 4, 1, 0, 0, 255, 0, 4, 0, 255, 0, 2, 0, 255, 0})
	f.Fuzz(func(t *testing.T, stream, plan []byte) {
		if len(stream) == 0 || len(stream) > 4096 || len(plan) < 5 || len(plan) > 5+4*1000 {
			return
		}
		isn := binary.BigEndian.Uint32(plan)
		tiny, fin := plan[4]&1 != 0, plan[4]&2 != 0
		opts := Options{}
		if tiny {
			opts = Options{PagesPerConn: 1, PagesTotal: 2}
		}
		chk := &streamChecker{t: t, stream: stream, delivered: make([]bool, len(stream))}
		a := New(chk, opts)
		cli, srv := gopacket.NewFlow(layers.EndpointIPv4, cliIP, srvIP), gopacket.NewFlow(layers.EndpointIPv4, srvIP, cliIP)
		now := t0
		feed := func(flow gopacket.Flow, tcp *layers.TCP) {
			a.Feed(flow, tcp, gopacket.CaptureInfo{Timestamp: now})
		}
		feed(cli, &layers.TCP{SrcPort: cliPort, DstPort: srvPort, SYN: true, Seq: isn})
		feed(srv, &layers.TCP{SrcPort: srvPort, DstPort: cliPort, SYN: true, ACK: true, Seq: 77})

		sent := make([]bool, len(stream))
		for p := plan[5:]; len(p) >= 4; p = p[4:] {
			off := int(binary.BigEndian.Uint16(p)) % len(stream)
			n := min(int(p[2])+1, len(stream)-off)
			switch p[3] & 3 {
			case 1:
				now = now.Add(10 * time.Millisecond)
			case 2:
				now = now.Add(time.Second)
			case 3:
				now = now.Add(4 * time.Second)
			}
			times := 1
			if p[3]&4 != 0 {
				times = 2
			}
			for range times {
				tcp := &layers.TCP{SrcPort: cliPort, DstPort: srvPort, ACK: true, Seq: isn + 1 + uint32(off)}
				tcp.Payload = append([]byte(nil), stream[off:off+n]...)
				feed(cli, tcp)
			}
			for i := off; i < off+n; i++ {
				sent[i] = true
			}
		}
		if fin {
			feed(cli, &layers.TCP{SrcPort: cliPort, DstPort: srvPort, ACK: true, FIN: true, Seq: isn + 1 + uint32(len(stream))})
		}
		a.Close()

		if chk.conns != 1 || chk.ended != 1 {
			t.Fatalf("%d connections, %d ends: want one of each", chk.conns, chk.ended)
		}
		if a.buffered != 0 {
			t.Fatalf("%d bytes still counted as buffered after Close", a.buffered)
		}
		gaveUp := tiny || now.Sub(t0) >= DefaultGapTimeout
		for i := range stream {
			if chk.delivered[i] && !sent[i] {
				t.Fatalf("byte %d delivered but never sent", i)
			}
			if !gaveUp && sent[i] && !chk.delivered[i] {
				t.Fatalf("byte %d sent but not delivered (%s)", i, coverage(sent, chk.delivered))
			}
		}
		if fin && chk.pos != len(stream) {
			t.Fatalf("stream ends at %d with the FIN, want %d", chk.pos, len(stream))
		}
	})
}

// coverage draws which bytes were sent (s), delivered (d), both (B).
func coverage(sent, delivered []bool) string {
	var b bytes.Buffer
	for i := range sent {
		switch {
		case sent[i] && delivered[i]:
			b.WriteByte('B')
		case sent[i]:
			b.WriteByte('s')
		case delivered[i]:
			b.WriteByte('d')
		default:
			b.WriteByte('.')
		}
	}
	return fmt.Sprintf("%.200s", b.String())
}

// callChecker is a Handler that checks the contract of every call, for any
// traffic: no empty Data, no Gap of zero bytes, one End per connection and
// nothing after it.
type callChecker struct {
	t     *testing.T
	ended map[uint64]bool
	ids   uint64
}

func (k *callChecker) NewConn(info ConnInfo) Conn {
	k.ids++
	if info.ID != k.ids {
		k.t.Fatalf("connection ID %d, want %d", info.ID, k.ids)
	}
	if info.ID%5 == 4 {
		return nil // the Handler may ignore a connection
	}
	return &checkedConn{k: k, id: info.ID}
}

type checkedConn struct {
	k  *callChecker
	id uint64
}

func (c *checkedConn) call(what string) {
	if c.k.ended[c.id] {
		c.k.t.Fatalf("#%d: %s after End", c.id, what)
	}
}

func (c *checkedConn) Data(dir Dir, b []byte, _ time.Time) {
	c.call("Data")
	if len(b) == 0 || dir > ServerToClient {
		c.k.t.Fatalf("#%d: Data(%d, %d bytes)", c.id, dir, len(b))
	}
}

func (c *checkedConn) Gap(dir Dir, n int, _ time.Time) {
	c.call("Gap")
	if n == 0 || dir > ServerToClient {
		c.k.t.Fatalf("#%d: Gap(%d, %d)", c.id, dir, n)
	}
}

func (c *checkedConn) End(EndReason, time.Time) {
	c.call("End")
	c.k.ended[c.id] = true
}

// FuzzAssemblerPackets feeds arbitrary packets, 8 bytes each: endpoints
// (a few hosts and ports, both directions), flags, sequence number (near a
// few bases, some near the wrap), payload length, clock step. Nothing may
// panic, every call must keep the Conn contract, and Close must leave
// nothing buffered and every connection ended.
func FuzzAssemblerPackets(f *testing.F) {
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 0, 0, 1, 0x12, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 1, 0, 5, 0, 0})
	f.Add([]byte{0, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0x10, 0x80, 0, 0, 9, 7, 1, 0, 0x14, 0x80, 0, 20, 0, 0, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8*2000 {
			return
		}
		chk := &callChecker{t: t, ended: map[uint64]bool{}}
		a := New(chk, Options{PagesPerConn: 4, PagesTotal: 8, IdleTimeout: time.Minute, ServerPorts: []uint16{7272}})
		hosts := []net.IP{cliIP, srvIP, {10, 0, 0, 3}, net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::2")}
		ports := []layers.TCPPort{7272, 50000, 50001, 80}
		bases := []uint32{0, 1 << 20, 0xffffff00, 0x7fffff00}
		payload := make([]byte, 255<<4)
		now := t0
		for p := data; len(p) >= 8; p = p[8:] {
			e := p[0]
			src, dst := hosts[int(e&7)%len(hosts)], hosts[int(e>>3&7)%len(hosts)]
			typ := layers.EndpointIPv4
			if src.To4() == nil || dst.To4() == nil {
				if src.To4() != nil || dst.To4() != nil {
					continue // a flow is one family
				}
				typ = layers.EndpointIPv6
			}
			tcp := &layers.TCP{
				SrcPort: ports[e>>6&3], DstPort: ports[p[7]>>6&3],
				FIN: p[1]&0x01 != 0, SYN: p[1]&0x02 != 0, RST: p[1]&0x04 != 0, ACK: p[1]&0x10 != 0,
				Seq: bases[p[2]>>6] + uint32(p[2]&0x3f)<<16 + uint32(p[3])<<8 + uint32(p[4]),
			}
			n := int(p[5]) << 4
			if p[1]&0x20 != 0 {
				n = int(p[5]) % 16
			}
			tcp.Payload = payload[:n]
			switch p[6] & 3 {
			case 1:
				now = now.Add(time.Duration(p[7]&0x3f) * 100 * time.Millisecond)
			case 2:
				now = now.Add(time.Duration(p[7]&0x3f) * 10 * time.Second)
			case 3:
				now = now.Add(-time.Second) // a packet stamped earlier
			}
			if p[6]&4 != 0 {
				a.Tick(now)
			}
			a.Feed(gopacket.NewFlow(typ, src, dst), tcp, gopacket.CaptureInfo{Timestamp: now})
			if a.buffered < 0 || a.buffered > a.total {
				t.Fatalf("%d bytes buffered, bound %d", a.buffered, a.total)
			}
		}
		a.Close()
		if a.buffered != 0 || a.gaps.front != nil || a.lru.front != nil || a.conns.n != 0 {
			t.Fatalf("after Close: %d bytes buffered, gaps list empty %v, idle list empty %v, %d keys", a.buffered, a.gaps.front == nil, a.lru.front == nil, a.conns.n)
		}
		for id := uint64(1); id <= chk.ids; id++ {
			if id%5 != 4 && !chk.ended[id] {
				t.Fatalf("connection %d never ended", id)
			}
		}
	})
}
