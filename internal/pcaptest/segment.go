package pcaptest

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Side names one direction of the connections in a capture.
type Side uint8

const (
	// Client is the bytes sent by the side that opened the connection.
	Client Side = iota
	// Server is the bytes sent by the side that accepted it.
	Server
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// maxHeaderBytes bounds how much of a direction is kept while looking for
// the end of its HTTP header block; RFC 6455 handshakes are far smaller.
const maxHeaderBytes = 64 << 10

// segment is what the transforms need to know about one TCP packet.
type segment struct {
	index              int // position in Capture.Packets
	src, dst           netip.AddrPort
	seq                uint32
	syn, ack, fin, rst bool
	payload            []byte // a sub-slice of the packet's data
	// truncated is set when the capture kept less than the whole packet,
	// so payload is not all the bytes the segment carried.
	truncated bool

	// For rebuild: the bytes before the IP header, and the decoded IP and
	// TCP headers. ip is nil when the packet cannot be rebuilt (IPv6
	// extension headers, which rebuild would lose).
	link []byte
	ip   gopacket.NetworkLayer
	tcp  *layers.TCP
}

// parseSegment decodes the link, IP and TCP headers of one packet. It
// returns nil for anything that is not a TCP segment over IPv4 or IPv6.
func parseSegment(link layers.LinkType, index int, p Packet) *segment {
	pkt := gopacket.NewPacket(p.Data, link, gopacket.DecodeOptions{NoCopy: true})
	tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	netLayer := pkt.NetworkLayer()
	if tcp == nil || netLayer == nil {
		return nil
	}
	s := &segment{
		index:     index,
		seq:       tcp.Seq,
		syn:       tcp.SYN,
		ack:       tcp.ACK,
		fin:       tcp.FIN,
		rst:       tcp.RST,
		payload:   tcp.Payload,
		truncated: p.CI.CaptureLength < p.CI.Length || pkt.Metadata().Truncated,
		tcp:       tcp,
	}
	var ipLen int
	switch ip := netLayer.(type) {
	case *layers.IPv4:
		src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
		s.src, s.dst = netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort))
		ipLen = len(ip.Contents)
	case *layers.IPv6:
		src, _ := netip.AddrFromSlice(ip.SrcIP)
		dst, _ := netip.AddrFromSlice(ip.DstIP)
		s.src, s.dst = netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort))
		ipLen = len(ip.Contents)
	default:
		return nil
	}
	// With NoCopy the layers are windows on p.Data, so their offsets come
	// from the slices' capacities. The packet can be rebuilt only when TCP
	// follows the IP header directly.
	ipOff := cap(p.Data) - cap(netLayer.LayerContents())
	tcpOff := cap(p.Data) - cap(tcp.Contents)
	if ipOff >= 0 && ipOff <= len(p.Data) && tcpOff == ipOff+ipLen {
		s.link = p.Data[:ipOff]
		s.ip = netLayer
	}
	return s
}

// rebuild makes the packet data of a segment like s with another sequence
// number, payload and FIN/PSH flags, with IP lengths and checksums fixed.
func (s *segment) rebuild(seq uint32, payload []byte, fin, psh bool) ([]byte, error) {
	if s.ip == nil {
		return nil, errors.New("rebuild: IP header is followed by extension headers")
	}
	tcp := *s.tcp
	tcp.Seq, tcp.FIN, tcp.PSH = seq, fin, psh
	var ip gopacket.SerializableLayer
	switch l := s.ip.(type) {
	case *layers.IPv4:
		c := *l
		ip = &c
		if err := tcp.SetNetworkLayerForChecksum(&c); err != nil {
			return nil, fmt.Errorf("rebuild: %w", err)
		}
	case *layers.IPv6:
		c := *l
		ip = &c
		if err := tcp.SetNetworkLayerForChecksum(&c); err != nil {
			return nil, fmt.Errorf("rebuild: %w", err)
		}
	default:
		return nil, fmt.Errorf("rebuild: network layer %v", s.ip.LayerType())
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, &tcp, gopacket.Payload(payload)); err != nil {
		return nil, fmt.Errorf("rebuild: serialize: %w", err)
	}
	out := make([]byte, 0, len(s.link)+len(buf.Bytes()))
	out = append(out, s.link...)
	return append(out, buf.Bytes()...), nil
}

// connKey names a connection whatever the direction of a packet.
type connKey struct{ a, b netip.AddrPort }

func keyOf(s *segment) connKey {
	if s.src.Compare(s.dst) < 0 {
		return connKey{s.src, s.dst}
	}
	return connKey{s.dst, s.src}
}

// direction tracks the start of one direction of a connection, far enough
// to know where its HTTP header block ends.
type direction struct {
	started  bool
	isHTTP   bool   // its first bytes look like an HTTP request or response
	firstSeq uint32 // sequence number of its first data byte
	buf      []byte // header bytes so far, until the block ends
	hdrDone  bool
	hdrEnd   uint32 // sequence number of the first byte after the header block
	hdrIndex int    // packet carrying the end of the header block
	is101    bool   // the header block is a 101 Switching Protocols response
}

