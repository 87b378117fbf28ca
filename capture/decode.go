package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
)

// TCPPacket is one TCP segment found by a Decoder. The Decoder reuses it:
// it and everything it points to are valid until the next Decode.
type TCPPacket struct {
	CI      gopacket.CaptureInfo
	NetFlow gopacket.Flow // for gopacket/reassembly's AssembleWithContext
	TCP     *layers.TCP   // reused between calls: valid until the next Decode
	Src     netip.AddrPort
	Dst     netip.AddrPort
	IPLen   int // bytes of the IP packet as its header gives them (all fragments for a rebuilt one)
	// Cut is how many bytes of the IP packet the capture did not keep (a
	// small snaplen, or a frame shorter than its IP header claims). The TCP
	// payload is then short by as much: the stream has a gap there.
	Cut int
}

// DecodeStats counts packets by what Decode made of them. TCP, NotTCP,
// Fragments, Malformed and UnsupportedLink add up to the packets decoded.
type DecodeStats struct {
	TCP             uint64 // TCP segments returned (rebuilt datagrams included)
	NotTCP          uint64 // ARP, UDP, ICMP, other ethertypes...
	Fragments       uint64 // IP fragments held until their datagram is complete
	Malformed       uint64 // cut off or invalid headers (a TCP header cut by the snaplen, say)
	UnsupportedLink uint64 // packets of a link type Decode cannot read
	// Defragmented counts datagrams rebuilt from fragments; each one is also
	// counted in TCP.
	Defragmented uint64
}

// Limits that keep a hostile capture from making the decoder hold memory.
const (
	// maxFragmentBytes bounds the bytes of fragments held, all datagrams
	// together; past it, every held fragment is dropped.
	maxFragmentBytes = 32 << 20
	// fragmentOverhead is counted per held fragment besides its bytes: the
	// defragmenters' bookkeeping.
	fragmentOverhead = 256
	// fragmentTimeout is how long (ns of capture time) an incomplete
	// datagram waits for its other fragments: Linux's default ipfrag_time.
	fragmentTimeout = int64(30 * time.Second)
	// maxVLANTags and maxIPv6ExtHeaders bound the header chains walked.
	maxVLANTags       = 4
	maxIPv6ExtHeaders = 16
)

// Ethertypes and IP protocol numbers the decoder looks at.
const (
	etherTypeIPv4       = 0x0800
	etherTypeIPv6       = 0x86dd
	etherTypeVLAN       = 0x8100
	etherTypeQinQ       = 0x88a8
	etherTypeQinQOld    = 0x9100
	etherTypePPPoESess  = 0x8864
	pppProtoIPv4        = 0x0021
	pppProtoIPv6        = 0x0057
	ipProtoTCP          = 6
	ipProtoHopByHop     = 0
	ipProtoRouting      = 43
	ipProtoFragment     = 44
	ipProtoAH           = 51
	ipProtoDestOpts     = 60
	ipProtoMobility     = 135
	ipProtoHIP          = 139
	ipProtoShim6        = 140
	linkTypeRawOpenBSD  = 12 // DLT_RAW as OpenBSD numbers it, found in some files
	linkTypeRawBSDOS    = 14 // DLT_RAW as BSD/OS numbers it
	nullFamilyIPv4      = 2
	nullFamilyIPv6BSD   = 24 // NetBSD, OpenBSD
	nullFamilyIPv6Free  = 28 // FreeBSD
	nullFamilyIPv6Apple = 30 // Darwin
	nullFamilyIPv6Linux = 10
	nullFamilyIPv6Win   = 23
)

// outcome is what one layer of decoding found.
type outcome uint8

const (
	outTCP outcome = iota
	outNotTCP
	outFragment
	outMalformed
)

// Decoder finds the TCP segment in a captured packet, from its link layer
// down. Use one per pipeline: it reuses its structures, so a packet costs no
// allocation (IP fragments aside, which are copied until their datagram is
// whole). It is not safe for concurrent use.
//
// The link and IP layers are parsed by hand, a few fixed offsets each, for
// speed; the TCP header is gopacket's layers.TCP, which gopacket/reassembly
// takes as is. Checksums are not verified: captures taken on the sending
// host carry offloaded, unfinished ones, and tcpdump and tshark do not check
// them by default either.
type Decoder struct {
	tcp   layers.TCP
	pkt   TCPPacket
	stats DecodeStats

	frag4     *ip4defrag.IPv4Defragmenter // nil until the first IPv4 fragment
	frag6     *ip6defrag.IPv6Defragmenter // nil until the first IPv6 fragment
	pending   map[fragKey]*fragEntry      // datagrams under reassembly
	fragBytes int                         // bytes held for them: never below what the defragmenters hold
	fragSweep int64                       // capture time (ns) of the last sweep of old fragments
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.pkt.TCP = &d.tcp
	return d
}

