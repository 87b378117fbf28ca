package render

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/chatsniff/chatsniff/decode"
)

// Packet is one TCP packet as --explain shows it: what tcpdump prints of it,
// plus the connection it belongs to.
type Packet struct {
	Num        uint64 // 1-based position in the capture
	Time       time.Time
	ConnID     uint64 // 0 when the decoder ignored the connection
	FromClient bool
	Src, Dst   netip.AddrPort
	SYN, ACK   bool
	FIN, RST   bool
	PSH        bool
	Seq, Ack   uint32
	Window     uint16
	// Payload is the TCP payload (its first bytes are enough).
	Payload []byte
	Len     int // TCP payload length
	// Hidden packets are followed, as their connection's numbers and
	// notes need, but not written: a filter showed none of their events.
	Hidden bool
	// Closed says the packet ended its connection, whether or not the
	// close event is among those shown.
	Closed bool
}

// Explain writes the --explain walkthrough: every packet on one line, as
// tcpdump prints it, with a plain-language note of its role under it, in
// groups as the Workerman manual's annotated capture groups them (TCP
// handshake, WebSocket handshake, each client message with the server's
// answers, teardown).
type Explain struct {
	w     *bufio.Writer
	sc    *Scheme
	conns map[uint64]*explainConn
	group string
	buf   []byte
}

// NewExplain returns an Explain writer; call Flush at the end.
func NewExplain(w io.Writer, sc *Scheme) *Explain {
	if sc == nil {
		sc = NewScheme(false)
	}
	return &Explain{w: bufio.NewWriterSize(w, 64<<10), sc: sc, conns: make(map[uint64]*explainConn)}
}

// Flush writes out what is buffered.
func (x *Explain) Flush() error { return x.w.Flush() }

type sentRange struct {
	end  uint32 // relative sequence number after the range
	what string
}

type explainConn struct {
	isn       [2]uint32 // per direction: 0 client, 1 server
	haveISN   [2]bool
	synAcked  bool // the SYN-ACK was seen; the next empty ACK from the client completes the handshake
	handshake bool // the 3-way handshake is complete
	websocket bool
	sent      [2][]sentRange // recent data, to say what an ACK acknowledges
	closing   bool
}

func side(fromClient bool) int {
	if fromClient {
		return 0
	}
	return 1
}

// Packet writes one packet with its note; events are what the decoder found
// as this packet was reassembled.
func (x *Explain) Packet(p *Packet, events []decode.Event) {
	c := x.conns[p.ConnID]
	if c == nil {
		c = &explainConn{}
		x.conns[p.ConnID] = c
	}
	s := side(p.FromClient)
	if p.SYN && !c.haveISN[s] {
		c.isn[s], c.haveISN[s] = p.Seq, true
	}
	notes, group := x.notes(p, c, events)
	if p.Hidden {
		x.forget(p, events)
		return
	}
	if group != "" && group != x.group {
		x.group = group
		x.buf = append(x.buf[:0], '\n')
		x.buf = append(x.buf, x.sc.Chat.on...)
		x.buf = append(x.buf, "── "...)
		x.buf = appendEscaped(x.buf, group)
		x.buf = append(x.buf, " ──"...)
		x.buf = append(x.buf, x.sc.Chat.off...)
		x.buf = append(x.buf, '\n')
		x.w.Write(x.buf)
	}
	x.buf = x.appendLine(x.buf[:0], p, c)
	for _, n := range notes {
		x.buf = append(x.buf, "    "...)
		x.buf = append(x.buf, x.sc.Dim.on...)
		x.buf = append(x.buf, n...)
		x.buf = append(x.buf, x.sc.Dim.off...)
		x.buf = append(x.buf, '\n')
	}
	x.w.Write(x.buf)
	x.forget(p, events)
}

// forget drops a connection that the packet closed.
func (x *Explain) forget(p *Packet, events []decode.Event) {
	if p.Closed {
		delete(x.conns, p.ConnID)
		return
	}
	if p.FIN || p.RST {
		for _, e := range events {
			if e.Kind == decode.KindClose {
				delete(x.conns, p.ConnID)
			}
		}
	}
}

// rel turns an absolute sequence number of direction s into tcpdump's
// relative one (the SYN is 0, the first data byte 1).
func (c *explainConn) rel(s int, seq uint32) uint32 {
	if !c.haveISN[s] {
		return seq
	}
	return seq - c.isn[s]
}

