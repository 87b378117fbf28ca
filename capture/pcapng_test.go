package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// ngBuilder writes a pcapng file block by block, in whatever order a test
// needs: several sections, interfaces described after packets of others,
// packets on any interface.
type ngBuilder struct {
	order byteOrder
	b     []byte
	ts    uint64 // microseconds, one more per packet
}

func (w *ngBuilder) block(typ uint32, body []byte) *ngBuilder {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	w.b = w.order.AppendUint32(w.b, typ)
	w.b = w.order.AppendUint32(w.b, n)
	w.b = append(w.b, body...)
	w.b = w.order.AppendUint32(w.b, n)
	return w
}

func (w *ngBuilder) section() *ngBuilder {
	var shb []byte
	shb = w.order.AppendUint32(shb, 0x1a2b3c4d)
	shb = w.order.AppendUint16(shb, 1)
	shb = w.order.AppendUint16(shb, 0)
	shb = w.order.AppendUint64(shb, ^uint64(0))
	return w.block(magicPcapng, shb)
}

func (w *ngBuilder) iface(lt layers.LinkType) *ngBuilder {
	var idb []byte
	idb = w.order.AppendUint16(idb, uint16(lt))
	idb = w.order.AppendUint16(idb, 0)
	idb = w.order.AppendUint32(idb, 0)
	return w.block(1, idb)
}

func (w *ngBuilder) packet(iface int, data []byte) *ngBuilder {
	w.ts++
	var epb []byte
	epb = w.order.AppendUint32(epb, uint32(iface))
	epb = w.order.AppendUint32(epb, uint32(w.ts>>32))
	epb = w.order.AppendUint32(epb, uint32(w.ts))
	epb = w.order.AppendUint32(epb, uint32(len(data)))
	epb = w.order.AppendUint32(epb, uint32(len(data)))
	epb = append(epb, data...)
	return w.block(6, epb)
}

func newNg(order byteOrder) *ngBuilder { return (&ngBuilder{order: order}).section() }

// warnRun is what reading a whole file gave.
type warnRun struct {
	pkts     [][]byte
	links    []layers.LinkType
	ifaces   []int
	warnings []error
	// warnedBefore[i] is how many warnings had come when packet i was returned.
	warnedBefore []int
	err          error // the error that ended the file; nil for io.EOF
	stats        Stats
}

// readWarned reads every packet of data as file "x.cap", with its warnings.
func readWarned(t *testing.T, data []byte) warnRun {
	t.Helper()
	src, err := NewReader(bytes.NewReader(data), "x.cap")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer src.Close()
	var r warnRun
	w, ok := src.(Warner)
	if !ok {
		t.Fatal("a file source is not a Warner")
	}
	w.SetWarn(func(err error) { r.warnings = append(r.warnings, err) })
	for {
		data, ci, link, err := src.Next()
		if err != nil {
			if err != io.EOF {
				r.err = err
				if _, _, _, err := src.Next(); err != io.EOF {
					t.Errorf("Next after %v = %v, want io.EOF", r.err, err)
				}
			}
			break
		}
		r.pkts = append(r.pkts, bytes.Clone(data))
		r.links = append(r.links, link)
		r.ifaces = append(r.ifaces, ci.InterfaceIndex)
		r.warnedBefore = append(r.warnedBefore, len(r.warnings))
	}
	r.stats = src.Stats()
	return r
}

func errorTexts(errs []error) []string {
	var s []string
	for _, err := range errs {
		s = append(s, err.Error())
	}
	return s
}

