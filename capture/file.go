package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// MaxSnaplen is the longest packet record read or written: libpcap's
// MAXIMUM_SNAPLEN, which tcpdump and Wireshark also use. It holds any IP
// packet, GSO/GRO super-packets on loopback included.
const MaxSnaplen = 262144

// readBufSize is the read-ahead buffer of a capture file. It is above
// bufio's default so that pcapgo, which wraps its reader in bufio.NewReader,
// reuses this buffer instead of adding a second one, and it holds the
// largest pcap record whole (pcap records are read in place, nextPcap).
const readBufSize = 512 << 10

// File magics, as the first four bytes read in big-endian order.
const (
	magicPcapMicro        = 0xa1b2c3d4
	magicPcapMicroSwapped = 0xd4c3b2a1
	magicPcapNano         = 0xa1b23c4d
	magicPcapNanoSwapped  = 0x4d3cb2a1
	magicPcapng           = 0x0a0d0d0a // section header block type, palindromic
	magicPcapKuznetzov    = 0xa1b2cd34 // "modified" pcap, not read here
	magicPcapKuznetzovSw  = 0x34cdb2a1
)

// OpenFile opens a pcap or pcapng capture, gzipped or not. path "-" reads
// standard input, which need not be seekable.
func OpenFile(path string) (Source, error) {
	if path == "-" {
		return NewReader(os.Stdin, "stdin")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError already reads "open x.pcap: no such file or directory"
	}
	src, err := newFileSource(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	src.closer = f
	// Only a regular file's size says where it ends: a FIFO or a device
	// (a process substitution, /dev/stdin) reports 0 or nonsense.
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		src.size = fi.Size()
	}
	return src, nil
}

// NewReader reads a pcap or pcapng capture, gzipped or not, from r. name is
// used in error messages (a path, or "stdin"). Closing the Source does not
// close r.
func NewReader(r io.Reader, name string) (Source, error) {
	src, err := newFileSource(r, name)
	if err != nil {
		return nil, err
	}
	return src, nil
}

// countingReader counts the bytes read through it, for Position. It sits
// under the read-ahead buffer, so the count costs one atomic add a Read of
// up to readBufSize bytes, not one a packet.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// fileSource reads packets from a pcap or pcapng stream.
type fileSource struct {
	name   string
	closer io.Closer // the file opened by OpenFile, nil otherwise
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	link   layers.LinkType // pcap only: one link type per file
	n      uint64          // packets returned
	done   bool            // an error or EOF was returned: the next call returns io.EOF
	// linkErr (pcap only) is returned by the first Next when the Decoder
	// cannot read the file's link type, whether or not a packet follows.
	linkErr error
	ifaces  ngInterfaces    // pcapng only: skips the interfaces the Decoder cannot read
	secrets *secretsWatcher // pcapng only: finds the Decryption Secrets Blocks

	// pcap only: pcapgo reads the file header, and the records are then
	// read in place from br (nextPcap).
	br      *bufio.Reader
	order   binary.ByteOrder
	nanoMul uint32 // 1000 for microsecond timestamps, 1 for nanosecond
	maxCap  int    // the longest record taken
	snaplen uint32 // as pcapgo has it, for its error message

	// Position: the bytes read from the file, and its size (OpenFile of
	// a regular file only, 0 otherwise).
	read *countingReader
	size int64
}

func newFileSource(r io.Reader, name string) (*fileSource, error) {
	// Peek, never seek: standard input and pipes are read the same way.
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, readBufSize)
	magic, err := br.Peek(4)
	gzipped := false
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, zerr := gzip.NewReader(br)
		if zerr != nil {
			return nil, headerError(name, "gzip header", zerr)
		}
		gzipped = true
		br = bufio.NewReaderSize(zr, readBufSize)
		magic, err = br.Peek(4)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		if gzipped {
			return nil, headerError(name, "gzip", err)
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, err // "read x: is a directory" names the file already
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	inside := ""
	if gzipped {
		inside = ", inside gzip"
	}
	if len(magic) == 0 {
		return nil, fmt.Errorf("%s: empty%s, %w", name, inside, ErrNotCapture)
	}
	if len(magic) < 4 {
		return nil, fmt.Errorf("%s: %w (only %d bytes%s)", name, ErrNotCapture, len(magic), inside)
	}

	s := &fileSource{name: name, read: cr}
	s.ifaces.name = name
	switch m := binary.BigEndian.Uint32(magic); m {
	case magicPcapMicro, magicPcapMicroSwapped, magicPcapNano, magicPcapNanoSwapped:
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, headerError(name, "pcap file header", err)
		}
		// A header may claim any snap length; records are bounded by
		// MaxSnaplen so that no record makes the reader allocate what its
		// header claims (pcapgo refuses records above the snap length).
		if pr.Snaplen() == 0 || pr.Snaplen() > MaxSnaplen {
			pr.SetSnaplen(MaxSnaplen)
		}
		s.pcap, s.link = pr, pr.LinkType()
		s.br, s.nanoMul = br, 1000
		s.order = binary.ByteOrder(binary.BigEndian)
		if m == magicPcapMicroSwapped || m == magicPcapNanoSwapped {
			s.order = binary.LittleEndian
		}
		if m == magicPcapNano || m == magicPcapNanoSwapped {
			s.nanoMul = 1
		}
		s.snaplen = pr.Snaplen()
		s.maxCap = max(int(s.snaplen), maxEagerRecord)
		if !decodable(s.link) {
			s.linkErr = fmt.Errorf("%s: %w %s", name, ErrLinkType, describeLinkType(s.link))
		}
	case magicPcapng:
		// WantMixedLinkType keeps packets of every interface: without it
		// pcapgo silently drops those whose link type differs from the
		// first interface's. The interfaces' link types are followed
		// section by section (pcapng.go).
		// The Decryption Secrets Blocks are picked out on the way in.
		s.secrets = &secretsWatcher{r: br}
		nr, err := pcapgo.NewNgReader(s.secrets, pcapgo.NgReaderOptions{WantMixedLinkType: true, SectionEndCallback: s.ifaces.sectionEnd})
		if err != nil {
			return nil, headerError(name, "pcapng section header", err)
		}
		s.ng = nr
	case magicPcapKuznetzov, magicPcapKuznetzovSw:
		return nil, fmt.Errorf("%s: %w (magic 0x%08x: the \"modified\" pcap format%s; convert it with editcap -F pcap)", name, ErrNotCapture, m, inside)
	default:
		return nil, fmt.Errorf("%s: %w (magic 0x%08x%s)", name, ErrNotCapture, m, inside)
	}
	return s, nil
}

