package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// fileSeeds are whole captures for FuzzOpenFile: the real ones in testdata,
// generated ones of each format and byte order, gzipped and cut copies.
func fileSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	paths, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			seeds = append(seeds, b)
		}
	}
	pkts := samplePackets(f)
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		seeds = append(seeds,
			pcapFile(order, false, 65535, layers.LinkTypeEthernet, pkts[:1]),
			pcapFile(order, true, 0, layers.LinkTypeLinuxSLL2, pkts[1:2]),
			pcapngFile(order, []layers.LinkType{1, 276}, pkts),
			pcapngFile(order, []layers.LinkType{1, 147}, pkts), // packets of interface 1 skipped
			pcapngFile(order, []layers.LinkType{147}, pkts[:1]))
	}
	for _, s := range seeds[:] {
		seeds = append(seeds, gzipped(f, s), s[:len(s)/2])
	}
	return seeds
}

// FuzzOpenFile reads arbitrary bytes as a capture file and decodes every
// packet: no panic, no hang, one-line errors, and io.EOF after the first
// error.
func FuzzOpenFile(f *testing.F) {
	for _, s := range fileSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := NewReader(bytes.NewReader(data), "fuzz.pcap")
		if err != nil {
			checkOneLine(t, err)
			return
		}
		defer src.Close()
		d := NewDecoder()
		for i := 0; ; i++ {
			if i > 1_000_000 {
				t.Fatal("more packets than the input can hold")
			}
			pkt, ci, link, err := src.Next()
			if err != nil {
				if err != io.EOF {
					checkOneLine(t, err)
					if _, _, _, err := src.Next(); err != io.EOF {
						t.Fatalf("Next after an error = %v, want io.EOF", err)
					}
				}
				return
			}
			if ci.CaptureLength != len(pkt) {
				t.Fatalf("CaptureLength %d for %d bytes", ci.CaptureLength, len(pkt))
			}
			if _, _, err := d.Decode(pkt, ci, link); err != nil && !errors.Is(err, ErrLinkType) {
				t.Fatalf("Decode: %v", err)
			}
		}
	})
}

func checkOneLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

// FuzzDecode decodes arbitrary bytes as a packet of any link type. Besides
// not panicking, a segment it finds in a packet that is not a fragment must
// be the one gopacket's own full decoder finds, when that decoder finds
// exactly one IP layer and no error (it knows tunnels this decoder does
// not, and stops on things this one lets pass, like bad IP options).
func FuzzDecode(f *testing.F) {
	t := f // the packet builders take any testing.TB
	ip4, ip6 := ipTCP(t, seg4), ipTCP(t, seg6)
	seeds := []struct {
		link layers.LinkType
		data []byte
	}{
		{1, ethernet(t, ip4)}, {1, ethernet(t, ip6, layers.EthernetTypeDot1Q)}, {113, sll(ip4)}, {276, sll2(ip6)},
		{0, null(ip4, 2, binary.LittleEndian)}, {108, null(ip6, 24, binary.BigEndian)}, {101, ip4}, {228, ip4}, {229, ip6},
		{101, ipv6Ext(ip6, ext6{typ: 0, body: make([]byte, 6)}, ext6{typ: 44, body: make([]byte, 6)})},
		{101, fragments4(ipTCP(t, bigSegment(false, 3000)), 1480)[0]},
		{101, fragments6(ipTCP(t, bigSegment(true, 3000)), 1232, 3)[1]},
		{147, []byte{1, 2, 3}},
	}
	for _, s := range seeds {
		f.Add(uint16(s.link), s.data)
	}
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		d := NewDecoder()
		p, ok, err := d.Decode(data, gopacket.CaptureInfo{CaptureLength: len(data), Length: len(data)}, layers.LinkType(link))
		s := d.Stats()
		if s.TCP+s.NotTCP+s.Fragments+s.Malformed+s.UnsupportedLink != 1 {
			t.Fatalf("stats %+v for one packet", s)
		}
		if err != nil {
			if !errors.Is(err, ErrLinkType) || ok {
				t.Fatalf("ok %v err %v", ok, err)
			}
			return
		}
		if !ok {
			return
		}
		if !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Addr().Is4() != p.Dst.Addr().Is4() || len(p.TCP.Payload) > len(data) || p.Cut < 0 {
			t.Fatalf("bad packet %+v", p)
		}
		if s.Defragmented > 0 {
			return
		}
		gp := gopacket.NewPacket(data, layers.LinkType(link), gopacket.DecodeOptions{NoCopy: true})
		tcp, _ := gp.Layer(layers.LayerTypeTCP).(*layers.TCP)
		ips := 0
		for _, l := range gp.Layers() {
			switch ip := l.(type) {
			case *layers.IPv4:
				ips++
				if ip.Length == 0 || int(ip.Length) != len(ip.Contents)+len(ip.Payload) {
					return // offload or a cut packet: the two decoders read lengths differently
				}
			case *layers.IPv6:
				ips++
				if ip.Length == 0 {
					return // jumbogram or offload
				}
			case *layers.PPPoE:
				return // gopacket trims to the PPPoE length
			}
		}
		if tcp == nil || gp.ErrorLayer() != nil || ips != 1 {
			return
		}
		if tcp.SrcPort != p.TCP.SrcPort || tcp.DstPort != p.TCP.DstPort || tcp.Seq != p.TCP.Seq || !bytes.Equal(tcp.Payload, p.TCP.Payload) {
			t.Fatalf("gopacket finds %v->%v seq %d payload %x; Decode %v->%v seq %d payload %x",
				tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Payload, p.TCP.SrcPort, p.TCP.DstPort, p.TCP.Seq, p.TCP.Payload)
		}
	})
}

