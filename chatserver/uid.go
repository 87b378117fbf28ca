package chatserver

import (
	"log/slog"
	"strconv"

	"github.com/chatsniff/chatsniff/chat"
)

// everyoneRoom is the uid protocol's one room: every connection, logged in
// or not, as workerman's sendToAll reaches them.
const everyoneRoom = "*"

// uidProtocol is the 2014 protocol of the Workerman manual's walkthrough:
// numbered users, no rooms.
type uidProtocol struct{ s *Server }

func (p uidProtocol) open(c *client) {
	h := p.s.hub
	h.mu.Lock()
	c.joined = h.joinLocked(everyoneRoom, c)
	h.mu.Unlock()
}

func (p uidProtocol) message(c *client, m *chat.Message) {
	switch m.Type {
	case chat.TypeLogin:
		p.login(c, m)
	case chat.TypeSay:
		p.say(c, m)
	default:
		c.debug("ignored message", slog.String("type", m.Type))
	}
}

// login answers {"type":"login","name":...}: the user list to the joiner,
// then the login notice to everyone, the joiner included, in the order the
// manual's capture shows. A second login renames the user.
func (p uidProtocol) login(c *client, m *chat.Message) {
	h := p.s.hub
	name := chat.HTMLSpecialChars(m.Name)
	h.mu.Lock()
	ok := p.joinLocked(c, name)
	h.mu.Unlock()
	// Logged with the hub unlocked: a slow log writer must not hold up
	// every login.
	if ok {
		c.log().Info("login", slog.Int64("uid", c.uid), slog.String("name", name))
	}
}

// joinLocked does login's work with h.mu held.
func (p uidProtocol) joinLocked(c *client, name string) bool {
	h := p.s.hub
	if !c.loggedIn {
		c.uid = p.s.nextUID.Add(1)
		c.loggedIn = true
		h.byUID[c.uid] = c
	}
	c.name = name
	r := h.roomLocked(everyoneRoom)
	users := make([]chat.User, 0, len(r.list()))
	for _, o := range r.list() {
		if o.loggedIn {
			users = append(users, chat.User{UID: o.uid, Name: o.name})
		}
	}
	list, err := phpJSON(chat.UIDUserList{Type: chat.TypeUserList, UserList: users})
	if err != nil {
		c.log().Error("user list", slog.Any("err", err))
		return false
	}
	notice, err := phpJSON(chat.UIDLoginNotice{Type: chat.TypeLogin, UID: c.uid, Name: name, Time: p.s.now()})
	if err != nil {
		c.log().Error("login notice", slog.Any("err", err))
		return false
	}
	c.send(p.s.newFrame(list))
	r.broadcast(p.s.newFrame(notice))
	return true
}

// say relays {"type":"say","to_uid":...,"content":...} to everyone or to
// the one user named; say before login or without to_uid is ignored.
func (p uidProtocol) say(c *client, m *chat.Message) {
	if !c.loggedIn || m.ToUID.IsZero() {
		c.debug("ignored say", slog.Bool("logged_in", c.loggedIn))
		return
	}
	to := m.ToUID.String()
	b, err := phpJSON(chat.UIDSayNotice{Type: chat.TypeSay, FromUID: c.uid, ToUID: m.ToUID, Content: chat.RelayedContent(m.Content), Time: p.s.now()})
	if err != nil {
		c.log().Error("say", slog.Any("err", err))
		return
	}
	f := p.s.newFrame(b)
	h := p.s.hub
	if to == chat.ToAll {
		c.joined.broadcast(f)
		return
	}
	uid, err := strconv.ParseInt(to, 10, 64)
	if err != nil {
		return
	}
	h.mu.Lock()
	target := h.byUID[uid]
	h.mu.Unlock()
	if target != nil {
		target.send(f)
	}
}

// close tells everyone a logged-in user left.
func (p uidProtocol) close(c *client) {
	h := p.s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.leaveLocked(everyoneRoom, c)
	if !c.loggedIn {
		return
	}
	delete(h.byUID, c.uid)
	b, err := phpJSON(chat.UIDLogout{Type: chat.TypeLogout, UID: c.uid, Time: p.s.now()})
	if err != nil {
		c.log().Error("logout", slog.Any("err", err))
		return
	}
	if r != nil {
		r.broadcast(p.s.newFrame(b))
	}
}
