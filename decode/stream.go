package decode

import (
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf8"
)

// dirState is where a direction's frame parser stands.
type dirState uint8

const (
	stHeader  dirState = iota // expecting (the rest of) a frame header
	stPayload                 // inside a frame's payload
	stResync                  // after a gap or midstream: waiting for a Data call that starts with a frame
	stDead                    // after a protocol violation: ignored
)

// keepBuffer is the largest message buffer kept between messages; a larger
// one (after a large message) is dropped so that idle connections do not
// hold megabytes each.
const keepBuffer = 64 << 10

// wsDir decodes the frames one side sends. Frames are parsed as bytes
// arrive: at most a header's 14 bytes wait for the rest, and payload goes
// straight, unmasked, into the message buffer.
type wsDir struct {
	c          *conn
	fromClient bool
	state      dirState

	hdr  [maxHeader]byte // a header split across Data calls
	hlen int
	h    header // the frame being read
	left uint64 // its payload bytes still to come
	pos  int    // its mask key offset

	// The data message being read, maybe over several frames.
	inMsg      bool
	op         Opcode
	compressed bool
	truncated  bool
	frags      int
	total      uint64 // payload bytes received, kept or not
	buf        []byte // payload kept: at most the message cap, unmasked, still compressed if so
	// whole is the payload instead of buf when an unmasked message came
	// in one frame within one piece of input: it is read there, during
	// the feed call, rather than copied (a server's messages, mostly).
	whole []byte

	// A control frame's payload: 125 bytes at most, so no allocation.
	ctl    [maxControlPayload]byte
	ctlLen int
	closed bool // a close frame was sent: nothing may follow

	// permessage-deflate
	deflate  bool // RSV1 marks a compressed message
	takeover bool // the window carries over between messages
	inf      *inflater
	out      []byte // inflated messages
	// windowLost says the sender's window is unknown (midstream, gap) to
	// an inflater not made yet.
	windowLost bool
	// orphans is set when decoding resumed after a gap: continuation
	// frames of the message the gap cut are passed over until its last.
	orphans bool
	skip    bool // the frame being read is such a continuation
}

// feed decodes the next bytes of this direction.
func (w *wsDir) feed(b []byte, t time.Time) {
	if w.state == stResync {
		// Decoding resumes at a Data call that starts with plausible
		// frames. Continuations of the message the gap cut may come
		// first (the rest of its fragments, perhaps with control frames
		// between them, in one Data call with what follows): they are
		// passed over, as their message's start is lost.
		mask := maskNo
		if w.fromClient {
			mask = maskYes
		}
		if ok, _ := w.c.d.plausibleFrom(b, mask, w.deflate, true); !ok {
			return
		}
		w.state = stHeader
		w.orphans = true
	}
	for len(b) > 0 {
		switch w.state {
		case stHeader:
			var h header
			if w.hlen == 0 && len(b) >= 2 && len(b) >= headerSize(b[0], b[1]) {
				h = parseHeader(b)
				b = b[h.size:]
			} else {
				// Gather the header: the first two bytes say how long it is.
				need := 2
				if w.hlen >= 2 {
					need = headerSize(w.hdr[0], w.hdr[1])
				}
				n := copy(w.hdr[w.hlen:need], b)
				w.hlen += n
				b = b[n:]
				if w.hlen == 2 {
					need = headerSize(w.hdr[0], w.hdr[1])
					n = copy(w.hdr[w.hlen:need], b)
					w.hlen += n
					b = b[n:]
				}
				if w.hlen < need {
					return
				}
				h = parseHeader(w.hdr[:w.hlen])
				w.hlen = 0
			}
			if !w.startFrame(&h, t) {
				return
			}
			if w.left == 0 {
				w.endFrame(t)
			}
		case stPayload:
			n := len(b)
			if uint64(n) > w.left {
				n = int(w.left)
			}
			w.payload(b[:n])
			b = b[n:]
			w.left -= uint64(n)
			if w.left == 0 {
				w.endFrame(t)
			}
		default:
			return
		}
	}
}

