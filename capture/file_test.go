package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// byteOrder writes the test files in either order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// testPkt is a packet to write into a test capture.
type testPkt struct {
	ts      time.Time
	data    []byte
	origLen int // 0: len(data)
	iface   int // pcapng interface
}

// pcapFile writes a pcap file in the given byte order and resolution.
func pcapFile(order byteOrder, nanos bool, snaplen uint32, link layers.LinkType, pkts []testPkt) []byte {
	var b []byte
	magic := uint32(magicPcapMicro)
	if nanos {
		magic = magicPcapNano
	}
	b = order.AppendUint32(b, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, snaplen)
	b = order.AppendUint32(b, uint32(link))
	for _, p := range pkts {
		frac := p.ts.Nanosecond() / 1000
		if nanos {
			frac = p.ts.Nanosecond()
		}
		orig := p.origLen
		if orig == 0 {
			orig = len(p.data)
		}
		b = order.AppendUint32(b, uint32(p.ts.Unix()))
		b = order.AppendUint32(b, uint32(frac))
		b = order.AppendUint32(b, uint32(len(p.data)))
		b = order.AppendUint32(b, uint32(orig))
		b = append(b, p.data...)
	}
	return b
}

// pcapngFile writes a pcapng file in the given byte order: one section,
// an interface per link type (nanosecond resolution), enhanced packet
// blocks.
func pcapngFile(order byteOrder, ifaces []layers.LinkType, pkts []testPkt) []byte {
	block := func(b []byte, typ uint32, body []byte) []byte {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		b = order.AppendUint32(b, typ)
		b = order.AppendUint32(b, n)
		b = append(b, body...)
		return order.AppendUint32(b, n)
	}
	var shb []byte
	shb = order.AppendUint32(shb, 0x1a2b3c4d)
	shb = order.AppendUint16(shb, 1)
	shb = order.AppendUint16(shb, 0)
	shb = order.AppendUint64(shb, ^uint64(0))
	b := block(nil, magicPcapng, shb)
	for _, lt := range ifaces {
		var idb []byte
		idb = order.AppendUint16(idb, uint16(lt))
		idb = order.AppendUint16(idb, 0)
		idb = order.AppendUint32(idb, 0)
		idb = order.AppendUint16(idb, 9) // if_tsresol
		idb = order.AppendUint16(idb, 1)
		idb = append(idb, 9, 0, 0, 0) // 10^-9, padded
		idb = order.AppendUint32(idb, 0)
		b = block(b, 1, idb)
	}
	for _, p := range pkts {
		orig := p.origLen
		if orig == 0 {
			orig = len(p.data)
		}
		ts := uint64(p.ts.UnixNano())
		var epb []byte
		epb = order.AppendUint32(epb, uint32(p.iface))
		epb = order.AppendUint32(epb, uint32(ts>>32))
		epb = order.AppendUint32(epb, uint32(ts))
		epb = order.AppendUint32(epb, uint32(len(p.data)))
		epb = order.AppendUint32(epb, uint32(orig))
		epb = append(epb, p.data...)
		b = block(b, 6, epb)
	}
	return b
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads every packet of src, copying them, until an error.
func readAll(src Source) ([]testPkt, []layers.LinkType, error) {
	var pkts []testPkt
	var links []layers.LinkType
	for {
		data, ci, link, err := src.Next()
		if err != nil {
			return pkts, links, err
		}
		if ci.CaptureLength != len(data) {
			return pkts, links, errors.New("CaptureLength does not match the data")
		}
		pkts = append(pkts, testPkt{ts: ci.Timestamp, data: append([]byte(nil), data...), origLen: ci.Length, iface: ci.InterfaceIndex})
		links = append(links, link)
	}
}

func samplePackets(t testing.TB) []testPkt {
	t0 := time.Unix(1764000000, 123456789).UTC()
	return []testPkt{
		{ts: t0, data: ethernet(t, ipTCP(t, seg4))},
		{ts: t0.Add(time.Millisecond + 1), data: sll2(ipTCP(t, seg6)), iface: 1},
		{ts: t0.Add(2 * time.Second), data: ethernet(t, ipTCP(t, seg6))[:40], origLen: 80},
	}
}

// TestReadFormats reads the same packets from every format, byte order,
// resolution and compression, through a file and through a reader that
// gives one byte at a time and cannot seek (like a pipe).
func TestReadFormats(t *testing.T) {
	pkts := samplePackets(t)
	// pcap has one link type: its packets all say Ethernet here.
	pcapPkts := []testPkt{pkts[0], pkts[2]}
	type format struct {
		name  string
		data  []byte
		pkts  []testPkt
		links []layers.LinkType
		nanos bool
	}
	var formats []format
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, nanos := range []bool{false, true} {
			formats = append(formats, format{
				name: "pcap " + order.String() + map[bool]string{false: " µs", true: " ns"}[nanos],
				data: pcapFile(order, nanos, 65535, layers.LinkTypeEthernet, pcapPkts),
				pkts: pcapPkts, links: []layers.LinkType{1, 1}, nanos: nanos,
			})
		}
		formats = append(formats, format{
			name:  "pcapng " + order.String(),
			data:  pcapngFile(order, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2}, pkts),
			pkts:  pkts,
			links: []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeEthernet},
			nanos: true,
		})
	}
	for _, f := range formats {
		for _, gz := range []bool{false, true} {
			data, name := f.data, f.name
			if gz {
				data, name = gzipped(t, data), name+" gzip"
			}
			t.Run(name, func(t *testing.T) {
				openers := map[string]func() (Source, error){
					"file":   func() (Source, error) { return OpenFile(writeTemp(t, "x.cap", data)) },
					"reader": func() (Source, error) { return NewReader(iotest.OneByteReader(bytes.NewReader(data)), "pipe") },
				}
				for how, open := range openers {
					src, err := open()
					if err != nil {
						t.Fatalf("%s: %v", how, err)
					}
					got, links, err := readAll(src)
					if err != io.EOF {
						t.Fatalf("%s: read ended with %v, want io.EOF", how, err)
					}
					if _, _, _, err := src.Next(); err != io.EOF {
						t.Errorf("%s: Next after the end = %v, want io.EOF", how, err)
					}
					if len(got) != len(f.pkts) {
						t.Fatalf("%s: %d packets, want %d", how, len(got), len(f.pkts))
					}
					for i, p := range f.pkts {
						wantTS := p.ts
						if !f.nanos {
							wantTS = wantTS.Truncate(time.Microsecond)
						}
						wantLen := p.origLen
						if wantLen == 0 {
							wantLen = len(p.data)
						}
						if !bytes.Equal(got[i].data, p.data) || !got[i].ts.Equal(wantTS) || got[i].origLen != wantLen || links[i] != f.links[i] {
							t.Errorf("%s: packet %d: ts %v len %d link %d, want ts %v len %d link %d (data equal %v)", how, i+1,
								got[i].ts, got[i].origLen, links[i], wantTS, wantLen, f.links[i], bytes.Equal(got[i].data, p.data))
						}
					}
					if s := src.Stats(); s.Packets != uint64(len(f.pkts)) || s.Dropped != 0 {
						t.Errorf("%s: stats %+v", how, s)
					}
					if err := src.Close(); err != nil {
						t.Errorf("%s: close: %v", how, err)
					}
				}
			})
		}
	}
}

