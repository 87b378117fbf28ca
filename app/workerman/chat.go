package workerman

import (
	"bytes"
	"encoding/json"
	"net/netip"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/internal/memo"
)

// The chat layer reads text messages that are JSON objects as workerman-chat
// messages of either protocol (package chat) and writes each as one human
// line. Names come from what the server sends (user_list, login notices,
// client_list, say notices), learned per server address and shared by all
// its connections, so that a uid or client_id reads as the name behind it.
//
// Content is shown as it was sent: the room protocol's server escapes it
// for HTML (&lt;, <br />) and the line keeps that, rather than guess
// whether a client sent "&lt;" itself; the JSON string escapes (\/, \uXXXX)
// are decoded, as any JSON reader does.

// Bounds on what the chat layer remembers: crafted traffic could announce
// names without end. When a book is full it is emptied and starts again.
const (
	maxNamesPerServer = 4096
	maxServers        = 1024
)

// nameBook maps a server's user IDs (uid digits or client_id) to names.
type nameBook struct {
	names map[string]string
}

func (nb *nameBook) learn(id, name string) {
	if id == "" || name == "" {
		return
	}
	if _, ok := nb.names[id]; !ok && len(nb.names) >= maxNamesPerServer {
		clear(nb.names)
	}
	nb.names[id] = name
}

// chatConn is what the chat layer knows of one connection's user.
type chatConn struct {
	server netip.AddrPort
	book   *nameBook // the server's, found on first use
	name   string    // the name this connection logged in with
	id     string    // its uid or client_id, once the server told it
	room   string    // the room it logged in to (the room protocol's room_id)
}

// The chat layer works in two steps. Parsing (chatParser.parse) compacts
// the JSON and decodes the chat fields; it needs no state but scratch
// buffers, so several parsers may work on different messages at once.
// Naming (chatNames.line) learns names and writes the human line; it keeps
// what servers announced, so it sees the messages one by one, in capture
// order, and lines come out the same however the parsing was spread.

// chatNames is the chat layer's state: the names learned per server.
type chatNames struct {
	// names holds the chat names learned per server (ip:port).
	names map[netip.AddrPort]*nameBook
	buf   []byte // scratch for the line
	last  string // the last line made
}

// chatParser is the chat layer's stateless step, with its scratch.
type chatParser struct {
	// noLines skips decoding the chat fields, which only the human lines
	// need: only the compacted JSON is wanted (NDJSON output).
	noLines bool
	// maxContent bounds the content decoded into a line (0: no bound).
	maxContent int
	compact    bytes.Buffer
	fast       []byte   // fastCompact's output
	fields     []member // the members of its top-level object
	fs         fastState
	// recent holds the last few messages parsed, for the copies of a
	// broadcast that follow (package memo).
	recent memo.Recent[parsedMemo]
}

// parsedMemo is what parse made of a payload.
type parsedMemo struct {
	pc Parsed
	js []byte // the compacted JSON, when it is neither nil nor the payload
	// jsKind says what parse returned: nil, the payload itself, or js.
	jsKind uint8
}

const (
	jsNone uint8 = iota
	jsPayload
	jsCopy
)

// Bounds on what a Parsed keeps between messages.
const (
	maxKeptContent = 4 << 10
	maxKeptList    = 256
)

func newChatParser(opts Options) chatParser {
	return chatParser{noLines: opts.NoLines, maxContent: max(opts.MaxContent, 0)}
}

// Parsed is a text message read as chat, waiting for its line: what a
// Parser hands to Reader.Line. Its zero value is "not chat".
type Parsed struct {
	known bool // msg holds a chat message (it may still have no line)
	msg   chat.Message
	list  []listedUser // a room login's client_list, in the order written
	// content is msg's content, decoded here rather than into
	// msg.Content: a buffer kept from message to message instead of a
	// string the size of each. With Options.MaxContent it may hold only
	// the start; contentLen is the whole content's length.
	content    []byte
	contentLen int
	// heartbeat: the message is a ping or pong of the room protocol.
	heartbeat bool
}

