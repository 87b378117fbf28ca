package capture

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Test packets are built with gopacket's serializers (IP, TCP, Ethernet,
// VLAN tags) so that the hand-written decoder is checked against an
// independent implementation; link headers gopacket cannot write (Linux
// SLL/SLL2, BSD loopback) are written here byte by byte.

var (
	testMAC1 = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	testMAC2 = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// tcpSpec describes a TCP segment to build.
type tcpSpec struct {
	src, dst         string // IP addresses
	sport, dport     uint16
	seq              uint32
	payload          []byte
	syn, ack, psh    bool
	id               uint16 // IPv4 identification
	noFinalizeLength bool   // leave the IP length fields as set
}

// ipTCP builds an IPv4 or IPv6 packet (by the address family) holding a
// TCP segment.
func ipTCP(t testing.TB, s tcpSpec) []byte {
	t.Helper()
	src, dst := net.ParseIP(s.src), net.ParseIP(s.dst)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(s.sport), DstPort: layers.TCPPort(s.dport), Seq: s.seq, SYN: s.syn, ACK: s.ack, PSH: s.psh, Window: 512}
	var ip gopacket.SerializableLayer
	if v4 := src.To4(); v4 != nil {
		l := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: v4, DstIP: dst.To4(), Id: s.id}
		tcp.SetNetworkLayerForChecksum(l)
		ip = l
	} else {
		l := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp.SetNetworkLayerForChecksum(l)
		ip = l
	}
	return serialize(t, ip, tcp, gopacket.Payload(s.payload))
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func etherTypeOf(ip []byte) layers.EthernetType {
	if ip[0]>>4 == 6 {
		return layers.EthernetTypeIPv6
	}
	return layers.EthernetTypeIPv4
}

// ethernet wraps an IP packet in an Ethernet frame, with VLAN tags (TPIDs
// outermost first) if given.
func ethernet(t testing.TB, ip []byte, tpids ...layers.EthernetType) []byte {
	t.Helper()
	ls := []gopacket.SerializableLayer{}
	next := etherTypeOf(ip)
	eth := &layers.Ethernet{SrcMAC: testMAC1, DstMAC: testMAC2, EthernetType: next}
	if len(tpids) > 0 {
		eth.EthernetType = tpids[0]
	}
	ls = append(ls, eth)
	for i := range tpids {
		inner := next
		if i+1 < len(tpids) {
			inner = tpids[i+1]
		}
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: uint16(100 + i), Type: inner})
	}
	ls = append(ls, gopacket.Payload(ip))
	return serialize(t, ls...)
}

func sll(ip []byte) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:2], 0)   // PACKET_HOST
	binary.BigEndian.PutUint16(h[2:4], 772) // ARPHRD_LOOPBACK
	binary.BigEndian.PutUint16(h[4:6], 6)
	binary.BigEndian.PutUint16(h[14:16], uint16(etherTypeOf(ip)))
	return append(h, ip...)
}

func sll2(ip []byte) []byte {
	return append(appendSLL2(nil, uint16(etherTypeOf(ip)), 1, 772, 0, make([]byte, 6)), ip...)
}

func null(ip []byte, family uint32, order binary.ByteOrder) []byte {
	h := make([]byte, 4)
	order.PutUint32(h, family)
	return append(h, ip...)
}

// ipv6Ext inserts extension headers (each: next header filled in, given
// type and body of a multiple of 8 bytes minus 2) between the fixed header
// and the payload of an IPv6 packet.
func ipv6Ext(ip []byte, exts ...ext6) []byte {
	hdr := append([]byte(nil), ip[:40]...)
	payload := ip[40:]
	first := hdr[6]
	var chain []byte
	prev := first
	for i := len(exts) - 1; i >= 0; i-- {
		e := exts[i]
		b := append([]byte{prev, byte((len(e.body)+2)/8 - 1)}, e.body...)
		chain = append(b, chain...)
		prev = e.typ
	}
	hdr[6] = prev
	binary.BigEndian.PutUint16(hdr[4:6], uint16(len(chain)+len(payload)))
	return append(append(hdr, chain...), payload...)
}

type ext6 struct {
	typ  byte
	body []byte // 6, 14, 22... bytes
}
