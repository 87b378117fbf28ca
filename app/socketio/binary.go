package socketio

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// pending is a BINARY_EVENT or BINARY_ACK waiting for its attachments: a
// copy of the packet (its Args in buf) and the attachments so far.
type pending struct {
	pkt   Packet
	buf   []byte
	parts [][]byte
}

// dirIndex numbers a direction for session.pending.
func dirIndex(fromClient bool) int {
	if fromClient {
		return 1
	}
	return 0
}

// release drops what a session holds for joining.
func (r *Reader) release(s *session) {
	r.drop(s, 0)
	r.drop(s, 1)
}

func (r *Reader) drop(s *session, dir int) {
	pd := s.pending[dir]
	if pd == nil {
		return
	}
	for _, b := range pd.parts {
		s.held -= len(b)
		r.held -= len(b)
	}
	s.pending[dir] = nil
}

// announce reads a BINARY_EVENT or BINARY_ACK: it is held, copied, until
// its attachments arrive as the next binary packets of its direction.
func (r *Reader) announce(s *session, m *Message, p *Packet, fromClient bool) {
	dir := dirIndex(fromClient)
	if old := s.pending[dir]; old != nil {
		m.Err = fmt.Sprintf("socket.io: binary packet %s dropped with %d of %d attachments", describe(&old.pkt), len(old.parts), old.pkt.Attachments)
		r.drop(s, dir)
	}
	if p.Type == BinaryEvent {
		s.rememberEmit(p, fromClient)
	} else {
		p.AckOf = s.ackOf(p, fromClient)
	}
	switch {
	case p.Attachments > MaxAttachments:
		m.Err = fmt.Sprintf("socket.io: %d attachments announced, more than %d: not joined", p.Attachments, MaxAttachments)
	case p.Attachments == 0:
		p.Complete = true
		m.Line = r.lineOf(s, p, fromClient, nil)
		return
	default:
		s.pending[dir] = hold(p)
	}
	m.Line = r.lineOf(s, p, fromClient, func(b []byte, num int) ([]byte, bool) {
		b = append(b, "<attachment "...)
		b = strconv.AppendInt(b, int64(num), 10)
		return append(b, '>'), true
	})
}

// describe names a binary packet in an error.
func describe(p *Packet) string {
	if p.Type == BinaryAck {
		return "ack " + strconv.FormatInt(p.ID, 10)
	}
	return strconv.Quote(p.Event)
}

// hold copies p with everything it points to.
func hold(p *Packet) *pending {
	pd := &pending{pkt: *p}
	n := 0
	for _, a := range p.Args {
		n += len(a)
	}
	pd.buf = make([]byte, 0, n)
	pd.pkt.Args = make([]json.RawMessage, len(p.Args))
	for i, a := range p.Args {
		start := len(pd.buf)
		pd.buf = append(pd.buf, a...)
		pd.pkt.Args[i] = pd.buf[start:len(pd.buf):len(pd.buf)]
	}
	pd.pkt.Data = nil
	pd.pkt.Event = cut(p.Event, maxName)
	return pd
}

// binary reads a binary message packet: the next attachment of the
// direction's pending binary packet, or binary data of its own.
func (r *Reader) binary(s *session, m *Message, fromClient bool) {
	dir := dirIndex(fromClient)
	pd := s.pending[dir]
	if pd == nil {
		b := strconv.AppendInt(append(r.line[:0], "binary message ("...), int64(len(m.Data)), 10)
		m.Line = r.finish(append(b, " bytes)"...))
		return
	}
	k, of := len(pd.parts), pd.pkt.Attachments
	m.Attachment = &Attachment{Num: k, Of: of, Event: pd.pkt.Event}
	b := strconv.AppendInt(append(r.line[:0], "attachment "...), int64(k+1), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(of), 10)
	b = append(b, " of "...)
	if pd.pkt.Type == BinaryAck {
		b = strconv.AppendInt(append(b, "ack "...), pd.pkt.ID, 10)
	} else {
		b = strconv.AppendQuote(b, pd.pkt.Event)
	}
	b = strconv.AppendInt(append(b, " ("...), int64(len(m.Data)), 10)
	b = append(b, " bytes)"...)
	size := len(m.Data)
	if s.held+size > MaxHeldBytes || r.held+size > maxHeldTotal {
		m.Err = fmt.Sprintf("socket.io: attachments of binary packet %s over %d MiB: dropped", describe(&pd.pkt), MaxHeldBytes>>20)
		r.drop(s, dir)
		m.Line = r.finish(b)
		return
	}
	pd.parts = append(pd.parts, append([]byte(nil), m.Data...))
	s.held += size
	r.held += size
	if k+1 < of {
		m.Line = r.finish(b)
		return
	}
	// The last attachment: the packet again, whole.
	p := r.newPacket()
	args := p.Args[:0]
	*p = pd.pkt
	p.Complete = true
	for _, a := range pd.pkt.Args {
		start := len(r.arena)
		r.arena = walkJSON(r.arena, a, 0, math.MaxInt, func(dst []byte, num int) ([]byte, bool) {
			if num >= len(pd.parts) {
				return dst, false
			}
			part := pd.parts[num]
			dst = append(dst, `{"_placeholder":true,"num":`...)
			dst = strconv.AppendInt(dst, int64(num), 10)
			dst = strconv.AppendInt(append(dst, `,"length":`...), int64(len(part)), 10)
			dst = append(dst, `,"base64":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, part)
			return append(dst, `"}`...), true
		})
		args = append(args, r.arena[start:len(r.arena):len(r.arena)])
	}
	p.Args = args
	m.IO = p
	pd.pkt.Complete = true
	m.Line = r.lineOf(s, &pd.pkt, fromClient, func(dst []byte, num int) ([]byte, bool) {
		if num >= len(pd.parts) {
			return dst, false
		}
		dst = strconv.AppendInt(append(dst, "<binary "...), int64(len(pd.parts[num])), 10)
		return append(dst, " bytes>"...), true
	})
	r.drop(s, dir)
}