// startFrame checks a frame's header and sets up for its payload. It
// returns false after a violation, which stops the direction.
func (w *wsDir) startFrame(h *header, t time.Time) bool {
	msg := ""
	if w.closed {
		msg = "frame after a close frame"
	} else {
		msg = h.check(w.fromClient, w.deflate, w.inMsg)
	}
	if w.orphans && !h.op.IsControl() {
		w.skip = h.op == OpContinuation
		w.orphans = w.skip && !h.fin
		if w.skip && !w.closed {
			// The lost message's fragment: checked as if its start were
			// there.
			msg = h.check(w.fromClient, w.deflate, true)
		}
	}
	if msg != "" {
		w.violation(t, msg)
		return false
	}
	w.h = *h
	w.left = h.length
	w.pos = 0
	w.state = stPayload
	if w.skip {
		return true
	}
	if h.op.IsControl() {
		w.ctlLen = 0
		return true
	}
	if h.op != OpContinuation {
		w.inMsg = true
		w.op = h.op
		w.compressed = h.rsv&rsv1 != 0
		w.truncated = false
		w.frags = 0
		w.total = 0
		w.buf = w.buf[:0]
	}
	w.frags++
	return true
}

// payload takes the next payload bytes of the current frame.
func (w *wsDir) payload(p []byte) {
	if w.skip {
		return
	}
	if w.h.op.IsControl() {
		n := copy(w.ctl[w.ctlLen:], p)
		if w.h.masked {
			w.pos = Mask(w.h.key, w.pos, w.ctl[w.ctlLen:w.ctlLen+n])
		}
		w.ctlLen += n
		return
	}
	limit := w.c.d.cfg.MaxMessage
	if w.total == 0 && w.frags == 1 && w.h.fin && !w.h.masked && uint64(len(p)) == w.left && len(p) <= limit {
		w.total, w.whole = uint64(len(p)), p
		return
	}
	w.total += uint64(len(p))
	room := limit - len(w.buf)
	if len(p) > room {
		// Past the cap bytes are counted, not kept: the length in a
		// header never decides an allocation.
		p = p[:max(room, 0)]
		w.truncated = true
	}
	if len(p) == 0 {
		return
	}
	start := len(w.buf)
	if w.buf == nil {
		w.buf = w.c.d.getBuf()
	}
	w.buf = append(w.c.d.growBuf(w.buf, len(p), limit), p...)
	if w.h.masked {
		w.pos = Mask(w.h.key, w.pos, w.buf[start:])
	}
}

// endFrame finishes a frame whose payload is complete.
func (w *wsDir) endFrame(t time.Time) {
	w.state = stHeader
	if w.skip {
		w.skip = false
		return
	}
	switch {
	case w.h.op.IsControl():
		w.control(t)
	case w.h.fin:
		w.message(t)
	}
}

// control reports a control frame; they may come between the fragments of
// a data message, which goes on afterwards.
func (w *wsDir) control(t time.Time) {
	c := w.c
	p := w.ctl[:w.ctlLen]
	code, reason, problem := 0, "", ""
	if w.h.op == OpClose {
		w.closed = true
		switch {
		case len(p) == 1:
			problem = "close frame with a 1-byte payload"
		case len(p) >= 2:
			code = int(binary.BigEndian.Uint16(p))
			switch {
			case !validCloseCode(code):
				problem = "invalid close code " + strconv.Itoa(code)
			case !utf8.Valid(p[2:]):
				problem = "invalid UTF-8 in close reason"
			}
			if utf8.Valid(p[2:]) {
				reason = string(p[2:])
			}
		}
	}
	if problem != "" {
		c.emitError(w.fromClient, t, problem)
	}
	e := c.newEvent(KindMessage, w.fromClient, t)
	e.Opcode = w.h.op
	e.Masked = w.h.masked
	e.Fragments = 1
	e.Length = len(p)
	e.Payload = p
	e.PayloadIsText = len(p) > 0 && utf8.Valid(p)
	e.CloseCode = code
	e.CloseReason = reason
	c.emit(e)
}