// TestReadRealCaptures reads captures made by tcpdump and dumpcap of the
// same two loopback connections (IPv4 then IPv6: the client sends "hello",
// the server answers "world:hello").
func TestReadRealCaptures(t *testing.T) {
	tests := []struct {
		file  string
		links map[layers.LinkType]int
	}{
		{"tcpdump-lo.pcap", map[layers.LinkType]int{layers.LinkTypeEthernet: 21}},
		{"tcpdump-any.pcap", map[layers.LinkType]int{layers.LinkTypeLinuxSLL2: 21}},
		{"dumpcap-lo-any.pcapng", map[layers.LinkType]int{layers.LinkTypeEthernet: 21, layers.LinkTypeLinuxSLL: 21}},
	}
	for _, tc := range tests {
		for _, gz := range []bool{false, true} {
			t.Run(tc.file+map[bool]string{true: ".gz"}[gz], func(t *testing.T) {
				path := filepath.Join("testdata", tc.file)
				if gz {
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					path = writeTemp(t, tc.file+".gz", gzipped(t, b))
				}
				src, err := OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				d := NewDecoder()
				links := map[layers.LinkType]int{}
				payloads := map[string]int{}
				for {
					data, ci, link, err := src.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					links[link]++
					p, ok, err := d.Decode(data, ci, link)
					if err != nil || !ok {
						t.Fatalf("packet %d: ok %v err %v", src.Stats().Packets, ok, err)
					}
					if p.Src.Port() != 7272 && p.Dst.Port() != 7272 {
						t.Errorf("packet %d: ports %v -> %v", src.Stats().Packets, p.Src, p.Dst)
					}
					if len(p.TCP.Payload) > 0 {
						payloads[string(p.TCP.Payload)+map[bool]string{true: "/v4", false: "/v6"}[p.Src.Addr().Is4()]]++
					}
				}
				for lt, n := range tc.links {
					if links[lt] != n {
						t.Errorf("%d packets of link type %d, want %d (all: %v)", links[lt], lt, n, links)
					}
				}
				per := len(tc.links) // each connection was captured once per interface
				for _, want := range []string{"hello/v4", "hello/v6", "world:hello/v4", "world:hello/v6"} {
					if payloads[want] != per {
						t.Errorf("payload %s seen %d times, want %d (all: %v)", want, payloads[want], per, payloads)
					}
				}
				if s := d.Stats(); s.TCP != uint64(21*per) || s.Malformed != 0 {
					t.Errorf("decode stats %+v", s)
				}
			})
		}
	}
}