// Stats returns the counts of packets by outcome so far.
func (d *Decoder) Stats() DecodeStats { return d.stats }

// Decode returns the TCP segment that data, a packet of link type link,
// carries. It returns ok=false and a nil error for packets that are not TCP,
// are malformed (Stats tells which), or are IP fragments still waiting for
// their other parts. The error is non-nil, wrapping ErrLinkType, only for a
// link type Decode cannot read, e.g. "unsupported link type 147 (USER0)".
// p is reused: it is valid until the next call.
func (d *Decoder) Decode(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) (p *TCPPacket, ok bool, err error) {
	var o outcome
	switch link {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			o = outMalformed
			break
		}
		o = d.etherType(binary.BigEndian.Uint16(data[12:14]), data[14:], ci)
	case layers.LinkTypeLinuxSLL:
		// pkttype(2) hatype(2) addrlen(2) addr(8) protocol(2)
		if len(data) < 16 {
			o = outMalformed
			break
		}
		o = d.etherType(binary.BigEndian.Uint16(data[14:16]), data[16:], ci)
	case layers.LinkTypeLinuxSLL2:
		// protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) addrlen(1) addr(8)
		if len(data) < 20 {
			o = outMalformed
			break
		}
		o = d.etherType(binary.BigEndian.Uint16(data[0:2]), data[20:], ci)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		o = d.null(data, ci)
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSDOS:
		o = d.rawIP(data, ci)
	case layers.LinkTypeIPv4:
		o = d.ipv4(data, ci)
	case layers.LinkTypeIPv6:
		o = d.ipv6(data, ci)
	default:
		d.stats.UnsupportedLink++
		return nil, false, fmt.Errorf("%w %s", ErrLinkType, describeLinkType(link))
	}
	switch o {
	case outTCP:
		d.stats.TCP++
		return &d.pkt, true, nil
	case outNotTCP:
		d.stats.NotTCP++
	case outFragment:
		d.stats.Fragments++
	default:
		d.stats.Malformed++
	}
	return nil, false, nil
}

// decodable reports whether Decode reads packets of link type link: the
// cases of its switch. A file source skips the packets of a pcapng interface
// of any other type (file.go).
func decodable(link layers.LinkType) bool {
	switch link {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop,
		layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSDOS,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return true
	}
	return false
}

// etherType decodes the payload of an Ethernet-style header, skipping VLAN
// tags and PPPoE sessions.
func (d *Decoder) etherType(et uint16, data []byte, ci gopacket.CaptureInfo) outcome {
	for tags := 0; ; tags++ {
		switch et {
		case etherTypeIPv4:
			return d.ipv4(data, ci)
		case etherTypeIPv6:
			return d.ipv6(data, ci)
		case etherTypeVLAN, etherTypeQinQ, etherTypeQinQOld:
			// TCI(2) then the inner ethertype(2)
			if tags == maxVLANTags {
				return outNotTCP
			}
			if len(data) < 4 {
				return outMalformed
			}
			et, data = binary.BigEndian.Uint16(data[2:4]), data[4:]
		case etherTypePPPoESess:
			// ver/type(1) code(1) session(2) length(2) PPP protocol(2)
			if len(data) < 8 {
				return outMalformed
			}
			switch binary.BigEndian.Uint16(data[6:8]) {
			case pppProtoIPv4:
				return d.ipv4(data[8:], ci)
			case pppProtoIPv6:
				return d.ipv6(data[8:], ci)
			}
			return outNotTCP
		default:
			return outNotTCP
		}
	}
}

