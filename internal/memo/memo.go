// Package memo remembers the results of the last few computations keyed
// by bytes, for work a chat capture repeats back to back. A chat server
// sends each broadcast, byte for byte, to every member of the room, so
// most messages in a capture are one seen a moment before (nine in ten on
// the bench's capture of rooms of ten), and parsing or escaping it once
// serves every copy. Keys are compared whole, so a hit is always exact.
package memo

// size is how many results a Recent keeps. The copies of a broadcast
// arrive back to back, so the hit rate hardly grows past the last few:
// on the bench capture 87 % with one, 90.5 % with two or four, 90.7 %
// with eight (a key that differs costs a length comparison, or a memory
// comparison up to its first differing byte).
const size = 4

// MaxKey is the longest key a Recent keeps, and also the most bytes of
// keys it keeps at once: a long key pushes the others out. Long messages
// are where remembering pays most (a 400 KB paste broadcast to a room is
// most of the bytes of the bench capture), so the bound is memory: a few
// MB for the few Recents a reader keeps.
const MaxKey = 1 << 20

// keepCap is the buffer size a slot keeps when it takes a much shorter
// key: a long message's buffers are not kept for short ones.
const keepCap = 64 << 10

// Recent holds the values of the last size keys put in it. The zero value
// is empty and ready. It is not safe for concurrent use: each goroutine
// keeps its own.
type Recent[V any] struct {
	keys [size][]byte
	set  [size]bool
	vals [size]V
	next int // the slot Put fills next, the oldest
}

// Get returns the value put under key, or nil. The value stays until the
// next Put.
func (r *Recent[V]) Get(key []byte) *V {
	for i := range r.keys {
		if r.set[i] && string(r.keys[i]) == string(key) {
			return &r.vals[i]
		}
	}
	return nil
}

// Put stores a copy of key in the oldest slot and returns the slot's
// value for the caller to fill in; it holds what the slot held before (or
// the zero value), so its buffers can be reused. Older keys go when the
// keys kept would exceed MaxKey bytes. Put returns nil, and stores
// nothing, when key is longer than MaxKey. The caller must fill the
// value before the next Get.
func (r *Recent[V]) Put(key []byte) *V {
	if len(key) > MaxKey {
		return nil
	}
	i := r.next
	r.next = (i + 1) % size
	if c := cap(r.keys[i]); c > keepCap && c > 4*len(key) {
		r.drop(i)
	}
	r.keys[i] = append(r.keys[i][:0], key...)
	r.set[i] = true
	kept := 0
	for j := range r.keys {
		if r.set[j] {
			kept += len(r.keys[j])
		}
	}
	// The oldest others go first: from the slot after i round to it.
	for j := (i + 1) % size; kept > MaxKey && j != i; j = (j + 1) % size {
		if r.set[j] {
			kept -= len(r.keys[j])
			r.drop(j)
		}
	}
	return &r.vals[i]
}

// drop empties slot i and lets its buffers go.
func (r *Recent[V]) drop(i int) {
	var zero V
	r.keys[i], r.set[i], r.vals[i] = nil, false, zero
}
