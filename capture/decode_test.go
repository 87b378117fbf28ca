package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	seg4 = tcpSpec{src: "192.0.2.1", dst: "198.51.100.7", sport: 51000, dport: 7272, seq: 1000, payload: []byte("hello"), ack: true, psh: true}
	seg6 = tcpSpec{src: "2001:db8::1", dst: "2001:db8::7", sport: 51000, dport: 7272, seq: 1000, payload: []byte("hello"), ack: true, psh: true}
)

func ci(n int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: n, Length: n}
}

// TestDecodeLinkTypes decodes the same TCP segment under every link type.
func TestDecodeLinkTypes(t *testing.T) {
	ip4, ip6 := ipTCP(t, seg4), ipTCP(t, seg6)
	tests := []struct {
		name string
		link layers.LinkType
		data []byte
		v6   bool
	}{
		{"ethernet/ipv4", layers.LinkTypeEthernet, ethernet(t, ip4), false},
		{"ethernet/ipv6", layers.LinkTypeEthernet, ethernet(t, ip6), true},
		{"ethernet/802.1Q", layers.LinkTypeEthernet, ethernet(t, ip4, layers.EthernetTypeDot1Q), false},
		{"ethernet/QinQ 88a8+8100", layers.LinkTypeEthernet, ethernet(t, ip6, layers.EthernetTypeQinQ, layers.EthernetTypeDot1Q), true},
		{"ethernet/double 8100", layers.LinkTypeEthernet, ethernet(t, ip4, layers.EthernetTypeDot1Q, layers.EthernetTypeDot1Q), false},
		{"ethernet/pppoe", layers.LinkTypeEthernet, serialize(t,
			&layers.Ethernet{SrcMAC: testMAC1, DstMAC: testMAC2, EthernetType: layers.EthernetTypePPPoESession},
			&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 7},
			&layers.PPP{PPPType: layers.PPPTypeIPv4}, gopacket.Payload(ip4)), false},
		{"linux sll", layers.LinkTypeLinuxSLL, sll(ip4), false},
		{"linux sll/ipv6", layers.LinkTypeLinuxSLL, sll(ip6), true},
		{"linux sll2", layers.LinkTypeLinuxSLL2, sll2(ip4), false},
		{"linux sll2/ipv6", layers.LinkTypeLinuxSLL2, sll2(ip6), true},
		{"null little-endian inet", layers.LinkTypeNull, null(ip4, 2, binary.LittleEndian), false},
		{"null big-endian inet", layers.LinkTypeNull, null(ip4, 2, binary.BigEndian), false},
		{"null darwin inet6", layers.LinkTypeNull, null(ip6, 30, binary.LittleEndian), true},
		{"null freebsd inet6", layers.LinkTypeNull, null(ip6, 28, binary.LittleEndian), true},
		{"loop openbsd inet6", layers.LinkTypeLoop, null(ip6, 24, binary.BigEndian), true},
		{"loop little-endian inet", layers.LinkTypeLoop, null(ip4, 2, binary.LittleEndian), false},
		{"raw 101/ipv4", layers.LinkTypeRaw, ip4, false},
		{"raw 101/ipv6", layers.LinkTypeRaw, ip6, true},
		{"raw 12", 12, ip4, false},
		{"raw 14", 14, ip6, true},
		{"ipv4 228", layers.LinkTypeIPv4, ip4, false},
		{"ipv6 229", layers.LinkTypeIPv6, ip6, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder()
			p, ok, err := d.Decode(tc.data, ci(len(tc.data)), tc.link)
			if err != nil || !ok {
				t.Fatalf("Decode = ok %v, err %v; stats %+v", ok, err, d.Stats())
			}
			want := seg4
			wantFlow := gopacket.NewFlow(layers.EndpointIPv4, netip.MustParseAddr(want.src).AsSlice(), netip.MustParseAddr(want.dst).AsSlice())
			if tc.v6 {
				want = seg6
				wantFlow = gopacket.NewFlow(layers.EndpointIPv6, netip.MustParseAddr(want.src).AsSlice(), netip.MustParseAddr(want.dst).AsSlice())
			}
			checkSegment(t, p, want)
			if p.NetFlow != wantFlow {
				t.Errorf("NetFlow = %v, want %v", p.NetFlow, wantFlow)
			}
			if p.Cut != 0 {
				t.Errorf("Cut = %d, want 0", p.Cut)
			}
			if s := d.Stats(); s.TCP != 1 || s.NotTCP+s.Malformed+s.Fragments+s.UnsupportedLink != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func checkSegment(t *testing.T, p *TCPPacket, want tcpSpec) {
	t.Helper()
	wantSrc := netip.AddrPortFrom(netip.MustParseAddr(want.src), want.sport)
	wantDst := netip.AddrPortFrom(netip.MustParseAddr(want.dst), want.dport)
	if p.Src != wantSrc || p.Dst != wantDst {
		t.Errorf("endpoints %v -> %v, want %v -> %v", p.Src, p.Dst, wantSrc, wantDst)
	}
	if p.TCP.Seq != want.seq || !bytes.Equal(p.TCP.Payload, want.payload) {
		t.Errorf("seq %d payload %q, want %d %q", p.TCP.Seq, p.TCP.Payload, want.seq, want.payload)
	}
	if p.TCP.ACK != want.ack || p.TCP.PSH != want.psh || p.TCP.SYN != want.syn {
		t.Errorf("flags ACK %v PSH %v SYN %v, want %v %v %v", p.TCP.ACK, p.TCP.PSH, p.TCP.SYN, want.ack, want.psh, want.syn)
	}
}

// TestDecodeOutcomes covers packets that are not returned: other
// protocols, damaged headers, cut packets, and packets that are returned
// despite a cut.
func TestDecodeOutcomes(t *testing.T) {
	ip4, ip6 := ipTCP(t, seg4), ipTCP(t, seg6)
	eth4 := ethernet(t, ip4)
	udpIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	udpL := &layers.UDP{SrcPort: 53, DstPort: 53}
	udpL.SetNetworkLayerForChecksum(udpIP)
	udp := serialize(t, &layers.Ethernet{SrcMAC: testMAC1, DstMAC: testMAC2, EthernetType: layers.EthernetTypeIPv4}, udpIP, udpL, gopacket.Payload("x"))
	arp := serialize(t, &layers.Ethernet{SrcMAC: testMAC1, DstMAC: testMAC2, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: 1,
			SourceHwAddress: testMAC1, SourceProtAddress: []byte{10, 0, 0, 1}, DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
	icmp6 := append([]byte(nil), ip6...)
	icmp6[6] = 58
	badVersion := append([]byte(nil), ip4...)
	badVersion[0] = 0x55
	badIHL := append([]byte(nil), ip4...)
	badIHL[0] = 0x44
	badOffset := append([]byte(nil), ip4...)
	badOffset[20+12] = 0x40 // TCP data offset 4 words
	noNext := ipv6Ext(ip6, ext6{typ: 60, body: make([]byte, 6)})
	noNext[40] = 59 // the destination options header says: no next header
	tests := []struct {
		name  string
		link  layers.LinkType
		data  []byte
		want  string // "tcp", "nottcp", "malformed"
		check func(t *testing.T, p *TCPPacket)
	}{
		{"udp", layers.LinkTypeEthernet, udp, "nottcp", nil},
		{"arp", layers.LinkTypeEthernet, arp, "nottcp", nil},
		{"icmpv6", layers.LinkTypeRaw, icmp6, "nottcp", nil},
		{"ipv6 no next header", layers.LinkTypeRaw, noNext, "nottcp", nil},
		{"null unknown family", layers.LinkTypeNull, null(ip4, 7, binary.LittleEndian), "nottcp", nil},
		{"802.3 length field", layers.LinkTypeEthernet, append(append(append([]byte(nil), eth4[:12]...), 0x00, 0x40), eth4[14:]...), "nottcp", nil},
		{"empty", layers.LinkTypeEthernet, nil, "malformed", nil},
		{"short ethernet", layers.LinkTypeEthernet, eth4[:13], "malformed", nil},
		{"short sll", layers.LinkTypeLinuxSLL, sll(ip4)[:15], "malformed", nil},
		{"short sll2", layers.LinkTypeLinuxSLL2, sll2(ip4)[:19], "malformed", nil},
		{"short null", layers.LinkTypeNull, []byte{2, 0}, "malformed", nil},
		{"raw not ip", layers.LinkTypeRaw, []byte{0x10, 1, 2, 3}, "malformed", nil},
		{"ipv4 link with ipv6", layers.LinkTypeIPv4, ip6, "malformed", nil},
		{"ipv4 version 5", layers.LinkTypeRaw, badVersion, "malformed", nil},
		{"ipv4 ihl 4", layers.LinkTypeIPv4, badIHL, "malformed", nil},
		{"ipv4 header cut", layers.LinkTypeEthernet, eth4[:14+19], "malformed", nil},
		{"ipv6 header cut", layers.LinkTypeRaw, ip6[:39], "malformed", nil},
		{"tcp header cut by snaplen", layers.LinkTypeEthernet, eth4[:14+20+10], "malformed", nil},
		{"tcp data offset below 5", layers.LinkTypeRaw, badOffset, "malformed", nil},
		{"ipv6 extension header cut", layers.LinkTypeRaw, ipv6Ext(ip6, ext6{typ: 0, body: make([]byte, 14)})[:40+10], "malformed", nil},
		{"payload cut by snaplen", layers.LinkTypeEthernet, eth4[:14+len(ip4)-2], "tcp", func(t *testing.T, p *TCPPacket) {
			if string(p.TCP.Payload) != "hel" || p.Cut != 2 || p.IPLen != len(ip4) {
				t.Errorf("payload %q cut %d iplen %d, want \"hel\" 2 %d", p.TCP.Payload, p.Cut, p.IPLen, len(ip4))
			}
		}},
		{"ipv6 payload cut by snaplen", layers.LinkTypeRaw, ip6[:len(ip6)-4], "tcp", func(t *testing.T, p *TCPPacket) {
			if string(p.TCP.Payload) != "h" || p.Cut != 4 {
				t.Errorf("payload %q cut %d, want \"h\" 4", p.TCP.Payload, p.Cut)
			}
		}},
		{"ethernet padding and fcs dropped", layers.LinkTypeEthernet, append(append([]byte(nil), eth4...), make([]byte, 18)...), "tcp", func(t *testing.T, p *TCPPacket) {
			if string(p.TCP.Payload) != "hello" {
				t.Errorf("payload %q, want the IP length's", p.TCP.Payload)
			}
		}},
		{"ipv4 total length 0 (segmentation offload)", layers.LinkTypeRaw, func() []byte {
			b := append([]byte(nil), ip4...)
			b[2], b[3] = 0, 0
			return b
		}(), "tcp", func(t *testing.T, p *TCPPacket) {
			if string(p.TCP.Payload) != "hello" || p.IPLen != len(ip4) {
				t.Errorf("payload %q iplen %d", p.TCP.Payload, p.IPLen)
			}
		}},
		{"ipv6 extension headers", layers.LinkTypeRaw, ipv6Ext(ip6,
			ext6{typ: 0, body: make([]byte, 6)},   // hop-by-hop
			ext6{typ: 60, body: make([]byte, 14)}, // destination options
			ext6{typ: 43, body: make([]byte, 6)},  // routing
			ext6{typ: 44, body: make([]byte, 6)},  // atomic fragment: offset 0, M 0
			ext6{typ: 60, body: make([]byte, 6)}), "tcp", func(t *testing.T, p *TCPPacket) {
			checkSegment(t, p, seg6)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder()
			p, ok, err := d.Decode(tc.data, ci(len(tc.data)), tc.link)
			if err != nil {
				t.Fatalf("err %v", err)
			}
			s := d.Stats()
			got := map[bool]string{true: "tcp", false: "?"}[ok]
			switch {
			case s.NotTCP == 1:
				got = "nottcp"
			case s.Malformed == 1:
				got = "malformed"
			}
			if got != tc.want || ok != (tc.want == "tcp") {
				t.Fatalf("outcome %s (ok %v, stats %+v), want %s", got, ok, s, tc.want)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

func TestDecodeUnsupportedLink(t *testing.T) {
	tests := []struct {
		link layers.LinkType
		msg  string
	}{
		{147, "unsupported link type 147 (USER0)"},
		{162, "unsupported link type 162 (USER15)"},
		{layers.LinkTypeIEEE80211Radio, "unsupported link type 127 (IEEE802_11_RADIO)"},
		{999, "unsupported link type 999"},
	}
	d := NewDecoder()
	for _, tc := range tests {
		_, ok, err := d.Decode([]byte{1, 2, 3}, ci(3), tc.link)
		if ok || !errors.Is(err, ErrLinkType) || err.Error() != tc.msg {
			t.Errorf("link %d: ok %v err %q, want %q", tc.link, ok, err, tc.msg)
		}
	}
	if s := d.Stats(); s.UnsupportedLink != uint64(len(tests)) {
		t.Errorf("stats %+v", s)
	}
}

// TestDecodeReuse checks the documented reuse: the packet returned is the
// Decoder's, overwritten by the next call, and decoding costs no
// allocation.
func TestDecodeReuse(t *testing.T) {
	a := ethernet(t, ipTCP(t, seg4))
	b := sll2(ipTCP(t, seg6))
	d := NewDecoder()
	p1, _, _ := d.Decode(a, ci(len(a)), layers.LinkTypeEthernet)
	p2, _, _ := d.Decode(b, ci(len(b)), layers.LinkTypeLinuxSLL2)
	if p1 != p2 || p1.Src.Addr().Is4() {
		t.Fatalf("packet not reused: %p %p %v", p1, p2, p1.Src)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		d.Decode(a, ci(len(a)), layers.LinkTypeEthernet)
		d.Decode(b, ci(len(b)), layers.LinkTypeLinuxSLL2)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per two packets, want 0", allocs)
	}
}
