package chatserver

import (
	"slices"
	"sync"
	"sync/atomic"
)

// room is a set of clients that broadcasts reach. Its members are a
// copy-on-write slice: a join or leave (under hub.mu) makes a new slice, a
// broadcast loads the current one without taking any lock, so that
// broadcasts from many senders never wait on each other.
type room struct {
	members atomic.Pointer[[]*client]
}

func (r *room) list() []*client {
	if p := r.members.Load(); p != nil {
		return *p
	}
	return nil
}

// broadcast queues f to every member. Queues never block (a full one drops
// its client), so no lock is held while anything waits on a socket.
func (r *room) broadcast(f *frame) {
	for _, c := range r.list() {
		c.send(f)
	}
}

// hub holds the rooms and the clients by id. Its mutex guards membership
// and identities only; nothing that writes to a socket runs under it.
type hub struct {
	mu    sync.Mutex
	all   map[*client]struct{}
	rooms map[string]*room
	byID  map[string]*client // room protocol client_id
	byUID map[int64]*client  // uid protocol uid
}

func newHub() *hub {
	return &hub{
		all:   make(map[*client]struct{}),
		rooms: make(map[string]*room),
		byID:  make(map[string]*client),
		byUID: make(map[int64]*client),
	}
}

// roomLocked returns the named room, creating it. Call with h.mu held.
func (h *hub) roomLocked(name string) *room {
	r := h.rooms[name]
	if r == nil {
		r = &room{}
		h.rooms[name] = r
	}
	return r
}

// joinLocked adds c to the end of room name. Call with h.mu held.
func (h *hub) joinLocked(name string, c *client) *room {
	r := h.roomLocked(name)
	old := r.list()
	next := make([]*client, len(old), len(old)+1)
	copy(next, old)
	next = append(next, c)
	r.members.Store(&next)
	return r
}

// leaveLocked removes c from room name, forgetting the room once empty.
// Call with h.mu held.
func (h *hub) leaveLocked(name string, c *client) *room {
	r := h.rooms[name]
	if r == nil {
		return nil
	}
	old := r.list()
	i := slices.Index(old, c)
	if i < 0 {
		return r
	}
	if len(old) == 1 {
		delete(h.rooms, name)
		r.members.Store(nil)
		return r
	}
	next := make([]*client, 0, len(old)-1)
	next = append(next, old[:i]...)
	next = append(next, old[i+1:]...)
	r.members.Store(&next)
	return r
}

// everyone returns a snapshot of every connected client.
func (h *hub) everyone() []*client {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*client, 0, len(h.all))
	for c := range h.all {
		out = append(out, c)
	}
	return out
}
