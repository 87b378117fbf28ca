package pcaptest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// defaultSnaplen is written in the header of a pcap made from a source that
// declared none (pcapng's 0 means "unlimited"); it is tcpdump's default.
const defaultSnaplen = 262144

// maxPackets bounds how many records Parse keeps, so a corrupt or hostile
// input cannot make a test allocate without end.
const maxPackets = 1 << 20

// Packet is one record of a capture.
type Packet struct {
	CI   gopacket.CaptureInfo
	Data []byte // CI.CaptureLength bytes
}

// Capture is a capture file read into memory, pcap or pcapng alike.
type Capture struct {
	LinkType layers.LinkType
	Snaplen  uint32
	// Nanos is true when the source stored nanosecond timestamps; Bytes
	// then writes a nanosecond pcap so no precision is lost.
	Nanos   bool
	Packets []Packet
}

// pcapng files start with a Section Header Block of this type.
var pcapngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}

// Parse reads a pcap or pcapng file. A pcapng file must have one link type
// for all its interfaces, since the transforms write pcap, which has one.
func Parse(b []byte) (*Capture, error) {
	if bytes.HasPrefix(b, pcapngMagic) {
		return parseNg(b)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("read pcap header: %w", err)
	}
	c := &Capture{
		LinkType: r.LinkType(),
		Snaplen:  r.Snaplen(),
		Nanos:    r.Resolution() == gopacket.TimestampResolutionNanosecond,
	}
	if err := c.readAll(r); err != nil {
		return nil, err
	}
	return c, nil
}

func parseNg(b []byte) (*Capture, error) {
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{ErrorOnMismatchingLinkType: true})
	if err != nil {
		return nil, fmt.Errorf("read pcapng header: %w", err)
	}
	c := &Capture{
		LinkType: r.LinkType(),
		Snaplen:  defaultSnaplen,
		// Anything finer than microseconds needs a nanosecond pcap.
		Nanos: r.Resolution() != gopacket.TimestampResolutionMicrosecond,
	}
	if iface, err := r.Interface(0); err == nil && iface.SnapLength != 0 {
		c.Snaplen = iface.SnapLength
	}
	if err := c.readAll(r); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Capture) readAll(r gopacket.PacketDataSource) error {
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read packet %d: %w", len(c.Packets)+1, err)
		}
		if len(c.Packets) >= maxPackets {
			return fmt.Errorf("read packet %d: more than %d packets", len(c.Packets)+1, maxPackets)
		}
		c.Packets = append(c.Packets, Packet{CI: ci, Data: data})
	}
}

// Bytes writes the capture as a pcap file.
func (c *Capture) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if c.Nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	snaplen := c.Snaplen
	if snaplen == 0 {
		snaplen = defaultSnaplen
	}
	if err := w.WriteFileHeader(snaplen, c.LinkType); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	for i, p := range c.Packets {
		if err := w.WritePacket(p.CI, p.Data); err != nil {
			return nil, fmt.Errorf("write packet %d: %w", i+1, err)
		}
	}
	return buf.Bytes(), nil
}

// pcapFileHeaderLen and pcapRecordHeaderLen are the fixed sizes of the
// classic pcap file and record headers.
const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

// recordOffsets returns where each record of a classic pcap file starts.
func recordOffsets(b []byte) ([]int, error) {
	if len(b) < pcapFileHeaderLen {
		return nil, fmt.Errorf("pcap header: %d bytes, want %d", len(b), pcapFileHeaderLen)
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("pcap header: unknown magic %x", b[:4])
	}
	var offs []int
	for off := pcapFileHeaderLen; off < len(b); {
		if len(b)-off < pcapRecordHeaderLen {
			return nil, fmt.Errorf("record at %d: header cut short", off)
		}
		caplen := int(order.Uint32(b[off+8:]))
		if caplen > len(b)-off-pcapRecordHeaderLen {
			return nil, fmt.Errorf("record at %d: %d bytes of data, %d left", off, caplen, len(b)-off-pcapRecordHeaderLen)
		}
		offs = append(offs, off)
		off += pcapRecordHeaderLen + caplen
	}
	return offs, nil
}