// parse reads a text payload as chat into pc. It returns the payload's JSON
// object compacted: nil when the payload is not one, p itself when there
// was nothing to compact, else valid until the next call.
//
// A payload parsed a moment before (a broadcast's copy for the next
// member) gets the same result again without being read.
func (r *chatParser) parse(p []byte, pc *Parsed) []byte {
	if m := r.recent.Get(p); m != nil {
		pc.set(&m.pc)
		switch m.jsKind {
		case jsPayload:
			return p
		case jsCopy:
			return m.js
		}
		return nil
	}
	js := r.parseOnce(p, pc)
	if m := r.recent.Put(p); m != nil {
		m.pc.set(pc)
		switch {
		case js == nil:
			m.jsKind = jsNone
		case len(js) == len(p) && len(js) > 0 && &js[0] == &p[0]:
			m.jsKind = jsPayload
		default:
			m.jsKind = jsCopy
			m.js = append(m.js[:0], js...)
		}
	}
	return js
}

// set makes pc a copy of src that shares none of its buffers.
func (pc *Parsed) set(src *Parsed) {
	// Not through reset: msg is a few hundred bytes of strings, written
	// once rather than cleared and then written.
	if cap(pc.content) > maxKeptContent || cap(pc.list) > maxKeptList {
		pc.content, pc.list = nil, nil
	}
	pc.known, pc.msg, pc.contentLen, pc.heartbeat = src.known, src.msg, src.contentLen, src.heartbeat
	pc.list = append(pc.list[:0], src.list...)
	pc.content = append(pc.content[:0], src.content...)
}

// reset makes pc "not chat", keeping its buffers unless they are big.
func (pc *Parsed) reset() {
	if cap(pc.content) > maxKeptContent || cap(pc.list) > maxKeptList {
		// A Parsed is reused for message after message (sniff keeps
		// thousands): it does not keep what one long message grew.
		pc.content, pc.list = nil, nil
	}
	pc.known, pc.msg, pc.list, pc.content, pc.contentLen = false, chat.Message{}, pc.list[:0], pc.content[:0], 0
	pc.heartbeat = false
}

// parseOnce is parse without the memory of recent payloads.
func (r *chatParser) parseOnce(p []byte, pc *Parsed) (js []byte) {
	pc.reset()
	i := 0
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
		i++
	}
	if i == len(p) || p[i] != '{' {
		return nil
	}
	var fields *[]member
	if !r.noLines {
		fields = &r.fields
	}
	// The fast path first (chatfast.go); encoding/json decides whatever it
	// is unsure of, so the result is the same either way.
	js, same, ok := fastCompactFields(r.fast[:0], p, fields)
	if ok && !same {
		r.fast = js // a compacted copy: keep the buffer for the next one
	}
	if !ok {
		r.fields = r.fields[:0]
		r.compact.Reset()
		if json.Compact(&r.compact, p) != nil {
			return nil
		}
		js = r.compact.Bytes()
	}
	if r.noLines {
		// The fields are not decoded: a heartbeat is known by its bytes,
		// which the room protocol's server and page write just so.
		pc.heartbeat = string(js) == `{"type":"ping"}` || string(js) == `{"type":"pong"}`
		return js
	}
	defer func() { pc.heartbeat = pc.known && (pc.msg.Type == chat.TypePing || pc.msg.Type == chat.TypePong) }()
	if ok && fastMessage(js, r.fields, &pc.msg, &r.fs) {
		pc.known = true
		pc.list = append(pc.list, r.fs.list...)
		if r.fs.content != nil {
			pc.content, pc.contentLen = appendUnquotedCut(pc.content, r.fs.content, r.maxContent)
		}
		return js
	}
	pc.msg = chat.Message{}
	if json.Unmarshal(js, &pc.msg) != nil {
		// A chat type with a field of the wrong kind: shown as JSON only.
		return js
	}
	pc.known = true
	pc.content = append(pc.content, pc.msg.Content...)
	pc.contentLen = len(pc.content)
	if pc.msg.Type == chat.TypeLogin && pc.msg.ClientID != "" {
		pc.list = append(pc.list, orderedClientList(js)...)
	}
	return js
}

// chatReader is both steps at once, for a Decoder that reads chat itself
// and for Reader.Event.
type chatReader struct {
	chatParser
	chatNames
	pc Parsed
}