// null decodes BSD loopback encapsulation: a 4-byte address family in the
// capturing host's byte order (NULL) or in network order (LOOP). Either may
// come from a host of either order, so the order is guessed as Wireshark
// does: families are small, so a value with its upper half set is swapped.
func (d *Decoder) null(data []byte, ci gopacket.CaptureInfo) outcome {
	if len(data) < 4 {
		return outMalformed
	}
	fam := binary.LittleEndian.Uint32(data[:4])
	if fam&0xffff0000 != 0 {
		fam = binary.BigEndian.Uint32(data[:4])
	}
	switch fam {
	case nullFamilyIPv4:
		return d.ipv4(data[4:], ci)
	case nullFamilyIPv6BSD, nullFamilyIPv6Free, nullFamilyIPv6Apple, nullFamilyIPv6Linux, nullFamilyIPv6Win:
		return d.ipv6(data[4:], ci)
	}
	return outNotTCP
}

// rawIP decodes a packet that starts with its IP header, of either version.
func (d *Decoder) rawIP(data []byte, ci gopacket.CaptureInfo) outcome {
	if len(data) < 1 {
		return outMalformed
	}
	switch data[0] >> 4 {
	case 4:
		return d.ipv4(data, ci)
	case 6:
		return d.ipv6(data, ci)
	}
	return outMalformed
}

// ipv4 decodes an IPv4 header and hands its payload to TCP or to the
// defragmenter.
func (d *Decoder) ipv4(data []byte, ci gopacket.CaptureInfo) outcome {
	if len(data) < 20 || data[0]>>4 != 4 {
		return outMalformed
	}
	ihl := int(data[0]&0x0f) * 4
	if ihl < 20 || len(data) < ihl {
		return outMalformed
	}
	total := int(binary.BigEndian.Uint16(data[2:4]))
	if total == 0 {
		// Segmentation offload on the capturing host: the kernel had not
		// filled the length in yet. The frame holds the packet (Wireshark
		// does the same).
		total = len(data)
	}
	if total < ihl {
		return outMalformed
	}
	cut := 0
	if total < len(data) {
		data = data[:total] // drop link-layer padding and trailers (Ethernet's 60-byte minimum, an FCS)
	} else {
		cut = total - len(data)
	}
	if data[9] != ipProtoTCP {
		return outNotTCP
	}
	src := netip.AddrFrom4([4]byte(data[12:16]))
	dst := netip.AddrFrom4([4]byte(data[16:20]))
	flags := binary.BigEndian.Uint16(data[6:8])
	if flags&0x3fff != 0 { // more fragments, or a fragment offset
		if cut > 0 {
			return outMalformed // a cut fragment can never be rebuilt
		}
		return d.fragment4(data, src, dst, ci)
	}
	d.pkt.NetFlow = gopacket.NewFlow(layers.EndpointIPv4, data[12:16], data[16:20])
	return d.tcpSegment(data[ihl:], src, dst, total, cut, ci)
}

// ipv6 decodes an IPv6 header, skips its extension headers and hands the
// payload to TCP or to the defragmenter.
func (d *Decoder) ipv6(data []byte, ci gopacket.CaptureInfo) outcome {
	if len(data) < 40 || data[0]>>4 != 6 {
		return outMalformed
	}
	payload := data[40:]
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	cut := 0
	switch {
	case plen == 0:
		// A jumbogram, or segmentation offload: the frame holds the packet.
		plen = len(payload)
	case plen < len(payload):
		payload = payload[:plen]
	default:
		cut = plen - len(payload)
	}
	src := netip.AddrFrom16([16]byte(data[8:24]))
	dst := netip.AddrFrom16([16]byte(data[24:40]))
	d.pkt.NetFlow = gopacket.NewFlow(layers.EndpointIPv6, data[8:24], data[24:40])
	o, nh, rest := d.ipv6Chain(data[6], payload)
	switch {
	case o != outTCP:
		return o
	case nh == ipProtoFragment:
		if cut > 0 {
			return outMalformed
		}
		return d.fragment6(data[:40], rest, src, dst, ci)
	}
	return d.tcpSegment(rest, src, dst, 40+plen, cut, ci)
}

