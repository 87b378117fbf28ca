package sniff

import (
	"net/netip"
	"slices"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/reassembly"
	"github.com/chatsniff/chatsniff/render"
)

// connKey names a connection whichever way a packet goes.
type connKey struct{ lo, hi netip.AddrPort }

func keyOf(a, b netip.AddrPort) connKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return connKey{a, b}
}

// explainPacket hands the packet just fed, and the events it completed, to
// the explainer.
func (r *runner) explainPacket(tp *capture.TCPPacket) {
	if r.conns == nil {
		r.conns = make(map[connKey]reassembly.ConnInfo)
	}
	k := keyOf(tp.Src, tp.Dst)
	if r.newest.ID != 0 {
		r.conns[k] = r.newest
	}
	info := r.conns[k]
	t := tp.TCP
	p := render.Packet{
		Time:       tp.CI.Timestamp,
		ConnID:     info.ID,
		FromClient: tp.Src == info.Client,
		Src:        tp.Src,
		Dst:        tp.Dst,
		SYN:        t.SYN, ACK: t.ACK, FIN: t.FIN, RST: t.RST, PSH: t.PSH,
		Seq:     t.Seq,
		Ack:     t.Ack,
		Window:  t.Window,
		Payload: t.Payload,
		Len:     len(t.Payload),
		Num:     r.summary.Packets,
		// A filter shows the packets that completed an event it let through.
		Hidden: r.filter != nil && len(r.events) == 0,
		Closed: slices.Contains(r.closed, info.ID),
	}
	r.closed = r.closed[:0]
	r.opts.Explain.Packet(&p, r.events)
	r.events = r.events[:0]
}

// flushExplain writes events that came with no packet (at the end of the
// capture, or from a timeout) as notes on their own.
func (r *runner) flushExplain() {
	if r.opts.Explain == nil {
		return
	}
	r.closed = r.closed[:0]
	if len(r.events) == 0 {
		return
	}
	r.opts.Explain.Late(r.events)
	r.events = r.events[:0]
}
