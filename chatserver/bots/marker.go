package bots

import (
	"bytes"
	"strconv"
)

// A load-mode message's content starts with a marker,
// "~step.sender.seq.unixnano~", and is padded with 'x' to the size asked.
// The marker is plain ASCII with no character that JSON or HTML escaping
// changes, so it reaches receivers intact through either protocol.
type marker struct {
	step   uint32
	sender uint32
	seq    uint32
	sent   int64 // UnixNano
}

// appendContent appends the marker and padding up to size bytes.
func appendContent(dst []byte, m marker, size int) []byte {
	start := len(dst)
	dst = append(dst, '~')
	dst = strconv.AppendUint(dst, uint64(m.step), 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(m.sender), 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(m.seq), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, m.sent, 10)
	dst = append(dst, '~')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

var contentKey = []byte(`"content":"~`)

// parseMarker finds the marker in a server's say message. It looks for
// the content key rather than decoding the whole JSON: receivers handle
// hundreds of thousands of messages a second, and the marker needs no
// unescaping.
func parseMarker(msg []byte) (marker, bool) {
	i := bytes.Index(msg, contentKey)
	if i < 0 {
		return marker{}, false
	}
	rest := msg[i+len(contentKey):]
	end := bytes.IndexByte(rest, '~')
	if end < 0 {
		return marker{}, false
	}
	var fields [4]uint64
	f := rest[:end]
	for k := range fields {
		part := f
		if k < len(fields)-1 {
			var ok bool
			if part, f, ok = bytes.Cut(f, []byte{'.'}); !ok {
				return marker{}, false
			}
		}
		n, ok := parseDigits(part)
		if !ok {
			return marker{}, false
		}
		fields[k] = n
	}
	if fields[0] > 1<<32-1 || fields[1] > 1<<32-1 || fields[2] > 1<<32-1 || fields[3] > 1<<63-1 {
		return marker{}, false
	}
	return marker{step: uint32(fields[0]), sender: uint32(fields[1]), seq: uint32(fields[2]), sent: int64(fields[3])}, true
}

// parseDigits reads a decimal number of 1 to 19 digits (so it cannot
// overflow), without the allocation strconv would need for a []byte.
func parseDigits(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
