package capture

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// runFilter runs the filter (without its loopback prologue, which bpf.VM
// cannot run) on a packet and returns what it returns: 0 to drop the
// packet, else the snap length.
func runFilter(t *testing.T, link filterLink, ports []uint16, snaplen int, pkt []byte) int {
	t.Helper()
	raw, err := portFilter(link, ports, snaplen, false)
	if err != nil {
		t.Fatal(err)
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("filter rejected by the VM: %v", err)
	}
	n, err := vm.Run(pkt)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return n
}

func TestPortFilter(t *testing.T) {
	spec := func(v6 bool, sport, dport uint16) []byte {
		s := seg4
		if v6 {
			s = seg6
		}
		s.sport, s.dport = sport, dport
		return ipTCP(t, s)
	}
	withOptions := func(ip []byte) []byte { // IPv4 header with 8 bytes of NOP options
		b := append(append(append([]byte(nil), ip[:20]...), 1, 1, 1, 1, 1, 1, 1, 0), ip[20:]...)
		b[0] = 0x47
		binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
		return b
	}
	udp := spec(false, 7272, 53)
	udp[9] = 17
	frag := fragments4(ipTCP(t, bigSegment(false, 3000)), 1480)
	frag6 := fragments6(ipTCP(t, bigSegment(true, 3000)), 1232, 9)
	hopByHop := ipv6Ext(spec(true, 1, 2), ext6{typ: 0, body: make([]byte, 6)})
	ports := []uint16{7272, 8080}
	tests := []struct {
		name string
		ip   []byte
		keep bool // with ports 7272, 8080
		all  bool // with no ports: all TCP
	}{
		{"ipv4 to 7272", spec(false, 40000, 7272), true, true},
		{"ipv4 from 8080", spec(false, 8080, 40000), true, true},
		{"ipv4 other ports", spec(false, 40000, 7273), false, true},
		{"ipv4 with options to 7272", withOptions(spec(false, 40000, 7272)), true, true},
		{"ipv4 with options, other ports", withOptions(spec(false, 7272+65536-7272-1, 1)), false, true},
		{"ipv6 to 7272", spec(true, 40000, 7272), true, true},
		{"ipv6 from 8080", spec(true, 8080, 1), true, true},
		{"ipv6 other ports", spec(true, 1, 2), false, true},
		{"udp to 7272", udp, false, false},
		{"ipv4 first fragment to 7272", frag[0], true, true},
		{"ipv4 first fragment, other port", fragments4(ipTCP(t, func() tcpSpec { s := bigSegment(false, 3000); s.dport = 1; return s }()), 1480)[0], false, true},
		{"ipv4 later fragment", frag[1], true, true},
		{"ipv6 fragment", frag6[1], true, true},
		{"ipv6 hop-by-hop", hopByHop, true, true},
		{"not ip", []byte{0x00, 0x01, 0x08, 0x00, 6, 4, 0, 1}, false, false},
	}
	for _, tc := range tests {
		for _, link := range []filterLink{filterEthernet, filterNetwork} {
			frames := map[string][]byte{}
			if link == filterNetwork {
				frames["ip"] = tc.ip
			} else {
				if tc.name == "not ip" {
					frames["arp"] = append(append(append([]byte(nil), testMAC2...), testMAC1...), append([]byte{0x08, 0x06}, tc.ip...)...)
				} else {
					frames["plain"] = ethernet(t, tc.ip)
					frames["802.1Q"] = ethernet(t, tc.ip, layers.EthernetTypeDot1Q)
					frames["QinQ"] = ethernet(t, tc.ip, layers.EthernetTypeQinQ, layers.EthernetTypeDot1Q)
				}
			}
			for how, frame := range frames {
				name := fmt.Sprintf("%s/%d/%s", tc.name, link, how)
				for _, c := range []struct {
					ports []uint16
					want  bool
				}{{ports, tc.keep}, {nil, tc.all}} {
					n := runFilter(t, link, c.ports, 96, frame)
					want := 0
					if c.want {
						want = 96 // the VM returns the filter's value; the kernel then keeps min(96, length)
					}
					if n != want {
						t.Errorf("%s ports %v: keeps %d bytes, want %d", name, c.ports, n, want)
					}
				}
			}
		}
	}
}

// TestPortFilterSize checks that the largest port list still assembles
// (jumps reach at most 255 instructions) and works at its far end.
func TestPortFilterSize(t *testing.T) {
	ports := make([]uint16, MaxPorts)
	for i := range ports {
		ports[i] = uint16(10000 + i)
	}
	for _, link := range []filterLink{filterEthernet, filterNetwork} {
		if _, err := portFilter(link, ports, MaxSnaplen, true); err != nil {
			t.Fatalf("%d ports: %v", len(ports), err)
		}
		s := seg4
		s.sport, s.dport = 1, ports[len(ports)-1]
		ip := ipTCP(t, s)
		frame := ip
		if link == filterEthernet {
			frame = ethernet(t, ip)
		}
		if n := runFilter(t, link, ports, MaxSnaplen, frame); n != MaxSnaplen {
			t.Errorf("link %d: last port: keeps %d bytes, want %d", link, n, MaxSnaplen)
		}
	}
	if _, err := portFilter(filterNetwork, make([]uint16, MaxPorts+1), MaxSnaplen, true); err == nil {
		t.Error("too many ports accepted")
	}
}
