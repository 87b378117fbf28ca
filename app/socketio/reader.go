package socketio

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Input is one message of one TCP connection, in capture order.
type Input struct {
	Conn       uint64 // connection number
	FromClient bool
	Time       time.Time
	// Path is the request target of the connection's WebSocket upgrade, or
	// of the polling request this body belongs to; "" when not captured
	// (midstream).
	Path    string
	Polling bool   // an HTTP long-polling body (request body for POST, response body for GET), not a WebSocket message
	Method  string // polling: "GET" or "POST"
	Status  int    // polling response bodies: HTTP status (0 on a request body)
	// Binary is set for a WebSocket binary message, or a polling body of
	// Content-Type application/octet-stream.
	Binary  bool
	Payload []byte // valid only during Read
}

// Message is what the Reader made of one Engine.IO packet.
type Message struct {
	EIO       int    // Engine.IO protocol version, 3 or 4 (0 if unknown)
	Transport string // "websocket" or "polling"
	SID       string // Engine.IO session id when known
	Engine    EngineType
	Binary    bool // a binary Engine.IO packet
	// Data is the Engine.IO packet's data after its type byte (e.g.
	// "probe", the open JSON, the Socket.IO packet text; raw bytes of a
	// binary packet, base64 decoded); for an EngineError message, what did
	// not parse.
	Data []byte
	Open *Handshake // Engine.IO open: sid, pingInterval, pingTimeout (ms), upgrades, maxPayload
	IO   *Packet    // the Socket.IO packet of an Engine.IO message, nil otherwise
	// Attachment is set on a binary packet that is attachment Num (from 0)
	// of a pending BINARY_EVENT/BINARY_ACK.
	Attachment *Attachment
	Err        string // what did not parse ("" when all is well): the message is still reported
	Line       string // the message in one human line
	Heartbeat  bool   // a ping or pong that is not part of the probe dance
}

// Handshake is the data of an Engine.IO open packet; times in milliseconds.
type Handshake struct {
	SID                                   string
	Upgrades                              []string
	PingInterval, PingTimeout, MaxPayload int64
}

// Attachment places a binary packet among the attachments of a
// BINARY_EVENT or BINARY_ACK: Num counts from 0 (the placeholder's num),
// Of is the announced count, Event the event's name ("" for an ack).
type Attachment struct {
	Num, Of int
	Event   string
}

// Limits of the Reader's state.
const (
	// MaxAttachments is the most attachments a binary packet may announce
	// to be held for joining.
	MaxAttachments = 64
	// MaxHeldBytes is the most attachment bytes a session holds while its
	// binary packets wait for their attachments.
	MaxHeldBytes = 16 << 20
	// maxHeldTotal is the same over all sessions.
	maxHeldTotal = 64 << 20
	// maxSessions and maxConns bound the tables of sessions (by sid) and
	// connections; a full table starts again empty.
	maxSessions = 1 << 16
	maxConns    = 1 << 16
	// maxNames bounds the socket id → user name table.
	maxNames = 1 << 16
	// maxAcks is how many emits waiting for an ack a session remembers.
	maxAcks = 256
	// maxSockets is how many namespaces' socket ids a session remembers.
	maxSockets = 16
	// maxName bounds the user and event names kept in state.
	maxName = 256
	// MaxLine bounds Message.Line; a longer line is cut, ending in "…".
	MaxLine = 8 << 10
)

// A Reader reads the messages of a capture's connections as Engine.IO and
// Socket.IO. It is not safe for concurrent use.
type Reader struct {
	conns    map[uint64]*conn
	sessions map[string]*session
	names    map[string]string // Socket.IO socket id → user name, over all sessions
	held     int               // attachment bytes held over all sessions
	in       interner

	// Reused by each Read: what it returns is valid until the next.
	out      []Message
	eps      []EnginePacket
	arena    []byte
	packets  []*Packet
	npackets int
	line     []byte
	safe     []byte
	lastLine string
}

// conn is a TCP connection's state.
type conn struct {
	path string
	t    target
	sess *session
	// final is set on a WebSocket connection that is its session's last
	// transport (it carried the open or the upgrade): its end ends the
	// session.
	final bool
}

// session is an Engine.IO session's state, over all its connections.
type session struct {
	sid     string // "" until known: then the session is only its connection's
	eio     int
	user    string
	room    string // the room the user joined ("join" after a name)
	sockets []socketID
	pending [2]*pending // binary packets waiting for attachments, by direction (dirIndex)
	held    int
	acks    []ackEntry
	ackNext int
}