// headerError wraps an error met before the first packet.
func headerError(name, what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w in the %s", name, ErrTruncated, what)
	}
	return fmt.Errorf("%s: %s: %w", name, what, err)
}

// Next returns the next packet. data is owned by the reader and valid until
// the next call. After an error or io.EOF, every later call returns io.EOF.
func (s *fileSource) Next() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error) {
	if s.done {
		return nil, ci, 0, io.EOF
	}
	if s.pcap != nil {
		if s.linkErr != nil {
			s.done = true
			return nil, ci, 0, s.linkErr
		}
		data, ci, err = s.nextPcap()
		link = s.link
	} else {
		// Each packet's link type is its interface's; those of the
		// interfaces the Decoder cannot read are skipped.
		for {
			data, ci, err = s.ng.ZeroCopyReadPacketData()
			if err != nil {
				break
			}
			var keep bool
			if link, keep, err = s.ifaces.packetLink(s.ng, ci.InterfaceIndex); keep || err != nil {
				break
			}
		}
	}
	if err != nil {
		s.done = true
		err = s.wrap(err, ci)
		if err == io.EOF && s.ng != nil {
			err = s.ifaces.end(s.ng)
		}
		return nil, ci, 0, err
	}
	s.n++
	return data, ci, link, nil
}

// maxEagerRecord is the longest pcap record pcapgo reads whatever the snap
// length says (its eagerReadMax): longer ones are refused unless the snap
// length allows them. The reader below takes the same records.
const maxEagerRecord = 262144

// nextPcap reads the next pcap record in place in the read buffer, as
// pcapgo's ZeroCopyReadPacketData reads it (same checks, same errors) but
// without copying it out: two calls into bufio a packet instead of two
// io.ReadFulls and a copy, a tenth of the read path's time on small
// packets. data is valid until the next call.
func (s *fileSource) nextPcap() (data []byte, ci gopacket.CaptureInfo, err error) {
	h, err := s.br.Peek(16)
	if len(h) < 16 {
		if len(h) == 0 && errors.Is(err, io.EOF) {
			return nil, ci, io.EOF // a clean end, between records
		}
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, err
	}
	o := s.order
	ci.Timestamp = time.Unix(int64(o.Uint32(h[0:4])), int64(o.Uint32(h[4:8])*s.nanoMul)).UTC()
	ci.CaptureLength = int(o.Uint32(h[8:12]))
	ci.Length = int(o.Uint32(h[12:16]))
	if ci.CaptureLength > s.maxCap {
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, s.snaplen)
	}
	if ci.CaptureLength > ci.Length {
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	rec, err := s.br.Peek(16 + ci.CaptureLength)
	if len(rec) < 16+ci.CaptureLength {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, err
	}
	s.br.Discard(16 + ci.CaptureLength)
	return rec[16:], ci, nil
}

// wrap turns a reader error into this package's one-line errors.
func (s *fileSource) wrap(err error, ci gopacket.CaptureInfo) error {
	// A record whose header was read but none of its data reports a plain
	// io.EOF from io.ReadFull; the header's length tells it from a clean end.
	if err == io.EOF && ci.CaptureLength == 0 {
		return io.EOF
	}
	// Packets are numbered as in the file, skipped ones included.
	num := s.n + s.ifaces.skipped + 1
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w in the middle of packet %d", s.name, ErrTruncated, num)
	}
	return fmt.Errorf("%s: packet %d: %w", s.name, num, err)
}

// Position implements Positioner.
func (s *fileSource) Position() (read, size int64) { return s.read.n.Load(), s.size }

// Stats reports the packets returned and skipped so far.
func (s *fileSource) Stats() Stats { return Stats{Packets: s.n, Skipped: s.ifaces.skipped} }

// SetSecrets has fn called with each Decryption Secrets Block
// (SecretsReader); a pcap has none.
func (s *fileSource) SetSecrets(fn func(kind uint32, data []byte)) {
	if s.secrets != nil {
		s.secrets.setFunc(fn)
	}
}

// SetWarn has warn called with each warning (Warner).
func (s *fileSource) SetWarn(warn func(error)) { s.ifaces.warn = warn }

// Close closes the file opened by OpenFile; readers given to NewReader are
// left open.
func (s *fileSource) Close() error {
	s.done = true
	if s.closer == nil {
		return nil
	}
	c := s.closer
	s.closer = nil
	return c.Close()
}