// message reads a text payload as chat. It returns the payload's JSON
// object compacted (nil when the payload is not one; valid until the next
// message), and its human line ("" when it is no chat message known, or
// lines are not wanted).
func (r *chatReader) message(cc *chatConn, p []byte, fromClient bool) (js []byte, line string) {
	js = r.parse(p, &r.pc)
	var t decode.Talk
	return js, r.lineOf(cc, &r.pc, fromClient, &t)
}

// lineOf is line for a parsed message, "" when it is none.
func (r *chatNames) lineOf(c *chatConn, pc *Parsed, fromClient bool, t *decode.Talk) string {
	if !pc.known {
		return ""
	}
	return r.line(c, pc, fromClient, t)
}

// line builds the human line of pc's message, learning names on the way,
// and fills in t: who said it, to whom, in which room (the filters' and
// the statistics' facts, which the line spells out for people). A name
// not known is left empty in t, where the line says "?".
func (r *chatNames) line(c *chatConn, pc *Parsed, fromClient bool, t *decode.Talk) string {
	m, list := &pc.msg, pc.list
	b := r.buf[:0]
	defer func() { r.buf = b[:0] }()
	if m.Type == "" {
		return "" // JSON, not chat
	}
	book := r.book(c)
	t.Type = m.Type
	if fromClient && m.Type == chat.TypeLogin && !m.RoomID.IsZero() {
		c.room = m.RoomID.String()
	}
	t.Room = c.room
	defer func() {
		if t.From == "?" {
			t.From = ""
		}
		if t.To == "?" {
			t.To = ""
		}
	}()
	switch m.Type {
	case chat.TypePing, chat.TypePong:
		return m.Type

	case chat.TypeLogin:
		switch {
		case fromClient && m.ClientName != "":
			c.name = m.ClientName
			t.From = m.ClientName
			b = append(b, "login as "...)
			b = append(b, m.ClientName...)
			if !m.RoomID.IsZero() {
				b = append(b, ", room "...)
				b = append(b, m.RoomID.String()...)
			}
		case fromClient && m.Name != "":
			c.name = m.Name
			t.From = m.Name
			b = append(b, "login as "...)
			b = append(b, m.Name...)
		case fromClient:
			return ""
		case !m.UID.IsZero():
			uid := m.UID.String()
			book.learn(uid, m.Name)
			if c.id == "" && m.Name != "" && m.Name == c.name {
				c.id = uid
			}
			t.From = r.uidName(c, uid)
			b = append(b, t.From...)
			b = append(b, " joined (uid "...)
			b = append(b, uid...)
			b = append(b, ')')
		case m.ClientID != "":
			book.learn(m.ClientID, m.ClientName)
			for _, u := range list {
				book.learn(u.id, u.name)
			}
			switch {
			case len(list) > 0:
				// Only the joiner's own copy carries the list.
				c.id = m.ClientID
				if c.name == "" {
					c.name = m.ClientName
				}
			case c.id == "" && m.ClientName != "" && m.ClientName == c.name:
				c.id = m.ClientID
			}
			t.From = r.clientName(c, m.ClientID)
			b = append(b, t.From...)
			b = append(b, " joined (client "...)
			b = append(b, m.ClientID...)
			b = append(b, ')')
			for i, u := range list {
				if i == 0 {
					b = append(b, "; users: "...)
				} else {
					b = append(b, ", "...)
				}
				b = appendUser(b, u.name, u.id)
			}
		default:
			return ""
		}

	case chat.TypeSay:
		var from, to string
		switch {
		case fromClient && !m.ToUID.IsZero():
			from, to = r.selfName(c), r.uidName(c, m.ToUID.String())
		case fromClient && m.ToClientID != "":
			from, to = r.selfName(c), m.ToClientName
			if to == "" || m.ToClientID == chat.ToAll {
				to = r.clientName(c, m.ToClientID)
			}
		case fromClient:
			return ""
		case !m.FromUID.IsZero():
			from, to = r.uidName(c, m.FromUID.String()), r.uidName(c, m.ToUID.String())
		case m.FromClientID != "" || m.FromClientName != "":
			book.learn(m.FromClientID, m.FromClientName)
			from = m.FromClientName
			if from == "" {
				from = r.clientName(c, m.FromClientID)
			}
			to = r.clientName(c, m.ToClientID)
		default:
			return ""
		}
		t.From, t.To = from, to
		b = append(b, from...)
		b = append(b, " → "...)
		b = append(b, to...)
		b = append(b, ": "...)
		b = append(b, pc.content...)

	case chat.TypeUserList:
		if fromClient || m.UserList == nil {
			return ""
		}
		b = append(b, "users:"...)
		for i, u := range m.UserList {
			uid := chat.NumberID(u.UID).String()
			book.learn(uid, u.Name)
			if c.id == "" && u.Name != "" && u.Name == c.name {
				c.id = uid
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, ' ')
			b = appendUser(b, u.Name, uid)
		}

	case chat.TypeLogout:
		switch {
		case fromClient:
			return ""
		case !m.UID.IsZero():
			t.From = r.uidName(c, m.UID.String())
		case m.FromClientID != "" || m.FromClientName != "":
			book.learn(m.FromClientID, m.FromClientName)
			t.From = m.FromClientName
			if t.From == "" {
				t.From = r.clientName(c, m.FromClientID)
			}
		default:
			return ""
		}
		b = append(b, t.From...)
		b = append(b, " left"...)

	default:
		return ""
	}
	// The copies of a broadcast mostly read the same line: they share
	// one string rather than each getting its own.
	if string(b) != r.last {
		r.last = string(b)
	}
	return r.last
}