type socketID struct{ ns, id string }

type ackEntry struct {
	ns         string
	id         int64
	fromClient bool // who emitted
	event      string
}

// NewReader returns a Reader with no state.
func NewReader() *Reader {
	return &Reader{
		conns:    make(map[uint64]*conn),
		sessions: make(map[string]*session),
		names:    make(map[string]string),
	}
}

// Read reads one Input: one Message per Engine.IO packet (a polling body
// may hold several; none for the "ok" answering a POST or an empty body),
// and one EngineError Message for what did not parse. The slice and the
// Messages' fields are valid until the next Read: Clone what is kept.
func (r *Reader) Read(in *Input) []Message {
	r.out, r.arena, r.npackets = r.out[:0], r.arena[:0], 0
	p := in.Payload
	if in.Polling && (len(p) == 0 || !in.FromClient && string(p) == "ok") {
		return nil
	}
	c := r.conn(in)
	s := r.session(c, in)
	if in.Polling && in.Status >= 300 {
		r.httpError(s, in)
		return r.out
	}
	var err error
	if in.Polling {
		r.eps, err = decodePayload(r.eps[:0], p, in.Binary, s.eio, &r.arena)
	} else {
		var ep EnginePacket
		ep, err = decodeMessage(p, in.Binary, s.eio, &r.arena)
		r.eps = append(r.eps[:0], ep)
		if err != nil {
			r.eps = r.eps[:0]
		}
	}
	for i := range r.eps {
		s = r.packet(c, s, in, &r.eps[i])
	}
	if err != nil {
		m := r.add(s, in)
		m.Engine = EngineError
		m.Binary = in.Binary
		m.Data = r.own(p)
		what := "engine.io packet"
		if in.Polling {
			what = "polling payload"
		}
		m.Err = "engine.io: " + err.Error()
		b := append(r.line[:0], "undecodable "...)
		b = append(b, what...)
		b = append(b, " ("...)
		b = append(b, err.Error()...)
		b = append(b, ')')
		m.Line = r.finish(b)
	}
	return r.out
}

// Close forgets a connection that ended. A WebSocket connection that was
// its session's last transport ends the session too.
func (r *Reader) Close(conn uint64) {
	c := r.conns[conn]
	if c == nil {
		return
	}
	delete(r.conns, conn)
	s := c.sess
	switch {
	case s == nil:
	case s.sid == "":
		r.release(s)
	case c.final:
		r.release(s)
		if r.sessions[s.sid] == s {
			delete(r.sessions, s.sid)
		}
	}
}

func (r *Reader) conn(in *Input) *conn {
	c := r.conns[in.Conn]
	if c == nil {
		if len(r.conns) >= maxConns {
			for _, old := range r.conns {
				if old.sess != nil && old.sess.sid == "" {
					r.release(old.sess)
				}
			}
			r.conns = make(map[uint64]*conn)
		}
		c = &conn{}
		r.conns[in.Conn] = c
		c.t = parseTarget(in.Path)
		c.path = in.Path
	} else if in.Path != c.path {
		c.t = parseTarget(in.Path)
		c.path = in.Path
	}
	return c
}

// session finds the Input's session: by the sid of its target, else its
// connection's (a WebSocket connection keeps one; a polling request without
// sid is a new handshake).
func (r *Reader) session(c *conn, in *Input) *session {
	var s *session
	switch {
	case c.t.sid != "":
		s = r.bySID(c.t.sid)
	case c.sess != nil && !(in.Polling && c.t.hasEIO):
		s = c.sess
	default:
		s = new(session)
	}
	r.attach(c, s)
	if c.t.eio != 0 {
		s.eio = c.t.eio
	}
	return s
}

// attach makes s the connection's session.
func (r *Reader) attach(c *conn, s *session) {
	if c.sess == s {
		return
	}
	if old := c.sess; old != nil && old.sid == "" {
		r.release(old)
	}
	c.sess = s
}

func (r *Reader) bySID(sid string) *session {
	s := r.sessions[sid]
	if s == nil {
		if len(r.sessions) >= maxSessions {
			for _, old := range r.sessions {
				r.release(old)
			}
			r.sessions = make(map[string]*session)
		}
		s = &session{sid: sid}
		r.sessions[sid] = s
	}
	return s
}