// TestUnsupportedLinkFile checks that a file holding only link types the
// Decoder cannot read is an error, packets or not: a pcap by its header's
// link type, a pcapng when every interface has one.
func TestUnsupportedLinkFile(t *testing.T) {
	pkt := ethernet(t, ipTCP(t, seg4))
	three := []testPkt{{data: pkt}, {data: pkt}, {data: pkt}}
	le, be := binary.LittleEndian, binary.BigEndian
	tests := []struct {
		name    string
		data    []byte
		err     string
		skipped uint64
	}{
		{name: "pcap USER0, no packet", data: pcapFile(le, false, 65535, 147, nil),
			err: "x.cap: unsupported link type 147 (USER0)"},
		{name: "pcap 802.11 with packets", data: pcapFile(be, true, 65535, 105, three),
			err: "x.cap: unsupported link type 105 (IEEE802_11)"},
		{name: "pcap gzipped", data: gzipped(t, pcapFile(le, false, 0, 4242, three)),
			err: "x.cap: unsupported link type 4242"},
		{name: "pcapng USER0, no packet", data: newNg(le).iface(147).b,
			err: "x.cap: unsupported link type 147 (USER0) on its only interface"},
		{name: "pcapng USER0 with packets", data: newNg(be).iface(147).packet(0, pkt).packet(0, pkt).packet(0, pkt).b,
			err: "x.cap: unsupported link type 147 (USER0) on its only interface", skipped: 3},
		{name: "pcapng two USER0", data: newNg(le).iface(147).iface(147).packet(1, pkt).packet(0, pkt).b,
			err: "x.cap: unsupported link type 147 (USER0) on all 2 interfaces", skipped: 2},
		{name: "pcapng USER0 and USER1", data: newNg(le).iface(147).iface(148).packet(1, pkt).iface(147).packet(2, pkt).b,
			err: "x.cap: unsupported link type on all 3 interfaces: 147 (USER0), 148 (USER1)", skipped: 2},
		{name: "pcapng two sections", data: newNg(le).iface(147).packet(0, pkt).section().iface(105).packet(0, pkt).b,
			err: "x.cap: unsupported link type on all 2 interfaces: 147 (USER0), 105 (IEEE802_11)", skipped: 2},
		{name: "pcapng gzipped", data: gzipped(t, newNg(be).iface(162).b),
			err: "x.cap: unsupported link type 162 (USER15) on its only interface"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := readWarned(t, tc.data)
			if len(r.pkts) != 0 || r.err == nil || r.err.Error() != tc.err || !errors.Is(r.err, ErrLinkType) {
				t.Fatalf("%d packets then %v, want none then %q", len(r.pkts), r.err, tc.err)
			}
			checkOneLine(t, r.err)
			if len(r.warnings) != 0 {
				t.Errorf("warnings %q besides the error", errorTexts(r.warnings))
			}
			if r.stats != (Stats{Skipped: tc.skipped}) {
				t.Errorf("stats %+v, want %d skipped", r.stats, tc.skipped)
			}
		})
	}
}

// TestNoPacketsNoError checks files that hold nothing to decode and nothing
// wrong: they end at once, without error or warning.
func TestNoPacketsNoError(t *testing.T) {
	le := binary.LittleEndian
	for name, data := range map[string][]byte{
		"pcap Ethernet":                  pcapFile(le, false, 65535, layers.LinkTypeEthernet, nil),
		"pcapng without interfaces":      newNg(le).b,
		"pcapng Ethernet and USER0":      newNg(le).iface(1).iface(147).b,
		"pcapng USER0 and SLL2":          newNg(le).iface(147).iface(276).b,
		"pcapng sections, one decodable": newNg(le).iface(147).section().section().iface(113).b,
	} {
		t.Run(name, func(t *testing.T) {
			r := readWarned(t, data)
			if len(r.pkts) != 0 || r.err != nil || len(r.warnings) != 0 || r.stats != (Stats{}) {
				t.Errorf("%d packets, %v, warnings %q, stats %+v; want nothing", len(r.pkts), r.err, errorTexts(r.warnings), r.stats)
			}
		})
	}
}

