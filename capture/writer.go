package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Writer writes packets to a pcap file with nanosecond timestamps, which
// tcpdump, tshark and OpenFile read. A pcap file has one link type: the
// first packet's. A later packet of another link type is converted to it
// when both carry an ethertype or IP (Ethernet, Linux SLL/SLL2, BSD
// loopback, raw IP); otherwise WritePacket returns an error wrapping
// ErrLinkType.
type Writer struct {
	bw      *bufio.Writer
	pw      *pcapgo.Writer
	link    layers.LinkType
	started bool
	conv    []byte // scratch for converted packets
}

// NewWriter returns a Writer on w. Output is buffered: call Flush or Close.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &Writer{bw: bw, pw: pcapgo.NewWriterNanos(bw)}
}

// WriteHeader writes the file header for link type link, unless a header was
// already written. WritePacket writes it for the first packet by itself;
// call WriteHeader first to choose the file's link type.
func (w *Writer) WriteHeader(link layers.LinkType) error {
	if w.started {
		return nil
	}
	if err := w.pw.WriteFileHeader(MaxSnaplen, link); err != nil {
		return fmt.Errorf("write pcap header: %w", err)
	}
	w.started, w.link = true, link
	return nil
}

// WritePacket writes one packet of link type link. ci's lengths are
// corrected to match data; packets above MaxSnaplen are cut to it.
func (w *Writer) WritePacket(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) error {
	if err := w.WriteHeader(link); err != nil {
		return err
	}
	if ci.Length < len(data) {
		ci.Length = len(data)
	}
	if link != w.link {
		conv, err := convertLink(w.conv[:0], data, ci, link, w.link)
		if err != nil {
			return err
		}
		w.conv = conv
		ci.Length += len(conv) - len(data)
		data = conv
	}
	if len(data) > MaxSnaplen {
		data = data[:MaxSnaplen]
	}
	ci.CaptureLength = len(data)
	if err := w.pw.WritePacket(ci, data); err != nil {
		return fmt.Errorf("write packet: %w", err)
	}
	return nil
}

// Flush writes buffered packets to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write pcap: %w", err)
	}
	return nil
}

// Close writes the header if no packet was written (link type Ethernet, so
// that an empty capture is still a valid file) and flushes. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if err := w.WriteHeader(layers.LinkTypeEthernet); err != nil {
		return err
	}
	return w.Flush()
}

// ARPHRD types and packet types used in synthesized Linux cooked headers.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
	arphrdNone     = 65534
	packetHost     = 0
)

// linkHeader is what convertLink keeps of a packet's link layer.
type linkHeader struct {
	etherType uint16
	hatype    uint16
	pkttype   uint8
	addr      []byte // link-layer source address, at most 8 bytes
}

// splitLink separates a packet into its link header's useful fields and the
// bytes after it (the network layer, or a VLAN tag and what follows).
func splitLink(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) (h linkHeader, payload []byte, ok bool) {
	switch link {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return h, nil, false
		}
		return linkHeader{etherType: binary.BigEndian.Uint16(data[12:14]), hatype: arphrdEther, addr: data[6:12]}, data[14:], true
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			return h, nil, false
		}
		alen := min(int(binary.BigEndian.Uint16(data[4:6])), 8)
		return linkHeader{
			etherType: binary.BigEndian.Uint16(data[14:16]),
			hatype:    binary.BigEndian.Uint16(data[2:4]),
			pkttype:   uint8(binary.BigEndian.Uint16(data[0:2])),
			addr:      data[6 : 6+alen],
		}, data[16:], true
	case layers.LinkTypeLinuxSLL2:
		if len(data) < 20 {
			return h, nil, false
		}
		alen := min(int(data[11]), 8)
		return linkHeader{
			etherType: binary.BigEndian.Uint16(data[0:2]),
			hatype:    binary.BigEndian.Uint16(data[8:10]),
			pkttype:   data[10],
			addr:      data[12 : 12+alen],
		}, data[20:], true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(data) < 4 {
			return h, nil, false
		}
		fam := binary.LittleEndian.Uint32(data[:4])
		if fam&0xffff0000 != 0 {
			fam = binary.BigEndian.Uint32(data[:4])
		}
		h = linkHeader{hatype: arphrdLoopback}
		switch fam {
		case nullFamilyIPv4:
			h.etherType = etherTypeIPv4
		case nullFamilyIPv6BSD, nullFamilyIPv6Free, nullFamilyIPv6Apple, nullFamilyIPv6Linux, nullFamilyIPv6Win:
			h.etherType = etherTypeIPv6
		default:
			return h, nil, false
		}
		return h, data[4:], true
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSDOS, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		if len(data) < 1 {
			return h, nil, false
		}
		h = linkHeader{hatype: arphrdNone}
		switch data[0] >> 4 {
		case 4:
			h.etherType = etherTypeIPv4
		case 6:
			h.etherType = etherTypeIPv6
		default:
			return h, nil, false
		}
		return h, data, true
	}
	return h, nil, false
}