type conn struct {
	client   netip.AddrPort
	sawSYN   bool
	dirs     [2]direction
	segments [2][]*segment // data segments per side, in capture order
}

// analysis is a capture with its TCP segments and connections worked out.
type analysis struct {
	c     *Capture
	segs  []*segment // per packet, nil when not TCP
	conns map[connKey]*conn
	order []connKey // connections in the order first seen
}

func analyze(c *Capture) *analysis {
	a := &analysis{c: c, segs: make([]*segment, len(c.Packets)), conns: map[connKey]*conn{}}
	for i, p := range c.Packets {
		s := parseSegment(c.LinkType, i, p)
		a.segs[i] = s
		if s == nil {
			continue
		}
		k := keyOf(s)
		cn := a.conns[k]
		if cn == nil {
			cn = &conn{}
			a.conns[k] = cn
			a.order = append(a.order, k)
		}
		if s.syn && !s.ack && !cn.sawSYN {
			cn.client, cn.sawSYN = s.src, true
		}
	}
	for _, k := range a.order {
		cn := a.conns[k]
		if !cn.sawSYN {
			// Without the SYN, guess as tshark and tcpdump users do: the
			// server is the side on the lower (well-known) port.
			cn.client = k.a
			if k.a.Port() < k.b.Port() {
				cn.client = k.b
			}
		}
	}
	for _, s := range a.segs {
		if s == nil || len(s.payload) == 0 {
			continue
		}
		cn := a.conns[keyOf(s)]
		side := a.sideOf(cn, s)
		cn.segments[side] = append(cn.segments[side], s)
		cn.dirs[side].feed(s)
	}
	return a
}

func (a *analysis) sideOf(cn *conn, s *segment) Side {
	if s.src == cn.client {
		return Client
	}
	return Server
}

// httpStarts are the first bytes of an HTTP/1 request or response.
var httpStarts = [][]byte{[]byte("GET "), []byte("HTTP/1.")}

// feed follows the bytes of one direction, in sequence order, until its
// HTTP header block ends. Bytes already seen are skipped; a hole stops the
// search (the header end is then unknown).
func (d *direction) feed(s *segment) {
	if !d.started {
		d.started = true
		d.firstSeq = s.seq
		for _, p := range httpStarts {
			if bytes.HasPrefix(s.payload, p) || (len(s.payload) < len(p) && bytes.HasPrefix(p, s.payload)) {
				d.isHTTP = true
			}
		}
	}
	if !d.isHTTP || d.hdrDone || s.truncated {
		return
	}
	next := d.firstSeq + uint32(len(d.buf))
	skip := int32(next - s.seq)
	if skip < 0 || int(skip) >= len(s.payload) {
		return // a hole, or nothing new
	}
	room := maxHeaderBytes - len(d.buf)
	add := s.payload[skip:]
	if len(add) > room {
		add = add[:room]
	}
	d.buf = append(d.buf, add...)
	if i := bytes.Index(d.buf, []byte("\r\n\r\n")); i >= 0 {
		d.hdrDone = true
		d.hdrEnd = d.firstSeq + uint32(i+4)
		d.hdrIndex = s.index
		d.is101 = is101(d.buf[:i])
		d.buf = nil
	}
}

// is101 reports whether an HTTP header block is a 101 response.
func is101(h []byte) bool {
	line, _, _ := bytes.Cut(h, []byte("\r\n"))
	f := bytes.Fields(line)
	return len(f) >= 2 && bytes.HasPrefix(f[0], []byte("HTTP/")) && string(f[1]) == "101"
}

// upgraded reports whether the connection's server answered 101.
func (cn *conn) upgraded() bool { return cn.dirs[Server].hdrDone && cn.dirs[Server].is101 }

// carriesFrames reports whether a data segment holds only WebSocket bytes:
// it comes after its direction's header block on an upgraded connection, or
// the connection shows no HTTP at all (a capture started mid-stream).
func (a *analysis) carriesFrames(s *segment) bool {
	if s == nil || len(s.payload) == 0 {
		return false
	}
	cn := a.conns[keyOf(s)]
	d := &cn.dirs[a.sideOf(cn, s)]
	if !cn.dirs[Client].isHTTP && !cn.dirs[Server].isHTTP {
		return true
	}
	if !cn.upgraded() || !d.hdrDone {
		return false
	}
	return int32(s.seq-d.hdrEnd) >= 0
}

// frameSegments returns the segments of side that carry only WebSocket
// bytes, over all connections, in capture order.
func (a *analysis) frameSegments(side Side) []*segment {
	var out []*segment
	for _, s := range a.segs {
		if s != nil && a.carriesFrames(s) && a.sideOf(a.conns[keyOf(s)], s) == side {
			out = append(out, s)
		}
	}
	return out
}
