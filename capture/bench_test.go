package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// BenchmarkDecode decodes one typical packet per iteration: a chat frame
// in TCP over IPv4 in Ethernet (tcpdump -i eth0), and over IPv6 in Linux
// SLL2 (tcpdump -i any).
func BenchmarkDecode(b *testing.B) {
	s4, s6 := seg4, seg6
	s4.payload = bytes.Repeat([]byte("x"), 120)
	s6.payload = s4.payload
	cases := []struct {
		name string
		link layers.LinkType
		data []byte
	}{
		{"ethernet-ipv4", layers.LinkTypeEthernet, ethernet(b, ipTCP(b, s4))},
		{"sll2-ipv6", layers.LinkTypeLinuxSLL2, sll2(ipTCP(b, s6))},
		{"ethernet-vlan-ipv4", layers.LinkTypeEthernet, ethernet(b, ipTCP(b, s4), layers.EthernetTypeDot1Q)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			d := NewDecoder()
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(c.data), Length: len(c.data)}
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if _, ok, _ := d.Decode(c.data, ci, c.link); !ok {
					b.Fatal("not decoded")
				}
			}
		})
	}
}

// BenchmarkRead reads a pcap and a pcapng capture of 10000 packets from
// memory and decodes each packet, as the read command does; it reports
// packets per second.
func BenchmarkRead(b *testing.B) {
	const n = 10000
	var pkts []testPkt
	t0 := time.Unix(1764000000, 0)
	for i := 0; i < n; i++ {
		s := seg4
		s.seq = uint32(i * 100)
		s.payload = bytes.Repeat([]byte{byte(i)}, 20+i%200)
		pkts = append(pkts, testPkt{ts: t0.Add(time.Duration(i) * time.Microsecond), data: ethernet(b, ipTCP(b, s))})
	}
	files := map[string][]byte{
		"pcap":      pcapFile(binary.LittleEndian, true, 262144, layers.LinkTypeEthernet, pkts),
		"pcapng":    pcapngFile(binary.LittleEndian, []layers.LinkType{layers.LinkTypeEthernet}, pkts),
		"pcap-gzip": gzipped(b, pcapFile(binary.LittleEndian, true, 262144, layers.LinkTypeEthernet, pkts)),
	}
	for _, name := range []string{"pcap", "pcapng", "pcap-gzip"} {
		data := files[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			packets := 0
			for b.Loop() {
				src, err := NewReader(bytes.NewReader(data), name)
				if err != nil {
					b.Fatal(err)
				}
				d := NewDecoder()
				for {
					pkt, ci, link, err := src.Next()
					if err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
					if _, ok, _ := d.Decode(pkt, ci, link); !ok {
						b.Fatal("not decoded")
					}
					packets++
				}
			}
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