// message reports a complete data message: inflated when compressed, its
// text checked, and read as chat when it is JSON.
func (w *wsDir) message(t time.Time) {
	c := w.c
	limit := c.d.cfg.MaxMessage
	payload := w.buf
	if w.whole != nil {
		payload = w.whole
	}
	length := clampInt(w.total)
	truncated := w.truncated
	problem := ""
	inflated := false
	if w.compressed {
		if w.inf == nil {
			w.inf = c.d.getInflater()
			// Midstream or after a gap, the sender's window is unknown.
			w.inf.lost = w.windowLost
		}
		out, total, err := w.inf.inflate(w.out, payload, limit, w.takeover, truncated)
		w.out = out
		switch {
		case truncated:
			// The compressed bytes were cut at the cap: they inflate to
			// a prefix of the message (and end in the middle of a block,
			// which is no error here), and the window is unknown.
			w.inf.loseWindow()
			payload, length, inflated = out, total, true
		case err != nil:
			problem = "inflate: " + err.Error()
		default:
			payload, length, inflated = out, total, true
			truncated = total > len(out)
		}
	}
	isText := false
	if w.op == OpText && (!w.compressed || inflated) {
		if utf8.Valid(payload) || (truncated && validUTF8Prefix(payload)) {
			isText = true
		} else {
			problem = "invalid UTF-8 in text message"
		}
	}
	var js []byte
	line := ""
	if isText && !truncated && !c.d.cfg.DeferChat {
		js, line = c.d.chat.message(&c.chat, payload, w.fromClient)
	}
	if problem != "" {
		c.emitError(w.fromClient, t, problem)
	}
	e := c.newEvent(KindMessage, w.fromClient, t)
	e.Opcode = w.op
	e.Masked = w.fromClient // every frame of it was checked to be
	e.Compressed = w.compressed
	e.Truncated = truncated
	e.Fragments = w.frags
	e.Length = length
	e.Payload = payload
	e.PayloadIsText = isText
	e.Chat = js
	e.ChatLine = line
	c.emit(e)
	w.endMessage()
}

// endMessage forgets the message, and its buffers when they grew large.
func (w *wsDir) endMessage() {
	w.inMsg = false
	// The buffer goes back to the Decoder's free list: with thousands of
	// connections open, each keeping the buffer of its last message
	// would make memory follow the connections' count times the message
	// size; only messages in progress hold one.
	w.c.d.putBuf(w.buf)
	w.buf, w.whole = nil, nil
	if cap(w.out) > keepBuffer {
		w.out = nil
	}
}

// inProgress reports whether a frame or message was begun and not finished.
func (w *wsDir) inProgress() bool {
	return w.inMsg || w.state == stPayload || w.hlen > 0
}

// gap drops what was begun and waits for a frame to resume at. With
// context takeover, the window is lost with the bytes.
func (w *wsDir) gap(t time.Time) {
	if w.state == stDead {
		return
	}
	if w.state != stResync && w.inProgress() {
		w.c.emitError(w.fromClient, t, "message lost in gap")
	}
	w.reset()
	w.state = stResync
	w.windowLost = true
	if w.inf != nil {
		w.inf.loseWindow()
	}
}

// reset forgets the frame and message in progress.
func (w *wsDir) reset() {
	w.hlen = 0
	w.left = 0
	w.skip, w.orphans = false, false
	w.inMsg = false
	w.buf = w.buf[:0]
}

// end reports a message cut off by the end of the connection.
func (w *wsDir) end(t time.Time) {
	if (w.state == stHeader || w.state == stPayload) && w.inProgress() {
		w.c.emitError(w.fromClient, t, "message incomplete at end of stream")
	}
	w.reset()
	w.state = stDead
}

// violation reports a protocol violation and stops decoding the direction,
// as Wireshark stops at a malformed frame: its framing is not to be
// trusted any more. The other direction goes on.
func (w *wsDir) violation(t time.Time, msg string) {
	w.c.emitError(w.fromClient, t, msg)
	w.reset()
	w.state = stDead
	w.release()
}

// release gives back the buffers and the inflater.
func (w *wsDir) release() {
	w.buf, w.out = nil, nil
	if w.inf != nil {
		w.c.d.putInflater(w.inf)
		w.inf = nil
	}
}