// TestReadStdin reads a gzipped capture from standard input, as
// "chatsniff read -" does.
func TestReadStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; r.Close() }()
	data := gzipped(t, pcapFile(binary.LittleEndian, true, 0, layers.LinkTypeEthernet, samplePackets(t)[:1]))
	go func() { w.Write(data); w.Close() }()
	src, err := OpenFile("-")
	if err != nil {
		t.Fatal(err)
	}
	pkts, _, err := readAll(src)
	if err != io.EOF || len(pkts) != 1 {
		t.Fatalf("%d packets, err %v", len(pkts), err)
	}
	src.Close()
}

// TestReadErrors checks each failure's one-line message and sentinel.
func TestReadErrors(t *testing.T) {
	pkts := samplePackets(t)
	pcapPkts := []testPkt{pkts[0], pkts[0], pkts[0]}
	whole := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pcapPkts)
	recLen := 16 + len(pkts[0].data)
	ng := pcapngFile(binary.BigEndian, []layers.LinkType{1}, pcapPkts)
	tests := []struct {
		name    string
		data    []byte
		open    string // error from opening, else ""
		packets int    // whole packets before the error
		read    string // error after them
		is      error
	}{
		{name: "text file", data: []byte("hello world\n"), open: "x.cap: not a pcap or pcapng file (magic 0x68656c6c)", is: ErrNotCapture},
		{name: "text file gzipped", data: gzipped(t, []byte("hello world\n")), open: "x.cap: not a pcap or pcapng file (magic 0x68656c6c, inside gzip)", is: ErrNotCapture},
		{name: "empty", data: nil, open: "x.cap: empty, not a pcap or pcapng file", is: ErrNotCapture},
		{name: "three bytes", data: []byte{0xd4, 0xc3, 0xb2}, open: "x.cap: not a pcap or pcapng file (only 3 bytes)", is: ErrNotCapture},
		{name: "modified pcap", data: []byte{0xa1, 0xb2, 0xcd, 0x34, 0, 0, 0, 0}, open: `x.cap: not a pcap or pcapng file (magic 0xa1b2cd34: the "modified" pcap format; convert it with editcap -F pcap)`, is: ErrNotCapture},
		{name: "pcap header cut", data: whole[:10], open: "x.cap: cut off in the pcap file header", is: ErrTruncated},
		{name: "pcapng header cut", data: ng[:20], open: "x.cap: cut off in the pcapng section header", is: ErrTruncated},
		{name: "gzip header cut", data: gzipped(t, whole)[:5], open: "x.cap: cut off in the gzip header", is: ErrTruncated},
		{name: "pcap version 3", data: append(append(append([]byte(nil), whole[:4]...), 3, 0), whole[6:]...), open: "x.cap: pcap file header: Unknown major version 3"},
		{name: "cut in a record's data", data: whole[:24+2*recLen+30], packets: 2, read: "x.cap: cut off in the middle of packet 3", is: ErrTruncated},
		{name: "cut in a record header", data: whole[:24+2*recLen+7], packets: 2, read: "x.cap: cut off in the middle of packet 3", is: ErrTruncated},
		{name: "cut right after a record header", data: whole[:24+2*recLen+16], packets: 2, read: "x.cap: cut off in the middle of packet 3", is: ErrTruncated},
		{name: "pcapng cut", data: ng[:len(ng)-10], packets: 2, read: "x.cap: cut off in the middle of packet 3", is: ErrTruncated},
		{name: "gzip stream cut", data: gzipped(t, whole[:24+recLen+20])[:], packets: 1, read: "x.cap: cut off in the middle of packet 2", is: ErrTruncated},
		{name: "gzip compressed bytes cut", data: func() []byte { z := gzipped(t, whole); return z[:len(z)-12] }(), packets: 3, read: "x.cap: cut off in the middle of packet 4", is: ErrTruncated},
		{name: "record above the snap length", data: pcapFile(binary.LittleEndian, false, 0xffffffff, 1, []testPkt{{data: make([]byte, MaxSnaplen+1)}}),
			read: "x.cap: packet 1: capture length exceeds snap length: 262145 > 262144"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir()) // so that messages name "x.cap", not a temporary path
			if err := os.WriteFile("x.cap", tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := OpenFile("x.cap")
			if tc.open != "" {
				if err == nil || err.Error() != tc.open || (tc.is != nil && !errors.Is(err, tc.is)) {
					t.Fatalf("open: %v, want %q (is %v)", err, tc.open, tc.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer src.Close()
			pkts, _, err := readAll(src)
			if len(pkts) != tc.packets || err == nil || err.Error() != tc.read || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("%d packets then %v, want %d then %q (is %v)", len(pkts), err, tc.packets, tc.read, tc.is)
			}
			if _, _, _, err := src.Next(); err != io.EOF {
				t.Errorf("Next after the error = %v, want io.EOF", err)
			}
		})
	}
}

