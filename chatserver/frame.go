package chatserver

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"sync"
)

// WebSocket opcodes and header bits the server writes (RFC 6455 5.2).
const (
	opText  = 0x1
	finBit  = 0x80
	rsv1Bit = 0x40 // "per-message compressed" under permessage-deflate (RFC 7692 6)
)

// maxServerHeader is the longest header of an unmasked server frame:
// 2 bytes, then 8 bytes of extended length.
const maxServerHeader = 10

// frame is one server message, encoded and framed once per broadcast and
// shared by every receiver's queue. plain is the whole unfragmented text
// frame; deflated, built at most once by the first receiver that
// negotiated permessage-deflate, is the same message compressed (RSV1 set),
// or plain again when compressing would not make it smaller.
type frame struct {
	plain []byte

	deflateOnce sync.Once
	deflated    []byte
	// compressMin is the smallest payload worth compressing.
	compressMin int
}

// newTextFrame frames payload as one FIN text frame, unmasked as server
// frames are.
func newTextFrame(payload []byte, compressMin int) *frame {
	return &frame{plain: appendFrame(make([]byte, 0, maxServerHeader+len(payload)), opText, false, payload), compressMin: compressMin}
}

// appendFrame appends a FIN frame of the given opcode carrying payload.
func appendFrame(dst []byte, opcode byte, compressed bool, payload []byte) []byte {
	b0 := finBit | opcode
	if compressed {
		b0 |= rsv1Bit
	}
	n := len(payload)
	switch {
	case n <= 125:
		dst = append(dst, b0, byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, 126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// bytes returns the frame as a client that negotiated deflate (or not)
// should get it.
func (f *frame) bytes(deflate bool) []byte {
	if !deflate || f.compressMin < 0 {
		return f.plain
	}
	f.deflateOnce.Do(f.compress)
	return f.deflated
}

// payload returns the plain frame's payload.
func (f *frame) payload() []byte {
	switch n := f.plain[1]; n {
	case 126:
		return f.plain[4:]
	case 127:
		return f.plain[10:]
	default:
		return f.plain[2:]
	}
}

// flateWriters keeps compressors between messages: a flate.Writer holds
// about a megabyte of tables, far too much to make per message.
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// deflateTail is what a sync flush ends with; RFC 7692 7.2.1 has the sender
// remove it and the receiver put it back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// compress builds the deflated frame. The server negotiates
// server_no_context_takeover, so each message is compressed on its own and
// the same bytes are valid for every receiver.
func (f *frame) compress() {
	p := f.payload()
	if len(p) < f.compressMin {
		f.deflated = f.plain
		return
	}
	var buf bytes.Buffer
	buf.Grow(len(p))
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(&buf)
	_, werr := w.Write(p)
	ferr := w.Flush()
	flateWriters.Put(w)
	out := bytes.TrimSuffix(buf.Bytes(), deflateTail)
	if werr != nil || ferr != nil || len(out) >= len(p) {
		// Writing into a bytes.Buffer cannot fail; a message that does not
		// shrink goes out uncompressed, which RFC 7692 allows per message.
		f.deflated = f.plain
		return
	}
	f.deflated = appendFrame(make([]byte, 0, maxServerHeader+len(out)), opText, true, out)
}