// appendLine writes the packet as `tcpdump -n` does.
func (x *Explain) appendLine(b []byte, p *Packet, c *explainConn) []byte {
	sc := x.sc
	b = append(b, sc.Time.on...)
	b = appendClock(b, p.Time, nil)
	b = append(b, sc.Time.off...)
	b = append(b, ' ')
	if p.ConnID != 0 {
		cs := sc.conn(p.ConnID)
		b = append(b, cs.on...)
		b = append(b, '#')
		b = strconv.AppendUint(b, p.ConnID, 10)
		b = append(b, cs.off...)
		b = append(b, ' ')
	}
	b = appendTcpdumpAddr(b, p.Src)
	b = append(b, " > "...)
	b = appendTcpdumpAddr(b, p.Dst)
	b = append(b, ": Flags ["...)
	if p.SYN {
		b = append(b, 'S')
	}
	if p.FIN {
		b = append(b, 'F')
	}
	if p.RST {
		b = append(b, 'R')
	}
	if p.PSH {
		b = append(b, 'P')
	}
	if p.ACK {
		b = append(b, '.')
	}
	b = append(b, ']')
	s := side(p.FromClient)
	if p.SYN || p.Len > 0 || p.FIN || p.RST {
		b = append(b, ", seq "...)
		if p.SYN {
			b = strconv.AppendUint(b, uint64(p.Seq), 10)
		} else {
			start := c.rel(s, p.Seq)
			b = strconv.AppendUint(b, uint64(start), 10)
			if p.Len > 0 {
				b = append(b, ':')
				b = strconv.AppendUint(b, uint64(start+uint32(p.Len)), 10)
			}
		}
	}
	if p.ACK {
		b = append(b, ", ack "...)
		b = strconv.AppendUint(b, uint64(c.rel(1-s, p.Ack)), 10)
	}
	b = append(b, ", win "...)
	b = strconv.AppendUint(b, uint64(p.Window), 10)
	b = append(b, ", length "...)
	b = strconv.AppendInt(b, int64(p.Len), 10)
	return append(b, '\n')
}

