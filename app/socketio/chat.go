package socketio

import (
	"encoding/json"
	"strconv"
)

// Chat semantics: the Socket.IO tutorial chat (socket.io's examples/chat)
// and its common variants. A session's user name is learned from the
// client's login-like emit; its chat emits then read `alice → all: hi`,
// and the server's events that name a user read likewise.

// isNameEvent: client emits whose argument is the user's name.
func isNameEvent(e string) bool {
	switch e {
	case "add user", "login", "join", "set nickname", "nickname", "register", "user", "username":
		return true
	}
	return false
}

// isChatEvent: emits whose argument is a chat message.
func isChatEvent(e string) bool {
	switch e {
	case "chat message", "new message", "message", "chat", "msg", "send", "say":
		return true
	}
	return false
}

// The object fields that carry a name, a message, a destination.
var (
	clientNameFields = []string{"username", "name", "nick", "nickname", "user"}
	serverUserFields = []string{"username", "user", "name", "from", "nick", "nickname"}
	nestedNameFields = []string{"username", "name", "nick", "nickname"}
	messageFields    = []string{"message", "msg", "text", "content"}
)

// chatLine writes the chat reading of an EVENT onto b, when it has one.
func (r *Reader) chatLine(b []byte, s *session, p *Packet, fromClient bool) ([]byte, bool) {
	var arg0 []byte
	if len(p.Args) > 0 {
		arg0 = p.Args[0]
	}
	if p.Namespace != "/" {
		b = append(append(append(b, '['), p.Namespace...), "] "...)
	}
	if fromClient {
		return r.clientChat(b, s, p, arg0)
	}
	return r.serverChat(b, s, p, arg0)
}

func (r *Reader) clientChat(b []byte, s *session, p *Packet, arg0 []byte) ([]byte, bool) {
	if p.Event == "join" && s.user != "" && isString(arg0) {
		// Named already: a room to join (socket.join(room)).
		if room, ok := unquote(arg0); ok && room != "" {
			s.room = cut(room, maxName)
			b = append(append(b, s.user...), " joins room "...)
			return append(b, s.room...), true
		}
	}
	if isNameEvent(p.Event) {
		name, ok := "", false
		if isString(arg0) {
			name, ok = unquote(arg0)
		} else if v := field(arg0, clientNameFields...); isString(v) {
			name, ok = unquote(v)
		}
		if ok && name != "" {
			r.learn(s, cut(name, maxName))
			p.User = s.user
			return append(append(b, "login as "...), s.user...), true
		}
	}
	if s.user == "" {
		return b, false
	}
	switch {
	case isChatEvent(p.Event) || p.Event == "room message":
		text, ok := textBytes(arg0)
		if !ok {
			text, ok = textBytes(field(arg0, messageFields...))
		}
		if !ok {
			return b, false
		}
		return r.appendSay(b, s, p, s.user, arg0, text), true
	case p.Event == "typing":
		return append(append(b, s.user...), " is typing"...), true
	case p.Event == "stop typing":
		return append(append(b, s.user...), " stopped typing"...), true
	}
	return b, false
}

func (r *Reader) serverChat(b []byte, s *session, p *Packet, arg0 []byte) ([]byte, bool) {
	switch p.Event {
	case "login":
		if n := field(arg0, "numUsers"); n != nil {
			return appendUsers(append(b, "logged in"...), n), true
		}
	case "user joined", "user left", "typing", "stop typing":
		user := ""
		if isString(arg0) {
			user, _ = unquote(arg0)
		} else {
			user = r.userOf(arg0)
		}
		if user == "" {
			return b, false
		}
		p.User = cut(user, maxName)
		b = append(b, user...)
		switch p.Event {
		case "user joined":
			b = append(b, " joined"...)
		case "user left":
			b = append(b, " left"...)
		case "typing":
			return append(b, " is typing"...), true
		default:
			return append(b, " stopped typing"...), true
		}
		if n := field(arg0, "numUsers"); n != nil {
			b = appendUsers(b, n)
		}
		return b, true
	}
	user := r.userOf(arg0)
	if user == "" {
		return b, false
	}
	text, ok := textBytes(field(arg0, messageFields...))
	if !ok {
		return b, false
	}
	p.User = cut(user, maxName)
	return r.appendSay(b, s, p, user, arg0, text), true
}

// appendSay writes `alice → all: hi`, or `→ room 1` / `→ bob` when the
// object says where it goes; a "room message" goes to the room the
// session joined. It sets p.To and p.Room to match.
func (r *Reader) appendSay(b []byte, s *session, p *Packet, from string, obj []byte, text []byte) []byte {
	b = append(append(b, from...), " → "...)
	to := len(b)
	if v := field(obj, "room"); v != nil {
		t, _ := textBytes(v)
		b = append(append(b, "room "...), t...)
		p.Room = cut(string(t), maxName)
	} else if v := field(obj, "to"); v != nil {
		t, _ := textBytes(v)
		if n := r.names[string(t)]; n != "" {
			b = append(b, n...)
		} else {
			b = append(b, t...)
		}
	} else if p.Event == "room message" {
		b = append(b, "room"...)
		if s.room != "" {
			b = append(append(b, ' '), s.room...)
		}
	} else {
		b = append(b, "all"...)
	}
	if string(b[to:]) == "all" {
		p.To = "all" // most says: no string made for it
	} else {
		p.To = cut(string(b[to:]), maxName)
	}
	return append(append(b, ": "...), text...)
}

// userOf is the user an object names: a name, or a socket id whose name
// is known.
func (r *Reader) userOf(obj []byte) string {
	v := field(obj, serverUserFields...)
	if len(v) > 0 && v[0] == '{' {
		v = field(v, nestedNameFields...)
	}
	if !isString(v) {
		return ""
	}
	u, _ := unquote(v)
	if n := r.names[u]; n != "" {
		return n
	}
	return u
}

// appendUsers writes " (3 users)".
func appendUsers(b []byte, n json.RawMessage) []byte {
	v := smallInt(n)
	if v < 0 {
		return b
	}
	b = strconv.AppendInt(append(b, " ("...), int64(v), 10)
	if v == 1 {
		return append(b, " user)"...)
	}
	return append(b, " users)"...)
}

// learn sets the session's user name and names its sockets.
func (r *Reader) learn(s *session, name string) {
	s.user = name
	for _, k := range s.sockets {
		r.nameSocket(k.id, name)
	}
}
