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
	stResync                  // after a gap, midstream, or framing lost: waiting for a Data call that starts with a frame
	stDead                    // after the end of the stream: ignored
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
	op         Opcode // OpContinuation for one whose first frame was not seen
	masked     bool   // its first frame was masked
	compressed bool
	truncated  bool
	frags      int
	viol       Violations // the rules its frames broke
	total      uint64     // payload bytes received, kept or not
	buf        []byte     // payload kept: at most the message cap, unmasked, still compressed if so
	// whole is the payload instead of buf when an unmasked message came
	// in one frame within one piece of input: it is read there, during
	// the feed call, rather than copied (a server's messages, mostly).
	whole []byte

	// A control frame's payload: 125 bytes at most, so no allocation.
	ctl    [maxControlPayload]byte
	ctlLen int
	// ctlBig is the payload of a control frame over 125 bytes or of a
	// frame with a reserved opcode, kept up to the message cap.
	ctlBig     []byte
	ctlCut     bool       // ctlBig reached the cap
	ctlViol    Violations // the rules that frame broke
	closed     bool       // a close frame was sent: nothing may follow
	maskedLast bool       // the mask bit of the last frame read: what a resync looks for
	// seen is every violation of this direction so far; after a frame
	// with a reserved opcode, a next header that breaks rules the
	// direction has not broken before says the framing is lost.
	seen    Violations
	suspect bool // the last frame had a reserved opcode

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
		// Frames are looked for with the mask bit this side used last:
		// a client that sends unmasked frames goes on doing so.
		mask := maskNo
		if w.maskedLast {
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

// startFrame checks a frame's header and sets up for its payload. A
// violation is reported and decoding goes on, since the header still says
// where the frame ends; it returns false only when the framing is lost,
// and the direction then waits for a Data call to resume at.
func (w *wsDir) startFrame(h *header, t time.Time) bool {
	if h.length>>63 != 0 {
		w.lose(t, "frame length with the most significant bit set")
		return false
	}
	inMsg := w.inMsg
	if w.orphans && !h.op.IsControl() {
		// After a gap, the lost message's fragments are passed over
		// until its last: checked as if its start were there.
		w.skip = h.op == OpContinuation
		w.orphans = w.skip && !h.fin
		inMsg = inMsg || w.skip
	}
	v := h.violations(w.fromClient, w.deflate, inMsg)
	if w.closed {
		v |= ViolAfterClose
	}
	if v != 0 {
		if w.framingLost(h, v) {
			w.lose(t, "framing lost at a frame header: "+violationText(v, h))
			return false
		}
		w.c.emitError(w.fromClient, t, violationText(v, h))
		w.seen |= v
	}
	w.suspect = v&ViolReservedOpcode != 0
	w.maskedLast = h.masked
	w.h = *h
	w.left = h.length
	w.pos = 0
	w.state = stPayload
	switch {
	case w.skip:
		return true
	case h.op.IsControl() || h.op.IsReserved():
		// A frame of its own, even between a message's fragments.
		w.ctlLen, w.ctlBig, w.ctlCut, w.ctlViol = 0, w.ctlBig[:0], false, v
		return true
	case h.op != OpContinuation || !w.inMsg:
		// A message starts: a text or binary frame, or a continuation
		// whose message was never begun (shown as a message of its own).
		if w.inMsg && w.compressed {
			// The message it cuts short is dropped, and with it what its
			// bytes did to the sender's window.
			w.windowLost = true
			if w.inf != nil {
				w.inf.loseWindow()
			}
		}
		w.inMsg = true
		w.op = h.op
		w.masked = h.masked
		w.compressed = h.rsv&rsv1 != 0 && w.deflate && h.op != OpContinuation
		w.truncated = false
		w.frags = 0
		w.total = 0
		w.viol = 0
		w.buf = w.buf[:0]
	}
	w.viol |= v
	w.frags++
	return true
}

// framingLost reports whether a header that breaks the rules v is more
// likely bytes that are not a frame header at all: after a frame with a
// reserved opcode, one that breaks rules this direction has not broken
// before (a client that sends every frame unmasked is not lost by it); a
// length no sender would write for such a frame.
func (w *wsDir) framingLost(h *header, v Violations) bool {
	switch {
	case w.suspect && v&^w.seen != 0:
		return true
	case h.length > maxPlausibleFrame:
		return true
	case h.op.IsControl() && h.length > 0xffff:
		return true
	}
	return false
}

// payload takes the next payload bytes of the current frame.
func (w *wsDir) payload(p []byte) {
	if w.skip {
		return
	}
	limit := w.c.d.cfg.MaxMessage
	if w.h.op.IsControl() || w.h.op.IsReserved() {
		if w.h.length <= maxControlPayload {
			n := copy(w.ctl[w.ctlLen:], p)
			if w.h.masked {
				w.pos = Mask(w.h.key, w.pos, w.ctl[w.ctlLen:w.ctlLen+n])
			}
			w.ctlLen += n
			return
		}
		// Over 125 bytes, as the rules forbid or a reserved opcode may.
		if n := limit - len(w.ctlBig); len(p) > n {
			p, w.ctlCut = p[:max(n, 0)], true
		}
		start := len(w.ctlBig)
		w.ctlBig = append(growCapped(w.ctlBig, len(p), limit), p...)
		if w.h.masked {
			w.pos = Mask(w.h.key, w.pos, w.ctlBig[start:])
		}
		return
	}
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
	case w.h.op.IsControl() || w.h.op.IsReserved():
		w.control(t)
	case w.h.fin:
		w.message(t)
	}
}