// TestUnsupportedInterfaceSkipped reads pcapngs where an interface of a
// link type the Decoder cannot read sits among decodable ones: the packets
// of the decodable ones are all returned and decode as before, those of the
// others are counted as skipped, and each such interface is warned about
// once, before the packets that follow it are returned.
func TestUnsupportedInterfaceSkipped(t *testing.T) {
	// Real packets for the Ethernet interface.
	src, err := OpenFile(filepath.Join("testdata", "tcpdump-lo.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	real, links, err := readAll(src)
	src.Close()
	if err != io.EOF || len(real) < 4 || links[0] != layers.LinkTypeEthernet {
		t.Fatalf("tcpdump-lo.pcap: %d packets of %v, %v", len(real), links, err)
	}
	junk := []byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3}
	warn0 := "x.cap: interface 0: unsupported link type 147 (USER0), its packets skipped"
	warn2 := "x.cap: interface 2: unsupported link type 999, its packets skipped"

	tests := []struct {
		name  string
		build func(w *ngBuilder) // after the first section header
		good  int                // the decodable interface
		skip  uint64
		warns []string
		// firstWarned is how many warnings had come when the first packet
		// was returned.
		firstWarned int
	}{
		{
			name: "USER0 first, a packet of it before each",
			build: func(w *ngBuilder) {
				w.iface(147).iface(layers.LinkTypeEthernet)
				for _, p := range real {
					w.packet(0, junk).packet(1, p.data)
				}
				w.packet(0, junk)
			},
			good: 1, skip: uint64(len(real) + 1), warns: []string{warn0}, firstWarned: 1,
		},
		{
			name: "Ethernet first, USER0 later",
			build: func(w *ngBuilder) {
				w.iface(layers.LinkTypeEthernet).iface(147)
				for i, p := range real {
					w.packet(0, p.data)
					if i >= 2 {
						w.packet(1, junk)
					}
				}
			},
			good: 0, skip: uint64(len(real) - 2), warns: []string{"x.cap: interface 1: unsupported link type 147 (USER0), its packets skipped"},
		},
		{
			name: "Ethernet described after USER0's packets",
			build: func(w *ngBuilder) {
				w.iface(147).packet(0, junk).packet(0, junk).iface(layers.LinkTypeEthernet)
				for _, p := range real {
					w.packet(1, p.data)
				}
			},
			good: 1, skip: 2, warns: []string{warn0}, firstWarned: 1,
		},
		{
			name: "two interfaces of unsupported types",
			build: func(w *ngBuilder) {
				w.iface(147).iface(layers.LinkTypeEthernet).iface(999)
				for _, p := range real {
					w.packet(2, junk).packet(1, p.data).packet(0, junk)
				}
			},
			good: 1, skip: uint64(2 * len(real)), warns: []string{warn2, warn0}, firstWarned: 1,
		},
		{
			name: "USER0 in a second section",
			build: func(w *ngBuilder) {
				w.iface(layers.LinkTypeEthernet)
				for _, p := range real[:2] {
					w.packet(0, p.data)
				}
				w.section().iface(147).iface(layers.LinkTypeEthernet).packet(0, junk)
				for _, p := range real[2:] {
					w.packet(1, p.data).packet(0, junk)
				}
			},
			good: -1, skip: uint64(len(real) - 1), warns: []string{"x.cap: section 2, interface 0: unsupported link type 147 (USER0), its packets skipped"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
				w := newNg(order)
				tc.build(w)
				r := readWarned(t, w.b)
				if r.err != nil {
					t.Fatalf("error %v, want none", r.err)
				}
				if len(r.pkts) != len(real) {
					t.Fatalf("%d packets, want %d", len(r.pkts), len(real))
				}
				for i, p := range real {
					if !bytes.Equal(r.pkts[i], p.data) || r.links[i] != layers.LinkTypeEthernet || (tc.good >= 0 && r.ifaces[i] != tc.good) {
						t.Fatalf("packet %d: %d bytes of link type %v on interface %d, want packet %d of tcpdump-lo.pcap", i+1, len(r.pkts[i]), r.links[i], r.ifaces[i], i+1)
					}
				}
				if got := errorTexts(r.warnings); !slices.Equal(got, tc.warns) {
					t.Errorf("warnings %q, want %q", got, tc.warns)
				}
				for _, w := range r.warnings {
					checkOneLine(t, w)
					if !errors.Is(w, ErrLinkType) {
						t.Errorf("warning %v does not wrap ErrLinkType", w)
					}
				}
				if r.warnedBefore[0] != tc.firstWarned {
					t.Errorf("%d warnings before the first packet, want %d", r.warnedBefore[0], tc.firstWarned)
				}
				if want := (Stats{Packets: uint64(len(real)), Skipped: tc.skip}); r.stats != want {
					t.Errorf("stats %+v, want %+v", r.stats, want)
				}
				// Every packet returned decodes as in the original.
				d := NewDecoder()
				for _, p := range r.pkts {
					if _, _, err := d.Decode(p, ci(len(p)), layers.LinkTypeEthernet); err != nil {
						t.Fatal(err)
					}
				}
				if s := d.Stats(); s.TCP != uint64(len(real)) {
					t.Errorf("decoded %+v, want %d TCP segments", s, len(real))
				}
			}
		})
	}
}

// TestUnsupportedInterfaceNoWarner reads a file with a skipped interface
// without SetWarn: the warning is dropped, the packets are the same.
func TestUnsupportedInterfaceNoWarner(t *testing.T) {
	pkt := ethernet(t, ipTCP(t, seg4))
	data := newNg(binary.LittleEndian).iface(147).iface(1).packet(0, pkt).packet(1, pkt).b
	src, err := NewReader(bytes.NewReader(data), "x.cap")
	if err != nil {
		t.Fatal(err)
	}
	pkts, _, err := readAll(src)
	if err != io.EOF || len(pkts) != 1 || pkts[0].iface != 1 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
}

// TestSkippedPacketsNumbered checks that errors number packets as the file
// does, skipped ones included.
func TestSkippedPacketsNumbered(t *testing.T) {
	pkt := ethernet(t, ipTCP(t, seg4))
	data := newNg(binary.LittleEndian).iface(1).iface(147).
		packet(0, pkt).packet(1, pkt).packet(1, pkt).packet(0, pkt).packet(0, pkt).b
	r := readWarned(t, data[:len(data)-10])
	want := "x.cap: cut off in the middle of packet 5"
	if len(r.pkts) != 2 || r.err == nil || r.err.Error() != want || !errors.Is(r.err, ErrTruncated) {
		t.Fatalf("%d packets then %v, want 2 then %q", len(r.pkts), r.err, want)
	}
	if len(r.warnings) != 1 {
		t.Errorf("warnings %q, want one", errorTexts(r.warnings))
	}
}

// TestDecodable checks that decodable names exactly the link types Decode
// reads.
func TestDecodable(t *testing.T) {
	d := NewDecoder()
	for lt := range 1 << 16 {
		link := layers.LinkType(lt)
		_, _, err := d.Decode(nil, ci(0), link)
		if (err == nil) != decodable(link) {
			t.Errorf("link type %d: decodable %v, Decode error %v", lt, decodable(link), err)
		}
	}
}