// ipv6Chain walks the extension headers from next header nh over p. It
// returns outTCP with the TCP header's bytes, outTCP with nh ==
// ipProtoFragment and the fragment header's bytes for a real fragment, or
// another outcome. An atomic fragment (offset 0, no more fragments) is a
// whole packet and is walked through.
func (d *Decoder) ipv6Chain(nh byte, p []byte) (outcome, byte, []byte) {
	for i := 0; i < maxIPv6ExtHeaders; i++ {
		var hlen int
		switch nh {
		case ipProtoTCP:
			return outTCP, nh, p
		case ipProtoHopByHop, ipProtoRouting, ipProtoDestOpts, ipProtoMobility, ipProtoHIP, ipProtoShim6:
			if len(p) < 2 {
				return outMalformed, 0, nil
			}
			hlen = (int(p[1]) + 1) * 8
		case ipProtoAH:
			if len(p) < 2 {
				return outMalformed, 0, nil
			}
			hlen = (int(p[1]) + 2) * 4
		case ipProtoFragment:
			if len(p) < 8 {
				return outMalformed, 0, nil
			}
			if binary.BigEndian.Uint16(p[2:4])&0xfff9 != 0 { // offset or M flag set
				if !ipv6MayCarryTCP(p[0]) {
					return outNotTCP, 0, nil // keep no fragments of other protocols
				}
				return outTCP, nh, p
			}
			hlen = 8
		default:
			// UDP, ICMPv6, ESP (encrypted), no next header...
			return outNotTCP, 0, nil
		}
		if len(p) < hlen {
			return outMalformed, 0, nil
		}
		nh, p = p[0], p[hlen:]
	}
	return outMalformed, 0, nil
}

// ipv6MayCarryTCP says whether a fragment whose fragmentable part starts
// with header nh may hold a TCP segment.
func ipv6MayCarryTCP(nh byte) bool {
	switch nh {
	case ipProtoTCP, ipProtoHopByHop, ipProtoRouting, ipProtoDestOpts, ipProtoAH, ipProtoMobility, ipProtoHIP, ipProtoShim6:
		return true
	}
	return false
}

// tcpSegment decodes the TCP header in seg and fills d.pkt (NetFlow is set
// by the caller).
func (d *Decoder) tcpSegment(seg []byte, src, dst netip.Addr, ipLen, cut int, ci gopacket.CaptureInfo) outcome {
	if !decodeTCP(&d.tcp, seg) {
		return outMalformed // a header cut by the snaplen, a data offset below 5...
	}
	d.pkt.CI = ci
	d.pkt.Src = netip.AddrPortFrom(src, uint16(d.tcp.SrcPort))
	d.pkt.Dst = netip.AddrPortFrom(dst, uint16(d.tcp.DstPort))
	d.pkt.IPLen = ipLen
	d.pkt.Cut = cut
	return outTCP
}

// decodeTCP fills t from a TCP header as layers.TCP.DecodeFromBytes does,
// and fails where it fails (a header under 20 bytes, a data offset below 5
// or past the segment), but leaves the options unread: nothing downstream
// looks at them, and reading them into t.Options was a twentieth of the
// packet loop (FuzzDecodeTCP compares the two).
func decodeTCP(t *layers.TCP, b []byte) bool {
	if len(b) < 20 {
		return false
	}
	off := b[12] >> 4
	if off < 5 || int(off)*4 > len(b) {
		return false
	}
	// Field by field: zeroing the whole struct (options array and all)
	// would cost more than the rest.
	t.SrcPort = layers.TCPPort(binary.BigEndian.Uint16(b[0:2]))
	t.DstPort = layers.TCPPort(binary.BigEndian.Uint16(b[2:4]))
	t.Seq = binary.BigEndian.Uint32(b[4:8])
	t.Ack = binary.BigEndian.Uint32(b[8:12])
	t.DataOffset = off
	f := b[13]
	t.FIN, t.SYN, t.RST, t.PSH = f&0x01 != 0, f&0x02 != 0, f&0x04 != 0, f&0x08 != 0
	t.ACK, t.URG, t.ECE, t.CWR = f&0x10 != 0, f&0x20 != 0, f&0x40 != 0, f&0x80 != 0
	t.NS = b[12]&0x01 != 0
	t.Window = binary.BigEndian.Uint16(b[14:16])
	t.Checksum = binary.BigEndian.Uint16(b[16:18])
	t.Urgent = binary.BigEndian.Uint16(b[18:20])
	t.Options, t.Padding, t.Multipath = t.Options[:0], nil, false
	t.Contents, t.Payload = b[:int(off)*4], b[int(off)*4:]
	return true
}