// FuzzPcapLikePcapgo is a differential test of the in-place pcap record
// reader: it must return the packets pcapgo's reader returns, and stop
// where pcapgo stops, cleanly or not.
func FuzzPcapLikePcapgo(f *testing.F) {
	for _, s := range fileSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := NewReader(bytes.NewReader(data), "fuzz.pcap")
		if err != nil {
			return
		}
		defer src.Close()
		fs := src.(*fileSource)
		if fs.pcap == nil {
			return // pcapng
		}
		if fs.linkErr != nil {
			// A file of a link type nothing decodes is an error on
			// purpose, packets or not, where pcapgo reads on.
			if _, _, _, err := src.Next(); !errors.Is(err, ErrLinkType) {
				t.Fatalf("link type %d: first Next gives %v, not ErrLinkType", fs.link, err)
			}
			return
		}
		ref, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("pcapgo refuses a header chatsniff took: %v", err)
		}
		if ref.Snaplen() == 0 || ref.Snaplen() > MaxSnaplen {
			ref.SetSnaplen(MaxSnaplen)
		}
		for i := 1; ; i++ {
			want, wci, werr := ref.ZeroCopyReadPacketData()
			got, ci, _, err := src.Next()
			if (werr == nil) != (err == nil) {
				t.Fatalf("packet %d: error %v, pcapgo %v", i, err, werr)
			}
			if werr != nil {
				if (werr == io.EOF && wci.CaptureLength == 0) != (err == io.EOF) {
					t.Fatalf("packet %d: end %v, pcapgo %v", i, err, werr)
				}
				return
			}
			if !bytes.Equal(got, want) || !ci.Timestamp.Equal(wci.Timestamp) || ci.CaptureLength != wci.CaptureLength || ci.Length != wci.Length {
				t.Fatalf("packet %d: %v %x, pcapgo %v %x", i, ci, got, wci, want)
			}
		}
	})
}

// FuzzDecodeTCP checks decodeTCP against layers.TCP.DecodeFromBytes: the
// same segments accepted, the same fields read (options aside, which
// decodeTCP leaves unread).
func FuzzDecodeTCP(f *testing.F) {
	f.Add([]byte("\x1c\x68\x9e\x2a\x00\x00\x00\x01\x00\x00\x00\x02\x80\x18\x01\xf5\x00\x00\x00\x00\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02hello"))
	f.Add([]byte("\x00\x50\x00\x50\x00\x00\x00\x01\x00\x00\x00\x02\x40\x02\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got layers.TCP
		wantOK := want.DecodeFromBytes(b, gopacket.NilDecodeFeedback) == nil
		if ok := decodeTCP(&got, b); ok != wantOK {
			t.Fatalf("%x: decodeTCP %v, DecodeFromBytes %v", b, ok, wantOK)
		}
		if !wantOK {
			return
		}
		// The exported fields but the options; the unexported ones only
		// serve gopacket's own methods (TransportFlow, options), which
		// nothing here calls on a decoded segment.
		type fields struct {
			Contents, Payload                          []byte
			SrcPort, DstPort                           layers.TCPPort
			Seq, Ack                                   uint32
			DataOffset                                 uint8
			FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS bool
			Window, Checksum, Urgent                   uint16
		}
		of := func(t *layers.TCP) fields {
			return fields{t.Contents, t.Payload, t.SrcPort, t.DstPort, t.Seq, t.Ack, t.DataOffset,
				t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR, t.NS, t.Window, t.Checksum, t.Urgent}
		}
		if g, w := of(&got), of(&want); !reflect.DeepEqual(g, w) {
			t.Fatalf("%x:\n got %+v\nwant %+v", b, g, w)
		}
	})
}
