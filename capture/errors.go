package capture

import "errors"

// Sentinels that callers test with errors.Is. Each error this package returns
// reads as one line that names the file or interface first; the sentinel's
// text is the core of that line, so the wrapped messages stay grammatical
// ("x.pcap: cut off in the middle of packet 812").
var (
	// ErrNotCapture: the input is neither pcap nor pcapng (gzipped or not).
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	// ErrTruncated: the input ends in the middle of a record. Next returns
	// every whole packet before it.
	ErrTruncated = errors.New("cut off")
	// ErrLinkType: a packet's link type is one the Decoder cannot read, or a
	// Writer cannot store in its file. A file source returns it for a file
	// of no other link type, and warns with it (Warner) for a pcapng
	// interface whose packets it skips.
	ErrLinkType = errors.New("unsupported link type")
	// ErrTimeout: a live source saw no packet within LiveOptions.Timeout.
	// It is not a failure: call Next again (after checking for shutdown or
	// flushing idle connections).
	ErrTimeout = errors.New("no packet before the timeout")
	// ErrPermission: opening a live capture was refused by the kernel.
	ErrPermission = errors.New("live capture needs root or CAP_NET_RAW")
	// ErrNoInterface: the interface named for live capture does not exist.
	ErrNoInterface = errors.New("no such interface")
	// ErrBadPort: a port list holds something other than ports 1-65535.
	ErrBadPort = errors.New("bad port")
)
