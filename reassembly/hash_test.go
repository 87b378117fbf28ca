package reassembly

import (
	"math/rand/v2"
	"net"
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestConnTable checks the hash table against a Go map through random
// inserts and deletes, many of them colliding (few addresses and ports),
// so that deletion's backward shifts are exercised across the wrap of the
// slot array.
func TestConnTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := newConnTable()
	model := map[dirKey]*conn{}
	var live []*conn
	key := func() dirKey {
		src := net.IP{10, 0, 0, byte(rng.IntN(8))}
		dst := net.IP{10, 0, 1, byte(rng.IntN(8))}
		if rng.IntN(4) == 0 {
			src, dst = net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::2")
			src[15] = byte(rng.IntN(8))
			return dirKey{gopacket.NewFlow(layers.EndpointIPv6, src, dst), uint64(rng.IntN(16))}
		}
		return dirKey{gopacket.NewFlow(layers.EndpointIPv4, src, dst), uint64(rng.IntN(16))}
	}
	check := func(k dirKey) {
		t.Helper()
		c, d := tab.find(&k.flow, k.ports, tab.hash(&k.flow, k.ports))
		want := model[k]
		if c != want {
			t.Fatalf("find(%v) = %p, want %p", k, c, want)
		}
		if c != nil && c.keys[d] != k {
			t.Fatalf("find(%v) gave direction %v, whose key is %v", k, d, c.keys[d])
		}
	}
	for i := range 20000 {
		if len(live) == 0 || rng.IntN(3) > 0 {
			k := key()
			if _, ok := model[k]; ok {
				continue
			}
			r := k.reverse()
			if _, ok := model[r]; ok || r == k {
				continue
			}
			c := &conn{id: uint64(i)}
			c.keys = [2]dirKey{k, r}
			c.hashes = [2]uint64{tab.hash(&k.flow, k.ports), tab.hash(&r.flow, r.ports)}
			tab.insert(c, 0, c.hashes[0])
			tab.insert(c, 1, c.hashes[1])
			model[k], model[r] = c, c
			live = append(live, c)
		} else {
			j := rng.IntN(len(live))
			c := live[j]
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			tab.delete(c, 0, c.hashes[0])
			tab.delete(c, 1, c.hashes[1])
			delete(model, c.keys[0])
			delete(model, c.keys[1])
		}
		check(key())
		if tab.n != len(model) {
			t.Fatalf("table holds %d keys, want %d", tab.n, len(model))
		}
	}
	for k := range model {
		check(k)
	}
}

// TestConnLayout keeps conn's doc true: a whole number of cache lines, the
// per-packet fields in the first, each key in a line of its own.
func TestConnLayout(t *testing.T) {
	var c conn
	if size := unsafe.Sizeof(c); size%64 != 0 {
		t.Errorf("conn is %d bytes, not a whole number of 64-byte lines", size)
	}
	if off := unsafe.Offsetof(c.hashes); off > 64 {
		t.Errorf("the per-packet fields end at %d, past the first line", off)
	}
	if off := unsafe.Offsetof(c.keys); off%64 != 0 || unsafe.Sizeof(c.keys[0]) != 64 {
		t.Errorf("keys at %d, %d bytes each: not a line each", off, unsafe.Sizeof(c.keys[0]))
	}
}