// convertLink appends to dst the packet data of link type from rewritten
// for link type to.
func convertLink(dst, data []byte, ci gopacket.CaptureInfo, from, to layers.LinkType) ([]byte, error) {
	h, payload, ok := splitLink(data, ci, from)
	if !ok {
		return nil, fmt.Errorf("%w %s: cannot store it in a pcap file of link type %s", ErrLinkType, describeLinkType(from), describeLinkType(to))
	}
	switch to {
	case layers.LinkTypeEthernet:
		var src [6]byte
		if h.hatype == arphrdEther && len(h.addr) == 6 {
			copy(src[:], h.addr)
		}
		dst = append(dst, 0, 0, 0, 0, 0, 0)
		dst = append(dst, src[:]...)
		dst = binary.BigEndian.AppendUint16(dst, h.etherType)
	case layers.LinkTypeLinuxSLL2:
		dst = appendSLL2(dst, h.etherType, uint32(ci.InterfaceIndex), h.hatype, h.pkttype, h.addr)
	case layers.LinkTypeLinuxSLL:
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.pkttype))
		dst = binary.BigEndian.AppendUint16(dst, h.hatype)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.addr)))
		var addr [8]byte
		copy(addr[:], h.addr)
		dst = append(dst, addr[:]...)
		dst = binary.BigEndian.AppendUint16(dst, h.etherType)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		fam := uint32(nullFamilyIPv4)
		switch h.etherType {
		case etherTypeIPv4:
		case etherTypeIPv6:
			fam = nullFamilyIPv6BSD
		default:
			return nil, fmt.Errorf("%w %s: its ethertype 0x%04x has no place in a pcap file of link type %s", ErrLinkType, describeLinkType(from), h.etherType, describeLinkType(to))
		}
		if to == layers.LinkTypeNull {
			dst = binary.LittleEndian.AppendUint32(dst, fam) // this writer's byte order
		} else {
			dst = binary.BigEndian.AppendUint32(dst, fam)
		}
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSDOS, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		var want uint16 // 0: either IP version
		switch to {
		case layers.LinkTypeIPv4:
			want = etherTypeIPv4
		case layers.LinkTypeIPv6:
			want = etherTypeIPv6
		}
		if (want != 0 && h.etherType != want) || (h.etherType != etherTypeIPv4 && h.etherType != etherTypeIPv6) {
			return nil, fmt.Errorf("%w %s: its ethertype 0x%04x has no place in a pcap file of link type %s", ErrLinkType, describeLinkType(from), h.etherType, describeLinkType(to))
		}
	default:
		return nil, fmt.Errorf("%w %s: cannot convert packets to it for a pcap file", ErrLinkType, describeLinkType(to))
	}
	return append(dst, payload...), nil
}

// appendSLL2 appends a Linux cooked v2 header (LINKTYPE_LINUX_SLL2), all
// fields big-endian: protocol(2) reserved(2) ifindex(4) hatype(2)
// pkttype(1) addrlen(1) addr(8).
func appendSLL2(dst []byte, proto uint16, ifindex uint32, hatype uint16, pkttype uint8, addr []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, proto)
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, ifindex)
	dst = binary.BigEndian.AppendUint16(dst, hatype)
	dst = append(dst, pkttype, uint8(min(len(addr), 8)))
	var a [8]byte
	copy(a[:], addr)
	return append(dst, a[:]...)
}
