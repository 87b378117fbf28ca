package capture

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Source is a stream of captured packets: a file or a live interface.
type Source interface {
	// Next returns the next packet. data is only valid until the next call.
	// At the end it returns io.EOF; a file cut off mid-record returns an
	// error wrapping ErrTruncated after its last whole packet. A file the
	// Decoder can read nothing of returns an error wrapping ErrLinkType,
	// packets or not: a pcap of such a link type at the first call, a
	// pcapng whose every interface has one at its end. After any error
	// other than ErrTimeout, later calls return io.EOF.
	//
	// A live source returns ErrTimeout when no packet came within its
	// timeout (LiveOptions.Timeout, 50 ms by default): not a failure, but a
	// chance to flush idle connections or notice a shutdown before calling
	// Next again. Files never return it.
	Next() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error)
	// Stats reports packets received and dropped by the kernel (live) or read (files).
	Stats() Stats
	// Close releases the source. A live source may be closed from another
	// goroutine while Next waits: Next then returns io.EOF.
	Close() error
}

// Warner is a Source that goes on past a problem and can say so. The
// sources of OpenFile and NewReader are Warners: they skip the packets of a
// pcapng interface whose link type the Decoder cannot read, and warn once
// per such interface.
type Warner interface {
	// SetWarn has warn called with each warning: an error of one line that
	// names the file first, as this package's errors do, and wraps a
	// sentinel (ErrLinkType). warn is called by Next, on its goroutine. Set
	// it before the first Next; without it, warnings are dropped.
	SetWarn(warn func(error))
}

// Positioner is a Source that knows how far into its file it has read, for
// a progress bar. The sources of OpenFile and NewReader are Positioners.
type Positioner interface {
	// Position returns the bytes consumed from the file so far (before
	// gunzipping, so that they compare with the size) and the file's size,
	// 0 when it is unknown: standard input, a pipe, a reader given to
	// NewReader. read runs ahead of the packets returned, by the read
	// buffer. Position may be called from any goroutine, while Next runs.
	Position() (read, size int64)
}

// Stats counts what a Source has seen.
type Stats struct {
	Packets uint64 // packets returned by Next
	Dropped uint64 // packets the kernel dropped (live capture only)
	// Skipped counts packets Next did not return because the Decoder cannot
	// read their link type: those of a pcapng interface that was warned
	// about (files only).
	Skipped uint64
}