// bind gives s the sid of its open packet: s itself when it had none (or
// that one), else the session of that sid.
func (r *Reader) bind(c *conn, s *session, sid string) *session {
	if sid == "" || len(sid) > maxSID || sid == s.sid {
		return s
	}
	if s.sid == "" && r.sessions[sid] == nil {
		if len(r.sessions) >= maxSessions {
			r.bySID(sid) // empties the table
			delete(r.sessions, sid)
		}
		s.sid = sid
		r.sessions[sid] = s
		return s
	}
	ns := r.bySID(sid)
	if ns.eio == 0 {
		ns.eio = s.eio
	}
	r.attach(c, ns)
	return ns
}

// add appends a Message for the Input's session and returns it; it is
// valid until the next add.
func (r *Reader) add(s *session, in *Input) *Message {
	r.out = append(r.out, Message{EIO: s.eio, Transport: "websocket", SID: s.sid})
	m := &r.out[len(r.out)-1]
	if in.Polling {
		m.Transport = "polling"
	}
	return m
}

// own copies b into the arena.
func (r *Reader) own(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	start := len(r.arena)
	r.arena = append(r.arena, b...)
	return r.arena[start:len(r.arena):len(r.arena)]
}

func (r *Reader) newPacket() *Packet {
	if r.npackets == len(r.packets) {
		r.packets = append(r.packets, new(Packet))
	}
	p := r.packets[r.npackets]
	r.npackets++
	*p = Packet{Namespace: "/", ID: -1, Args: p.Args[:0]}
	return p
}

// packet reads one Engine.IO packet; it returns the session, which an open
// packet may change.
func (r *Reader) packet(c *conn, s *session, in *Input, ep *EnginePacket) *session {
	m := r.add(s, in)
	m.Engine, m.Binary = ep.Type, ep.Binary
	m.Data = r.own(ep.Data)
	switch ep.Type {
	case EngineOpen:
		hs, err := parseHandshake(m.Data)
		m.Open = hs
		if err != nil {
			m.Err = "engine.io: open: " + err.Error()
		}
		s = r.bind(c, s, hs.SID)
		if !in.Polling {
			c.final = true
		}
		if s.eio == 0 && hs.MaxPayload > 0 {
			s.eio = 4 // maxPayload came with revision 4
		}
		m.SID, m.EIO = s.sid, s.eio
		m.Line = r.finish(r.openLine(hs, m.Data, err != nil))
	case EngineClose:
		m.Line = "close"
	case EnginePing, EnginePong:
		probe := string(m.Data) == "probe"
		m.Heartbeat = !probe
		if !probe && s.eio == 0 {
			// v3: the client pings; v4: the server does.
			if (ep.Type == EnginePing) == in.FromClient {
				s.eio = 3
			} else {
				s.eio = 4
			}
			m.EIO = s.eio
		}
		name := ep.Type.String()
		switch {
		case probe:
			m.Line = name + " probe"
		case len(m.Data) == 0:
			m.Line = name
		default:
			m.Line = r.finish(appendQuoted(append(append(r.line[:0], name...), ' '), m.Data))
		}
	case EngineUpgrade:
		m.Line = "upgrade"
		if !in.Polling {
			c.final = true
		}
	case EngineNoop:
		m.Line = "noop"
	case EngineMessage:
		if ep.Binary {
			r.binary(s, m, in.FromClient)
		} else {
			r.socketio(s, m, in.FromClient)
		}
	}
	return s
}

type handshakeJSON struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval float64  `json:"pingInterval"`
	PingTimeout  float64  `json:"pingTimeout"`
	MaxPayload   float64  `json:"maxPayload"`
}

func parseHandshake(data []byte) (*Handshake, error) {
	var h handshakeJSON
	err := json.Unmarshal(data, &h)
	if len(h.SID) > maxSID {
		h.SID = ""
	}
	return &Handshake{
		SID:          h.SID,
		Upgrades:     h.Upgrades,
		PingInterval: clampMS(h.PingInterval),
		PingTimeout:  clampMS(h.PingTimeout),
		MaxPayload:   clampMS(h.MaxPayload),
	}, err
}

func clampMS(f float64) int64 {
	if !(f >= 0) || f > 1<<53 {
		return 0
	}
	return int64(f)
}

// socketio reads an Engine.IO message's text as a Socket.IO packet.
func (r *Reader) socketio(s *session, m *Message, fromClient bool) {
	d := m.Data
	if len(d) == 0 || d[0] < '0' || d[0] > '6' {
		m.Line = r.finish(appendQuoted(append(r.line[:0], "message "...), d))
		return
	}
	p := r.newPacket()
	if err := parsePacket(d, p, &r.in); err != nil {
		m.Err = "socket.io: " + err.Error()
		m.Line = r.finish(appendQuoted(append(r.line[:0], "socket.io packet "...), d))
		return
	}
	m.IO = p
	if fromClient {
		p.User = s.user
	}
	p.Room = s.room
	switch p.Type {
	case Connect:
		if !fromClient {
			r.connected(s, p)
		}
	case Event:
		s.rememberEmit(p, fromClient)
	case Ack:
		p.AckOf = s.ackOf(p, fromClient)
	case BinaryEvent, BinaryAck:
		r.announce(s, m, p, fromClient)
		return
	}
	m.Line = r.lineOf(s, p, fromClient, nil)
}

