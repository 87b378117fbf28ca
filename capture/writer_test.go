package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestWriterRoundTrip writes packets of several link types and reads them
// back: the file takes the first packet's link type, the others are
// converted, timestamps keep their nanoseconds, lengths are kept.
func TestWriterRoundTrip(t *testing.T) {
	pkts := samplePackets(t)
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeEthernet}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i, p := range pkts {
		c := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: max(p.origLen, len(p.data))}
		if err := w.WritePacket(p.data, c, links[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	src, err := NewReader(&buf, "written")
	if err != nil {
		t.Fatal(err)
	}
	got, gotLinks, err := readAll(src)
	if err != io.EOF || len(got) != 3 {
		t.Fatalf("%d packets, %v", len(got), err)
	}
	for i := range got {
		if gotLinks[i] != layers.LinkTypeEthernet || !got[i].ts.Equal(pkts[i].ts) {
			t.Errorf("packet %d: link %d ts %v, want Ethernet %v", i+1, gotLinks[i], got[i].ts, pkts[i].ts)
		}
	}
	if !bytes.Equal(got[0].data, pkts[0].data) || got[2].origLen != 80 || len(got[2].data) != 40 {
		t.Errorf("packets changed: %x / len %d orig %d", got[0].data, len(got[2].data), got[2].origLen)
	}
	// the converted SLL2 packet: same segment, 6 bytes shorter (20-byte
	// cooked header replaced by a 14-byte Ethernet one)
	d := NewDecoder()
	p, ok, _ := d.Decode(got[1].data, gopacket.CaptureInfo{}, layers.LinkTypeEthernet)
	if !ok {
		t.Fatalf("converted packet does not decode: %+v", d.Stats())
	}
	checkSegment(t, p, seg6)
	if got[1].origLen != len(pkts[1].data)-6 {
		t.Errorf("converted length %d, want %d", got[1].origLen, len(pkts[1].data)-6)
	}
}

// TestWriterConvert converts a TCP packet between every pair of link types
// that carry IP, and checks it still decodes to the same segment.
func TestWriterConvert(t *testing.T) {
	ip4, ip6 := ipTCP(t, seg4), ipTCP(t, seg6)
	type pkt struct {
		link layers.LinkType
		data []byte
	}
	froms := map[string][]pkt{
		"ipv4": {{1, ethernet(t, ip4)}, {1, ethernet(t, ip4, layers.EthernetTypeDot1Q)}, {113, sll(ip4)}, {276, sll2(ip4)},
			{0, null(ip4, 2, binary.LittleEndian)}, {108, null(ip4, 2, binary.BigEndian)}, {101, ip4}, {228, ip4}},
		"ipv6": {{1, ethernet(t, ip6)}, {113, sll(ip6)}, {276, sll2(ip6)}, {0, null(ip6, 30, binary.LittleEndian)}, {101, ip6}, {229, ip6}},
	}
	tos := []layers.LinkType{1, 113, 276, 0, 108, 101, 228, 229}
	for version, list := range froms {
		want := seg4
		if version == "ipv6" {
			want = seg6
		}
		for _, from := range list {
			for _, to := range tos {
				t.Run(fmt.Sprintf("%s %d to %d", version, from.link, to), func(t *testing.T) {
					out, err := convertLink(nil, from.data, gopacket.CaptureInfo{InterfaceIndex: 3}, from.link, to)
					vlan := from.link == 1 && binary.BigEndian.Uint16(from.data[12:14]) == etherTypeVLAN
					mismatch := (to == 228 && version == "ipv6") || (to == 229 && version == "ipv4")
					if (mismatch || (vlan && (to == 0 || to == 108 || to == 101 || to == 228 || to == 229))) != (err != nil) {
						t.Fatalf("err %v", err)
					}
					if err != nil {
						if !errors.Is(err, ErrLinkType) {
							t.Errorf("error %v does not wrap ErrLinkType", err)
						}
						return
					}
					d := NewDecoder()
					p, ok, err := d.Decode(out, gopacket.CaptureInfo{}, to)
					if !ok || err != nil {
						t.Fatalf("converted packet does not decode: %v %+v", err, d.Stats())
					}
					checkSegment(t, p, want)
				})
			}
		}
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	eth := ethernet(t, ipTCP(t, seg4))
	if err := w.WritePacket(eth, gopacket.CaptureInfo{}, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	err := w.WritePacket([]byte{1, 2, 3}, gopacket.CaptureInfo{}, 220)
	want := "unsupported link type 220 (USB_LINUX_MMAPPED): cannot store it in a pcap file of link type 1 (EN10MB)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrLinkType) {
		t.Errorf("got %v, want %q", err, want)
	}
	w2 := NewWriter(&buf)
	w2.WriteHeader(layers.LinkTypeLinuxSLL2)
	err = w2.WritePacket([]byte{0}, gopacket.CaptureInfo{}, layers.LinkTypeEthernet)
	if err == nil || !errors.Is(err, ErrLinkType) {
		t.Errorf("short Ethernet frame into SLL2: %v", err)
	}
	// a failing writer's error comes back from Flush
	w3 := NewWriter(failWriter{})
	w3.WritePacket(eth, gopacket.CaptureInfo{}, layers.LinkTypeEthernet)
	if err := w3.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("flush on a failing writer: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriterEmpty: Close without packets still leaves a valid capture.
func TestWriterEmpty(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 24 {
		t.Fatalf("%d bytes, want a 24-byte header", buf.Len())
	}
	src, err := NewReader(&buf, "empty")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := src.Next(); err != io.EOF {
		t.Errorf("Next = %v, want io.EOF", err)
	}
}

// TestWriterExternalReaders has tcpdump and tshark read what Writer wrote:
// the real "any" capture (Linux SLL2) with a loopback capture's Ethernet
// packets converted into it.
func TestWriterExternalReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f)
	var want []string // "sport dport len" per packet, from our decoder
	d := NewDecoder()
	base := time.Unix(1764000000, 987654321)
	n := 0
	for _, name := range []string{"tcpdump-any.pcap", "tcpdump-lo.pcap"} {
		src, err := OpenFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for {
			data, ci, link, err := src.Next()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			ci.Timestamp = base.Add(time.Duration(n) * time.Microsecond)
			n++
			if err := w.WritePacket(data, ci, link); err != nil {
				t.Fatal(err)
			}
			p, _, _ := d.Decode(data, ci, link)
			want = append(want, fmt.Sprintf("%d %d %d", p.Src.Port(), p.Dst.Port(), len(p.TCP.Payload)))
		}
		src.Close()
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	t.Run("tshark", func(t *testing.T) {
		if _, err := exec.LookPath("tshark"); err != nil {
			t.Skip("tshark not installed")
		}
		out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.len", "-e", "frame.time_epoch").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != len(want) {
			t.Fatalf("tshark read %d packets, want %d", len(lines), len(want))
		}
		for i, line := range lines {
			f := strings.Fields(line)
			if len(f) < 4 || strings.Join(f[:3], " ") != want[i] {
				t.Errorf("packet %d: tshark says %q, want %q", i+1, line, want[i])
				continue
			}
			if ts := base.Add(time.Duration(i) * time.Microsecond); !strings.HasPrefix(f[3], fmt.Sprintf("%d.%09d", ts.Unix(), ts.Nanosecond())) {
				t.Errorf("packet %d: time %s, want %d.%09d", i+1, f[3], ts.Unix(), ts.Nanosecond())
			}
		}
	})
	t.Run("tcpdump", func(t *testing.T) {
		if _, err := exec.LookPath("tcpdump"); err != nil {
			t.Skip("tcpdump not installed")
		}
		out, err := exec.Command("tcpdump", "-nn", "-r", path).Output()
		if err != nil {
			t.Fatalf("tcpdump: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != len(want) || !strings.Contains(lines[0], ".7272:") {
			t.Fatalf("tcpdump read %d packets, want %d; first: %q", len(lines), len(want), lines[0])
		}
	})
}
