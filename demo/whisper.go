package demo

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/coder/websocket"
)

// The bots only talk to everyone; the whisperer is one more user, on a
// connection without permessage-deflate, that only sends private messages,
// so that the demo shows both kinds of say and both kinds of connection.
const (
	whispererName = "dave"
	// whisperReadLimit bounds one server message the whisperer reads; the
	// longest a bot says is about 20 KB, and the room's user list is small.
	whisperReadLimit    = 1 << 20
	whisperWriteTimeout = 2 * time.Second
)

var whisperLines = []string{
	"psst %s, lunch at noon? 🍜",
	"%s, 这是一个秘密",
	"%s : ne le dis à personne 🤫",
	"%s, did you see that <b>tag</b> & the ampersand?",
}

// whisperer is a user who sends a private message to someone else now and
// then. It learns who is there from the server's messages.
type whisperer struct {
	proto chat.Protocol
	conn  *websocket.Conn

	mu    sync.Mutex
	users map[string]string // id (client_id or uid) -> name, the whisperer excluded
	self  string            // its own id, once the server told it
}

// dialWhisperer connects and logs in.
func dialWhisperer(ctx context.Context, url string, proto chat.Protocol, tlsCfg *tls.Config) (*whisperer, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled}
	if tlsCfg != nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	}
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("whisperer: connect: %w", err)
	}
	c.SetReadLimit(whisperReadLimit)
	w := &whisperer{proto: proto, conn: c, users: make(map[string]string)}
	var login any = chat.UIDLogin{Type: chat.TypeLogin, Name: whispererName}
	if proto == chat.ProtocolRoom {
		login = chat.RoomLogin{Type: chat.TypeLogin, ClientName: whispererName, RoomID: chat.NumberID(1)}
	}
	if err := w.send(login); err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("whisperer: login: %w", err)
	}
	return w, nil
}

func (w *whisperer) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// Not ctx: coder/websocket closes the connection when a write's
	// context ends, and the end of the demo must not cut a write in half.
	ctx, cancel := context.WithTimeout(context.Background(), whisperWriteTimeout)
	defer cancel()
	return w.conn.Write(ctx, websocket.MessageText, b)
}

// run reads the server's messages and whispers every whisperEvery until
// ctx ends, then closes the connection normally.
func (w *whisperer) run(ctx context.Context) error {
	readErr := make(chan error, 1)
	go func() { readErr <- w.readLoop() }()
	t := time.NewTicker(whisperEvery)
	defer t.Stop()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for {
		select {
		case <-ctx.Done():
			w.conn.Close(websocket.StatusNormalClosure, "")
			<-readErr
			return nil
		case err := <-readErr:
			w.conn.CloseNow()
			return fmt.Errorf("whisperer: read: %w", err)
		case <-t.C:
			if err := w.whisper(rng); err != nil {
				w.conn.CloseNow()
				return fmt.Errorf("whisperer: send: %w", err)
			}
		}
	}
}

// whisper sends one private message to a user picked at random.
func (w *whisperer) whisper(rng *rand.Rand) error {
	w.mu.Lock()
	ids := make([]string, 0, len(w.users))
	for id := range w.users {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	if len(ids) == 0 {
		return nil // alone so far
	}
	slices.Sort(ids) // map order is random; rng alone picks
	id := ids[rng.IntN(len(ids))]
	w.mu.Lock()
	name := w.users[id]
	w.mu.Unlock()
	content := fmt.Sprintf(whisperLines[rng.IntN(len(whisperLines))], name)
	if w.proto == chat.ProtocolRoom {
		return w.send(chat.RoomSay{Type: chat.TypeSay, ToClientID: id, ToClientName: name, Content: content})
	}
	var uid chat.ID
	if err := uid.UnmarshalJSON([]byte(id)); err != nil {
		return fmt.Errorf("uid %q: %w", id, err)
	}
	return w.send(chat.UIDSay{Type: chat.TypeSay, ToUID: uid, Content: content})
}

// readLoop keeps the user list up to date and answers pings, until the
// connection ends.
func (w *whisperer) readLoop() error {
	for {
		_, data, err := w.conn.Read(context.Background())
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return nil
			}
			return err
		}
		var m chat.Message
		if json.Unmarshal(data, &m) != nil {
			continue // not for the whisperer to judge
		}
		if m.Type == chat.TypePing {
			go w.send(chat.RoomPong{Type: chat.TypePong})
			continue
		}
		w.learn(&m)
	}
}

// learn updates the user list from one server message of either protocol.
func (w *whisperer) learn(m *chat.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch m.Type {
	case chat.TypeUserList: // uid: to the joiner, itself included (last)
		for _, u := range m.UserList {
			w.users[fmt.Sprint(u.UID)] = u.Name
		}
	case chat.TypeLogin:
		switch {
		case m.ClientList != nil: // room: the joiner's own copy
			w.self = m.ClientID
			for id, name := range m.ClientList {
				w.users[id] = name
			}
		case m.ClientID != "":
			w.users[m.ClientID] = m.ClientName
		case !m.UID.IsZero():
			w.users[m.UID.String()] = m.Name
			if m.Name == whispererName && w.self == "" {
				w.self = m.UID.String()
			}
		}
	case chat.TypeLogout:
		delete(w.users, m.FromClientID)
		delete(w.users, m.UID.String())
	}
	delete(w.users, w.self)
}