// connected records the socket id of a server's CONNECT: the sid of its
// payload (v5), or in Socket.IO v2 the Engine.IO sid ("/ns#sid" outside
// the main namespace).
func (r *Reader) connected(s *session, p *Packet) {
	id := ""
	if v := field(p.Data, "sid"); v != nil {
		id, _ = unquote(v)
	} else if s.sid != "" && len(p.Data) == 0 {
		id = s.sid
		if p.Namespace != "/" {
			id = p.Namespace + "#" + s.sid
		}
	}
	if id == "" || len(id) > maxSID || len(p.Namespace) > maxName {
		return
	}
	for i := range s.sockets {
		if s.sockets[i].ns == p.Namespace {
			s.sockets[i].id = id
			r.nameSocket(id, s.user)
			return
		}
	}
	if len(s.sockets) < maxSockets {
		s.sockets = append(s.sockets, socketID{p.Namespace, id})
	}
	r.nameSocket(id, s.user)
}

// nameSocket remembers a socket id's user name.
func (r *Reader) nameSocket(id, name string) {
	if id == "" || name == "" || r.names[id] == name {
		return
	}
	if len(r.names) >= maxNames {
		r.names = make(map[string]string)
	}
	r.names[id] = name
}

// rememberEmit keeps an emit with an ack id for the ACK that answers it.
func (s *session) rememberEmit(p *Packet, fromClient bool) {
	if p.ID < 0 || len(p.Namespace) > maxName {
		return
	}
	e := ackEntry{ns: p.Namespace, id: p.ID, fromClient: fromClient, event: cut(p.Event, maxName)}
	if len(s.acks) < maxAcks {
		s.acks = append(s.acks, e)
		return
	}
	s.acks[s.ackNext] = e
	s.ackNext = (s.ackNext + 1) % maxAcks
}

// ackOf finds the emit an ACK answers (sent the other way) and forgets it.
func (s *session) ackOf(p *Packet, fromClient bool) string {
	for i := range s.acks {
		e := &s.acks[i]
		if e.id == p.ID && e.fromClient != fromClient && e.ns == p.Namespace {
			e.id = -1
			return e.event
		}
	}
	return ""
}

// httpError reports a polling answer with an error status.
func (r *Reader) httpError(s *session, in *Input) {
	m := r.add(s, in)
	m.Engine = EngineError
	m.Binary = in.Binary
	m.Data = r.own(in.Payload)
	m.Err = "engine.io: HTTP " + strconv.Itoa(in.Status)
	b := strconv.AppendInt(append(r.line[:0], "HTTP "...), int64(in.Status), 10)
	b = append(b, ' ')
	if d := trimSpace(m.Data); len(d) > 0 && !in.Binary && json.Valid(d) {
		b = appendCompact(b, d, MaxLine)
	} else {
		b = appendQuoted(b, m.Data)
	}
	m.Line = r.finish(b)
}

// cut shortens s to at most n bytes, at a character boundary, in a copy
// of its own so that state does not keep a long string alive.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return strings.Clone(s[:n])
}

// Clone returns a deep copy of m, valid after the next Read.
func (m *Message) Clone() *Message {
	c := *m
	c.Data = cloneBytes(m.Data)
	if m.Open != nil {
		h := *m.Open
		h.Upgrades = append([]string(nil), m.Open.Upgrades...)
		c.Open = &h
	}
	if m.IO != nil {
		p := *m.IO
		p.Data = cloneBytes(m.IO.Data)
		if m.IO.Args != nil {
			n := 0
			for _, a := range m.IO.Args {
				n += len(a)
			}
			buf := make([]byte, 0, n)
			p.Args = make([]json.RawMessage, len(m.IO.Args))
			for i, a := range m.IO.Args {
				start := len(buf)
				buf = append(buf, a...)
				p.Args[i] = buf[start:len(buf):len(buf)]
			}
		}
		c.IO = &p
	}
	if m.Attachment != nil {
		a := *m.Attachment
		c.Attachment = &a
	}
	return &c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
