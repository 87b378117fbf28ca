package reassembly

import (
	"math/bits"
	"math/rand/v2"
	"unsafe"

	"github.com/gopacket/gopacket"
)

// connTable finds a connection from one of its directions' keys. It is an
// open-addressing hash table with linear probing, made for the one lookup
// per packet: Go's map hashed the 64-byte key with the general memory hash
// and probed groups of 80-byte slots, about 35 ns a packet out of cache;
// here a slot is 16 bytes and the hash a few multiplications.
//
// Each connection is in the table twice, once per direction; a slot keeps
// the key's hash with its lowest bit replaced by the direction, so the key
// itself is only compared, against the connection's, when the hash matches.
type connTable struct {
	slots []slot // a power of two long, never more than half full
	n     int
	seed  [5]uint64
}

type slot struct {
	hash uint64 // the key's hash, lowest bit the direction
	c    *conn  // nil: empty
}

// flowWords is the size of a gopacket.Flow in 8-byte words. The hash reads
// a Flow's memory as words, as Go's own map hashes a comparable value,
// without depending on its fields; the compile-time check below fails if
// a Flow ever stops being a whole number of words.
const flowWords = unsafe.Sizeof(gopacket.Flow{}) / 8

var _ = [1]struct{}{}[unsafe.Sizeof(gopacket.Flow{})%8]

const minTable = 64

func newConnTable() connTable {
	t := connTable{slots: make([]slot, minTable)}
	for i := range t.seed {
		t.seed[i] = rand.Uint64() | 1
	}
	return t
}

// mix is a 64×64→128-bit multiplication folded back to 64 bits, the
// mixing step of wyhash.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash hashes a key. The seed is random per Assembler, so that traffic
// crafted to collide in one run does not in another.
func (t *connTable) hash(flow *gopacket.Flow, ports uint64) uint64 {
	w := (*[flowWords]uint64)(unsafe.Pointer(flow))
	h := ports ^ t.seed[0]
	for i := 0; i+1 < len(w); i += 2 {
		h ^= mix(w[i]^t.seed[1], w[i+1]^t.seed[2])
	}
	if len(w)%2 == 1 {
		h ^= mix(w[len(w)-1]^t.seed[3], h)
	}
	return mix(h, t.seed[4])
}

func (t *connTable) home(h uint64) int { return int(h>>1) & (len(t.slots) - 1) }

// find returns the connection with a direction whose key is (flow, ports),
// h being its hash. The key is not copied into a dirKey: copying a Flow
// parameter costs more than the rest of the lookup.
func (t *connTable) find(flow *gopacket.Flow, ports uint64, h uint64) (*conn, Dir) {
	mask := len(t.slots) - 1
	for i := t.home(h); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.c == nil {
			return nil, 0
		}
		if s.hash|1 == h|1 {
			d := Dir(s.hash & 1)
			if k := &s.c.keys[d]; k.ports == ports && k.flow == *flow {
				return s.c, d
			}
		}
	}
}

// insert adds direction d of c, whose key hashes to h.
func (t *connTable) insert(c *conn, d Dir, h uint64) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.put(slot{hash: h&^1 | uint64(d), c: c})
	t.n++
}

func (t *connTable) put(s slot) {
	mask := len(t.slots) - 1
	i := t.home(s.hash)
	for t.slots[i].c != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

func (t *connTable) grow() {
	old := t.slots
	t.slots = make([]slot, 2*len(old))
	for _, s := range old {
		if s.c != nil {
			t.put(s)
		}
	}
}

// delete removes direction d of c, whose key hashes to h, shifting the
// slots after it back so that no probe sequence is broken (no tombstones).
func (t *connTable) delete(c *conn, d Dir, h uint64) {
	mask := len(t.slots) - 1
	want := h&^1 | uint64(d)
	i := t.home(h)
	for {
		s := &t.slots[i]
		if s.c == nil {
			return // not there
		}
		if s.c == c && s.hash == want {
			break
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j].c != nil; j = (j + 1) & mask {
		// The slot at j may move to the hole at i unless its home lies
		// cyclically in (i, j].
		k := t.home(t.slots[j].hash)
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot{}
	t.n--
}