// appendUser writes "name (id)".
func appendUser(b []byte, name, id string) []byte {
	b = append(b, name...)
	b = append(b, " ("...)
	b = append(b, id...)
	return append(b, ')')
}

// book returns the name book of the connection's server.
func (r *chatNames) book(c *chatConn) *nameBook {
	if c.book != nil {
		return c.book
	}
	if r.names == nil {
		r.names = make(map[netip.AddrPort]*nameBook)
	}
	nb := r.names[c.server]
	if nb == nil {
		if len(r.names) >= maxServers {
			clear(r.names)
		}
		nb = &nameBook{names: make(map[string]string)}
		r.names[c.server] = nb
	}
	c.book = nb
	return nb
}

// nameOf returns the name known for id, or "".
func (r *chatNames) nameOf(c *chatConn, id string) string {
	if n := r.book(c).names[id]; n != "" {
		return n
	}
	if id != "" && id == c.id {
		return c.name
	}
	return ""
}

// uidName names a uid-protocol user: its name, or "uid N".
func (r *chatNames) uidName(c *chatConn, uid string) string {
	switch {
	case uid == chat.ToAll:
		return chat.ToAll
	case uid == "":
		return "?"
	}
	if n := r.nameOf(c, uid); n != "" {
		return n
	}
	return "uid " + uid
}

// clientName names a room-protocol user: its name, or "client ID".
func (r *chatNames) clientName(c *chatConn, id string) string {
	switch {
	case id == chat.ToAll:
		return chat.ToAll
	case id == "":
		return "?"
	}
	if n := r.nameOf(c, id); n != "" {
		return n
	}
	return "client " + id
}

// selfName is the sender of a client's say: the name it logged in with,
// "?" when its login was not seen.
func (r *chatNames) selfName(c *chatConn) string {
	if c.name != "" {
		return c.name
	}
	if n := r.nameOf(c, c.id); n != "" {
		return n
	}
	return "?"
}

type listedUser struct{ id, name string }

// orderedClientList returns the client_list of a room login in the order
// the server wrote it (a map would lose it), or nil.
func orderedClientList(js []byte) []listedUser {
	var raw struct {
		ClientList json.RawMessage `json:"client_list"`
	}
	if json.Unmarshal(js, &raw) != nil || len(raw.ClientList) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw.ClientList))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var list []listedUser
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil
		}
		v, err := dec.Token()
		if err != nil {
			return nil
		}
		id, _ := k.(string)
		name, ok := v.(string)
		if !ok {
			return nil // chat.Message would not have decoded it either
		}
		list = append(list, listedUser{id, name})
	}
	return list
}