func TestOpenFileErrors(t *testing.T) {
	_, err := OpenFile("no-such-file.pcap")
	if err == nil || err.Error() != "open no-such-file.pcap: no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	dir := t.TempDir()
	_, err = OpenFile(dir)
	if err == nil || err.Error() != "read "+dir+": is a directory" {
		t.Errorf("directory: %v", err)
	}
}

// TestReadHugeClaims checks that records claiming absurd lengths cost no
// more memory than the bytes really there.
func TestReadHugeClaims(t *testing.T) {
	// pcapng: an enhanced packet block claiming 2 GiB of data, with 100
	// bytes behind it.
	ng := pcapngFile(binary.LittleEndian, []layers.LinkType{1}, []testPkt{{data: make([]byte, 100)}})
	epb := len(ng) - (12 + 20 + 100)
	binary.LittleEndian.PutUint32(ng[epb+8+12:], 1<<31-1)
	// pcap: a record claiming 4 GiB in a file claiming a 4 GiB snap length.
	pc := pcapFile(binary.LittleEndian, false, 0xffffffff, 1, []testPkt{{data: make([]byte, 100)}})
	binary.LittleEndian.PutUint32(pc[24+8:], 0xffffffff)
	binary.LittleEndian.PutUint32(pc[24+12:], 0xffffffff)
	for name, data := range map[string][]byte{"pcapng": ng, "pcap": pc} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		src, err := NewReader(bytes.NewReader(data), "x")
		if err != nil {
			t.Fatal(err)
		}
		pkts, _, err := readAll(src)
		runtime.ReadMemStats(&after)
		if err == nil || err == io.EOF || len(pkts) != 0 {
			t.Errorf("%s: %d packets then %v, want an error", name, len(pkts), err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Errorf("%s: reading allocated %d bytes", name, grew)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestLinkTypeName(t *testing.T) {
	for lt, want := range map[layers.LinkType]string{1: "EN10MB", 276: "LINUX_SLL2", 147: "USER0", 162: "USER15", 4242: ""} {
		if got := LinkTypeName(lt); got != want {
			t.Errorf("LinkTypeName(%d) = %q, want %q", lt, got, want)
		}
	}
	if !strings.Contains(describeLinkType(113), "LINUX_SLL") {
		t.Error(describeLinkType(113))
	}
}