// control reports a control frame, or a frame with a reserved opcode;
// they may come between the fragments of a data message, which goes on
// afterwards.
func (w *wsDir) control(t time.Time) {
	c := w.c
	p := w.ctl[:w.ctlLen]
	if w.h.length > maxControlPayload {
		p = w.ctlBig
	}
	v := w.ctlViol
	code, reason, problem := 0, "", ""
	if w.h.op == OpClose {
		w.closed = true
		switch {
		case len(p) == 1:
			problem = "close frame with a 1-byte payload"
			v |= ViolCloseLength
		case len(p) >= 2:
			code = int(binary.BigEndian.Uint16(p))
			switch {
			case !validCloseCode(code):
				problem = "invalid close code " + strconv.Itoa(code)
				v |= ViolCloseCode
			case !utf8.Valid(p[2:]) && !(w.ctlCut && validUTF8Prefix(p[2:])):
				problem = "invalid UTF-8 in close reason"
				v |= ViolCloseReason
			}
			if utf8.Valid(p[2:]) || w.ctlCut && validUTF8Prefix(p[2:]) {
				reason = string(p[2:])
			}
		}
	}
	if problem != "" {
		c.emitError(w.fromClient, t, problem)
	}
	e := w.messageEvent(t)
	e.Opcode = w.h.op
	e.Masked = w.h.masked
	e.Fragments = 1
	e.Length = clampInt(w.h.length)
	e.Truncated = w.ctlCut
	e.Payload = p
	e.PayloadIsText = len(p) > 0 && (utf8.Valid(p) || w.ctlCut && validUTF8Prefix(p))
	e.CloseCode = code
	e.CloseReason = reason
	e.Violations = v
	e.Heartbeat = w.h.op == OpPing || w.h.op == OpPong
	c.emit(e)
	if cap(w.ctlBig) > keepBuffer {
		w.ctlBig = nil
	}
}

// message reports a complete data message: inflated when compressed, its
// text checked.
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
	validText := utf8.Valid(payload) || (truncated && validUTF8Prefix(payload))
	switch {
	case w.compressed && !inflated:
	case w.op == OpText && validText:
		isText = true
	case w.op == OpText:
		problem = "invalid UTF-8 in text message"
		w.viol |= ViolInvalidUTF8
	case w.op == OpContinuation:
		// Of a message whose first frame was not seen, and so whose
		// opcode is unknown: text if it reads as text.
		isText = validText && len(payload) > 0
	}
	if problem != "" {
		c.emitError(w.fromClient, t, problem)
	}
	e := w.messageEvent(t)
	e.Opcode = w.op
	e.Masked = w.masked
	e.Compressed = w.compressed
	e.Truncated = truncated
	e.Fragments = w.frags
	e.Length = length
	e.Payload = payload
	e.PayloadIsText = isText
	e.Violations = w.viol
	c.emit(e)
	w.endMessage()
}

// messageEvent is c.newEvent(KindMessage, w.fromClient, t) for the
// decoder's commonest events, without its copy: newEvent's `*e =
// Event{...}` builds the Event (400 bytes) on the stack and copies it over
// the shared one, half of the cost of reporting a short message; here the
// shared Event is cleared in place and the same fields set. It must reset
// every field as newEvent does: the one Event serves every kind, and sinks
// change it (the app stage sets Chat, ChatLine, App and more).
// TestMessageEventLikeNewEvent checks that the two agree.
func (w *wsDir) messageEvent(t time.Time) *Event {
	c := w.c
	e := &c.d.ev
	*e = Event{}
	e.Kind, e.Time, e.ConnID = KindMessage, t, c.id
	e.Client, e.Server = c.client, c.server
	e.FromClient, e.Midstream = w.fromClient, c.midstream
	return e
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
	w.skip, w.orphans, w.suspect = false, false, false
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

// lose reports that the direction's framing is lost: what follows is not
// known to start at a frame, so decoding waits for a Data call that does,
// as after a gap. The other direction goes on.
func (w *wsDir) lose(t time.Time, msg string) {
	w.c.emitError(w.fromClient, t, msg)
	w.reset()
	w.state = stResync
	w.windowLost = true
	if w.inf != nil {
		w.inf.loseWindow()
	}
}

// release gives back the buffers and the inflater.
func (w *wsDir) release() {
	w.buf, w.out = nil, nil
	if w.inf != nil {
		w.c.d.putInflater(w.inf)
		w.inf = nil
	}
}
