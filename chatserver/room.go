package chatserver

import (
	"fmt"
	"log/slog"

	"github.com/chatsniff/chatsniff/chat"
)

// Private message prefixes, as workerman-chat's Events.php writes them.
const (
	privateToTarget = "<b>对你说: </b>"
	privateEchoHead = "<b>你对"
	privateEchoTail = "说: </b>"
)

// roomProtocol is today's workerman-chat: client_ids, rooms, pings.
type roomProtocol struct{ s *Server }

func (p roomProtocol) open(c *client) {}

func (p roomProtocol) message(c *client, m *chat.Message) {
	switch m.Type {
	case chat.TypeLogin:
		p.login(c, m)
	case chat.TypeSay:
		p.say(c, m)
	case chat.TypePong:
	default:
		c.debug("ignored message", slog.String("type", m.Type))
	}
}

// login answers {"type":"login","client_name":...,"room_id":...}: the room
// gets the login notice, then the joiner joins and gets the same notice
// with the client list, itself last, as Events.php does. As there,
// client_name is escaped twice in the notice and once in the list. A
// second login (the page sends one on every reconnect, and a user may pick
// another room) moves the client: it leaves its old room with a logout.
func (p roomProtocol) login(c *client, m *chat.Message) {
	if m.RoomID.IsZero() {
		c.debug("ignored login without room_id")
		return
	}
	roomKey := m.RoomID.String()
	name := chat.HTMLSpecialChars(m.ClientName)
	h := p.s.hub
	h.mu.Lock()
	ok := p.joinLocked(c, roomKey, name)
	h.mu.Unlock()
	// Logged with the hub unlocked: a slow log writer must not hold up
	// every login.
	if ok {
		c.log().Info("login", slog.String("client_id", c.id), slog.String("name", name), slog.String("room", roomKey))
	}
}

// joinLocked does login's work with h.mu held.
func (p roomProtocol) joinLocked(c *client, roomKey, name string) bool {
	h := p.s.hub
	if c.loggedIn {
		p.leaveLocked(c)
	}
	r := h.roomLocked(roomKey)
	notice := chat.RoomLoginNotice{Type: chat.TypeLogin, ClientID: c.id, ClientName: chat.HTMLSpecialChars(name), Time: p.s.now()}
	b, err := phpJSON(notice)
	if err != nil {
		c.log().Error("login notice", slog.Any("err", err))
		return false
	}
	// client_list is a PHP array: insertion order, which encoding/json's
	// sorted maps would lose, so it is spliced in by hand.
	members := r.list()
	names := make([][2]string, 0, len(members)+1)
	for _, o := range members {
		names = append(names, [2]string{o.id, o.name})
	}
	names = append(names, [2]string{c.id, name})
	own, err := withClientList(b, names)
	if err != nil {
		c.log().Error("client list", slog.Any("err", err))
		return false
	}
	r.broadcast(p.s.newFrame(b))
	c.loggedIn, c.name, c.room = true, name, roomKey
	c.joined = h.joinLocked(roomKey, c)
	h.byID[c.id] = c
	c.send(p.s.newFrame(own))
	return true
}

// withClientList appends "client_list":{id:name,...} to an encoded notice.
func withClientList(notice []byte, names [][2]string) ([]byte, error) {
	if len(notice) == 0 || notice[len(notice)-1] != '}' {
		return nil, fmt.Errorf("notice %q is not a JSON object", notice)
	}
	out := append([]byte(nil), notice[:len(notice)-1]...)
	out = append(out, `,"client_list":{`...)
	for i, kv := range names {
		if i > 0 {
			out = append(out, ',')
		}
		for j, s := range kv {
			b, err := phpJSON(s)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
			if j == 0 {
				out = append(out, ':')
			}
		}
	}
	return append(out, '}', '}'), nil
}

// say relays a message to the room, or privately to one client (with an
// echo to the sender). say before login or without to_client_id is ignored.
func (p roomProtocol) say(c *client, m *chat.Message) {
	if !c.loggedIn || m.ToClientID == "" {
		c.debug("ignored say", slog.Bool("logged_in", c.loggedIn))
		return
	}
	content := chat.RelayedContent(m.Content)
	n := chat.RoomSayNotice{Type: chat.TypeSay, FromClientID: c.id, FromClientName: c.name, ToClientID: m.ToClientID, Content: content, Time: p.s.now()}
	if m.ToClientID == chat.ToAll {
		b, err := phpJSON(n)
		if err != nil {
			c.log().Error("say", slog.Any("err", err))
			return
		}
		c.joined.broadcast(p.s.newFrame(b))
		return
	}
	h := p.s.hub
	h.mu.Lock()
	target := h.byID[m.ToClientID]
	h.mu.Unlock()
	if target != nil {
		n.Content = privateToTarget + content
		if b, err := phpJSON(n); err == nil {
			target.send(p.s.newFrame(b))
		}
	}
	n.Content = privateEchoHead + chat.HTMLSpecialChars(m.ToClientName) + privateEchoTail + content
	if b, err := phpJSON(n); err == nil {
		c.send(p.s.newFrame(b))
	}
}

// close tells the room a logged-in client left.
func (p roomProtocol) close(c *client) {
	h := p.s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.loggedIn {
		p.leaveLocked(c)
	}
}

// leaveLocked takes c out of its room and tells the room. Call with h.mu held.
func (p roomProtocol) leaveLocked(c *client) {
	h := p.s.hub
	r := h.leaveLocked(c.room, c)
	delete(h.byID, c.id)
	c.loggedIn = false
	b, err := phpJSON(chat.RoomLogout{Type: chat.TypeLogout, FromClientID: c.id, FromClientName: c.name, Time: p.s.now()})
	if err != nil {
		c.log().Error("logout", slog.Any("err", err))
		return
	}
	if r != nil {
		r.broadcast(p.s.newFrame(b))
	}
}