func appendTcpdumpAddr(b []byte, ap netip.AddrPort) []byte {
	b = ap.Addr().AppendTo(b)
	b = append(b, '.')
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

func who(fromClient bool) string {
	if fromClient {
		return "client"
	}
	return "server"
}

// notes says what the packet does, and which group it starts or belongs to.
func (x *Explain) notes(p *Packet, c *explainConn, events []decode.Event) (notes []string, group string) {
	s := side(p.FromClient)
	sender, receiver := who(p.FromClient), who(!p.FromClient)
	label := "#" + strconv.FormatUint(p.ConnID, 10) + " " + p.Src.String() + " → " + p.Dst.String()
	if !p.FromClient {
		label = "#" + strconv.FormatUint(p.ConnID, 10) + " " + p.Dst.String() + " → " + p.Src.String()
	}
	switch {
	case p.SYN && !p.ACK:
		return []string{"TCP handshake 1/3: the client (port " + strconv.Itoa(int(p.Src.Port())) + ") asks the server (port " + strconv.Itoa(int(p.Dst.Port())) + ") to open a connection: SYN"}, "TCP handshake " + label
	case p.SYN && p.ACK:
		c.synAcked = true
		return []string{"TCP handshake 2/3: the server accepts: SYN+ACK"}, "TCP handshake " + label
	case p.FromClient && c.synAcked && !c.handshake && p.Len == 0 && !p.FIN && !p.RST:
		c.handshake = true
		return []string{"TCP handshake 3/3: the client acknowledges the SYN+ACK; the TCP connection is open"}, "TCP handshake " + label
	}
	c.handshake = c.handshake || p.Len > 0

	var what string // what this packet's data was, for later ACK notes
	if p.Len > 0 {
		switch {
		case p.FromClient && bytes.HasPrefix(p.Payload, []byte("GET ")) && !c.websocket:
			line, _, _ := bytes.Cut(p.Payload, []byte("\r\n"))
			what = "the upgrade request"
			notes = append(notes, "WebSocket handshake: the client asks to switch the connection to WebSocket: "+string(appendEscaped(nil, line)))
			group = "WebSocket handshake " + label
		case !p.FromClient && bytes.HasPrefix(p.Payload, []byte("HTTP/1.")) && !c.websocket:
			line, _, _ := bytes.Cut(p.Payload, []byte("\r\n"))
			what = "the upgrade response"
			notes = append(notes, "WebSocket handshake: the server answers: "+string(appendEscaped(nil, line)))
			group = "WebSocket handshake " + label
		}
	}
	for i := range events {
		e := &events[i]
		switch e.Kind {
		case decode.KindOpen:
			if e.TLS != nil && !e.TLS.Decrypted {
				n := "TLS connection, not decrypted"
				if e.TLS.Reason != "" {
					n += ": " + string(appendEscaped(nil, e.TLS.Reason))
				}
				notes = append(notes, n+string(appendTLSDetails(nil, e.TLS)))
				continue
			}
			c.websocket = true
			n := "WebSocket handshake done: from here on the connection carries WebSocket frames"
			if e.TLS != nil {
				n = "WebSocket handshake done, inside TLS " + e.TLS.VersionName() + string(appendTLSDetails(nil, e.TLS)) +
					" decrypted with the key log: from here on the decrypted bytes are WebSocket frames"
			}
			if e.Midstream {
				n = "WebSocket connection caught midstream: its upgrade was not captured, its bytes parse as frames"
			} else if e.AcceptOK {
				n += " (Sec-WebSocket-Accept matches the key)"
			} else {
				n += " (Sec-WebSocket-Accept does NOT match the key)"
			}
			if e.Extensions != "" {
				n += "; extensions: " + string(appendEscaped(nil, e.Extensions))
			}
			notes = append(notes, n)
		case decode.KindMessage:
			n, g := messageNote(e)
			notes = append(notes, n)
			if what == "" {
				what = "the " + e.Opcode.String() + " message"
			}
			if g != "" && e.FromClient {
				group = g
			}
			if e.Opcode == decode.OpClose {
				c.closing = true
				group = "Closing " + label
			}
		case decode.KindRejected:
			n := "WebSocket handshake refused: the server answers " + strconv.Itoa(e.Status)
			if e.StatusText != "" {
				n += " " + string(appendEscaped(nil, e.StatusText))
			}
			notes = append(notes, n+" instead of 101; the connection stays HTTP")
		case decode.KindGap:
			n := "bytes missing from the capture"
			if e.Bytes >= 0 {
				n = strconv.Itoa(e.Bytes) + " " + n
			}
			notes = append(notes, "gap: "+n+" (from the "+who(e.FromClient)+"); decoding resumes at the next frame")
		case decode.KindError:
			notes = append(notes, "error ("+who(e.FromClient)+"): "+string(appendEscaped(nil, e.Err)))
		case decode.KindClose:
			notes = append(notes, "the TCP connection is over")
		}
	}
	if p.Len > 0 && what == "" {
		if c.websocket {
			what = "WebSocket data"
			notes = append(notes, "WebSocket data from the "+sender+": part of a frame that a later packet completes")
		} else if kind, why := tlsRecordKind(p.Payload); kind != "" {
			what = "the TLS " + kind
			notes = append(notes, "TLS from the "+sender+": "+kind+why)
		} else {
			what = "data"
			notes = append(notes, "data from the "+sender+" (not WebSocket)")
		}
	}
	if p.Len > 0 {
		end := c.rel(s, p.Seq) + uint32(p.Len)
		r := append(c.sent[s], sentRange{end: end, what: what})
		if len(r) > 32 {
			r = r[len(r)-32:]
		}
		c.sent[s] = r
	}
	if p.ACK && p.Len == 0 && !p.SYN && !p.FIN && !p.RST {
		ack := c.rel(1-s, p.Ack)
		n := "ACK: the " + sender + " has received the " + receiver + "'s bytes up to " + strconv.FormatUint(uint64(ack-1), 10)
		for _, r := range c.sent[1-s] {
			if r.end == ack {
				n += " (" + r.what + ")"
			}
		}
		notes = append(notes, n)
	}
	if p.FIN {
		notes = append(notes, "FIN: the "+sender+" closes its side of the connection")
		group = "Closing " + label
	}
	if p.RST {
		notes = append(notes, "RST: the "+sender+" aborts the connection")
		group = "Closing " + label
	}
	return notes, group
}

// messageNote describes a message event, and names the group a client
// message starts.
func messageNote(e *decode.Event) (note, group string) {
	var b []byte
	if e.FromClient {
		if e.Masked {
			b = append(b, "masked client "...)
		} else {
			b = append(b, "client "...)
		}
	} else {
		b = append(b, "server "...)
	}
	b = append(b, e.Opcode.String()...)
	b = append(b, " frame"...)
	if e.Fragments > 1 {
		b = append(b, " (last of "...)
		b = strconv.AppendInt(b, int64(e.Fragments), 10)
		b = append(b, " fragments)"...)
	}
	if e.Compressed {
		b = append(b, ", inflated"...)
	}
	switch {
	case e.Masked:
		b = append(b, ", unmasked: "...)
	default:
		b = append(b, ": "...)
	}
	switch {
	case len(e.Chat) > 0:
		shown, _ := cutText(e.Chat, MaxShownText)
		b = appendEscaped(b, shown)
		if len(shown) < len(e.Chat) {
			b = append(b, " …"...)
		}
	case e.Opcode == decode.OpClose:
		b = strconv.AppendInt(b, int64(e.CloseCode), 10)
		if e.CloseReason != "" {
			b = append(b, ` "`...)
			b = appendEscaped(b, e.CloseReason)
			b = append(b, '"')
		}
	case e.PayloadIsText:
		shown, cut := cutText(e.Payload, MaxShownText)
		b = appendEscaped(b, shown)
		if cut {
			b = append(b, " …"...)
		}
	default:
		b = strconv.AppendInt(b, int64(e.Length), 10)
		b = append(b, " bytes"...)
	}
	if e.ChatLine != "" {
		line, _ := cutText(e.ChatLine, 200)
		b = append(b, " — "...)
		b = appendEscaped(b, line)
		if e.FromClient {
			group = string(appendEscaped(nil, line))
		}
	}
	if e.Violations != 0 {
		b = append(b, " (breaks RFC 6455: "...)
		b = appendViolations(b, e.Violations)
		b = append(b, ')')
	}
	return string(b), group
}

// Late writes events that no packet completed (gaps found when the capture
// ended or a timeout passed) as notes of their own.
func (x *Explain) Late(events []decode.Event) {
	for i := range events {
		e := &events[i]
		x.buf = append(x.buf[:0], x.sc.Time.on...)
		x.buf = appendClock(x.buf, e.Time, nil)
		x.buf = append(x.buf, x.sc.Time.off...)
		x.buf = append(x.buf, " #"...)
		x.buf = strconv.AppendUint(x.buf, e.ConnID, 10)
		x.buf = append(x.buf, "\n    "...)
		x.buf = append(x.buf, x.sc.Dim.on...)
		switch e.Kind {
		case decode.KindMessage:
			n, _ := messageNote(e)
			x.buf = append(x.buf, n...)
		case decode.KindGap:
			x.buf = append(x.buf, "gap: bytes from the "...)
			x.buf = append(x.buf, who(e.FromClient)...)
			x.buf = append(x.buf, " were never captured"...)
		case decode.KindError:
			x.buf = append(x.buf, "error: "...)
			x.buf = appendEscaped(x.buf, e.Err)
		case decode.KindClose:
			x.buf = append(x.buf, "the capture ends; the connection is over"...)
		default:
			x.buf = append(x.buf, string(e.Kind)...)
		}
		x.buf = append(x.buf, x.sc.Dim.off...)
		x.buf = append(x.buf, '\n')
		x.w.Write(x.buf)
	}
}

// tlsRecordKind names what a segment that starts with a TLS record holds,
// as far as its first record tells ("ClientHello", "ServerHello",
// "handshake", "change_cipher_spec", "alert", "application data"), with
// why it matters to a reader; "" when it does not start with a record
// header.
func tlsRecordKind(b []byte) (kind, why string) {
	if len(b) < 5 || b[1] != 3 || b[2] > 4 {
		return "", ""
	}
	switch b[0] {
	case 20:
		return "change_cipher_spec", ""
	case 21:
		return "alert", ""
	case 22:
		if len(b) > 5 {
			switch b[5] {
			case 1:
				return "ClientHello", " (its random names the connection's keys in the key log)"
			case 2:
				return "ServerHello", " (the version and cipher suite chosen)"
			}
		}
		return "handshake", ""
	case 23:
		return "application data", " (encrypted; decrypted with the key log when it has the keys)"
	}
	return "", ""
}
