package capture

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// fragments4 splits an IPv4 packet (20-byte header) into fragments carrying
// size payload bytes each (a multiple of 8).
func fragments4(ip []byte, size int) [][]byte {
	payload := ip[20:]
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		f := append(append([]byte(nil), ip[:20]...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[2:4], uint16(len(f)))
		field := uint16(off / 8)
		if end < len(payload) {
			field |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:8], field)
		out = append(out, f)
	}
	return out
}

// fragments6 splits an IPv6 packet (no extension headers) into fragments
// carrying size bytes each (a multiple of 8), with identification id.
func fragments6(ip []byte, size int, id uint32) [][]byte {
	payload := ip[40:]
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		f := append([]byte(nil), ip[:40]...)
		f[6] = ipProtoFragment
		fh := make([]byte, 8)
		fh[0] = ip[6]
		field := uint16(off/8) << 3
		if end < len(payload) {
			field |= 1
		}
		binary.BigEndian.PutUint16(fh[2:4], field)
		binary.BigEndian.PutUint32(fh[4:8], id)
		f = append(append(f, fh...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[4:6], uint16(len(f)-40))
		out = append(out, f)
	}
	return out
}

func bigSegment(v6 bool, n int) tcpSpec {
	s := seg4
	if v6 {
		s = seg6
	}
	s.id = 4242
	s.payload = bytes.Repeat([]byte("0123456789abcdef"), n/16)
	return s
}

func TestDefragment(t *testing.T) {
	orders := map[string]func(n int) []int{
		"in order": func(n int) []int {
			o := make([]int, n)
			for i := range o {
				o[i] = i
			}
			return o
		},
		"reversed": func(n int) []int {
			o := make([]int, n)
			for i := range o {
				o[i] = n - 1 - i
			}
			return o
		},
		"shuffled": func(n int) []int { return rand.New(rand.NewPCG(1, 2)).Perm(n) },
	}
	for _, v6 := range []bool{false, true} {
		for name, order := range orders {
			t.Run(map[bool]string{false: "ipv4 ", true: "ipv6 "}[v6]+name, func(t *testing.T) {
				spec := bigSegment(v6, 4000)
				ip := ipTCP(t, spec)
				var frags [][]byte
				if v6 {
					frags = fragments6(ip, 1232, 77)
				} else {
					frags = fragments4(ip, 1480)
				}
				d := NewDecoder()
				idx := order(len(frags))
				for i, k := range idx {
					pkt := ethernet(t, frags[k])
					p, ok, err := d.Decode(pkt, ci(len(pkt)), layers.LinkTypeEthernet)
					if err != nil {
						t.Fatal(err)
					}
					if last := i == len(idx)-1; ok != last {
						t.Fatalf("fragment %d of %d: ok %v", i+1, len(idx), ok)
					} else if last {
						checkSegment(t, p, spec)
						if p.IPLen != len(ip) {
							t.Errorf("IPLen %d, want %d", p.IPLen, len(ip))
						}
					}
				}
				want := DecodeStats{TCP: 1, Fragments: uint64(len(frags) - 1), Defragmented: 1}
				if s := d.Stats(); s != want {
					t.Errorf("stats %+v, want %+v", s, want)
				}
				if len(d.pending) != 0 || d.fragBytes != 0 {
					t.Errorf("after the datagram: %d pending, %d bytes held", len(d.pending), d.fragBytes)
				}
			})
		}
	}
}

func TestDefragmentRejects(t *testing.T) {
	ip := ipTCP(t, bigSegment(false, 3000))
	frags := fragments4(ip, 1480)

	t.Run("overlap drops the datagram", func(t *testing.T) {
		d := NewDecoder()
		d.Decode(frags[0], ci(len(frags[0])), layers.LinkTypeIPv4)
		// a fragment at offset 8 overlapping the first: contradicts it
		bad := append([]byte(nil), frags[1]...)
		binary.BigEndian.PutUint16(bad[6:8], 0x2000|1)
		if _, ok, _ := d.Decode(bad, ci(len(bad)), layers.LinkTypeIPv4); ok || d.Stats().Malformed != 1 {
			t.Fatalf("overlap: ok %v stats %+v", ok, d.Stats())
		}
		for _, f := range frags[1:] {
			if _, ok, _ := d.Decode(f, ci(len(f)), layers.LinkTypeIPv4); ok {
				t.Fatal("datagram rebuilt without its dropped first fragment")
			}
		}
	})
	t.Run("cut fragment", func(t *testing.T) {
		d := NewDecoder()
		f := frags[0][:100]
		if _, ok, _ := d.Decode(f, ci(len(f)), layers.LinkTypeIPv4); ok || d.Stats().Malformed != 1 || len(d.pending) != 0 {
			t.Fatalf("ok %v stats %+v pending %d", ok, d.Stats(), len(d.pending))
		}
	})
	t.Run("udp fragments are not kept", func(t *testing.T) {
		d := NewDecoder()
		f := append([]byte(nil), frags[0]...)
		f[9] = 17
		if _, ok, _ := d.Decode(f, ci(len(f)), layers.LinkTypeIPv4); ok || d.Stats().NotTCP != 1 || len(d.pending) != 0 {
			t.Fatalf("ok %v stats %+v pending %d", ok, d.Stats(), len(d.pending))
		}
		f6 := fragments6(ipTCP(t, bigSegment(true, 3000)), 1232, 1)[0]
		f6[40] = 17
		if _, ok, _ := d.Decode(f6, ci(len(f6)), layers.LinkTypeIPv6); ok || d.Stats().NotTCP != 2 || len(d.pending) != 0 {
			t.Fatalf("v6: ok %v stats %+v pending %d", ok, d.Stats(), len(d.pending))
		}
	})
}

// TestDefragmentTimeout checks that an incomplete datagram is forgotten
// after fragmentTimeout of capture time: its last fragment, arriving later,
// does not complete it.
func TestDefragmentTimeout(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		ip := ipTCP(t, bigSegment(v6, 3000))
		other := bigSegment(v6, 3000)
		other.sport++
		other.id++
		ip2 := ipTCP(t, other)
		var frags, frags2 [][]byte
		if v6 {
			frags, frags2 = fragments6(ip, 1232, 5), fragments6(ip2, 1232, 6)
		} else {
			frags, frags2 = fragments4(ip, 1480), fragments4(ip2, 1480)
		}
		d := NewDecoder()
		t0 := time.Unix(1700000000, 0)
		at := func(f []byte, t time.Time) bool {
			c := ci(len(f))
			c.Timestamp = t
			_, ok, _ := d.Decode(f, c, layers.LinkTypeRaw)
			return ok
		}
		for _, f := range frags[:len(frags)-1] {
			at(f, t0)
		}
		at(frags2[0], t0.Add(31*time.Second)) // sweeps the first datagram
		if len(d.pending) != 1 {
			t.Fatalf("v6 %v: %d datagrams pending after the timeout, want 1", v6, len(d.pending))
		}
		if at(frags[len(frags)-1], t0.Add(32*time.Second)) {
			t.Fatalf("v6 %v: datagram rebuilt from fragments older than the timeout", v6)
		}
		// the second datagram, still fresh, completes
		ok := false
		for _, f := range frags2[1:] {
			ok = at(f, t0.Add(33*time.Second))
		}
		if !ok {
			t.Fatalf("v6 %v: fresh datagram not rebuilt", v6)
		}
	}
}

// TestDefragmentBound feeds first fragments of ever new datagrams, which
// never complete: what is held stays under maxFragmentBytes.
func TestDefragmentBound(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		spec := bigSegment(v6, 3000)
		d := NewDecoder()
		n := maxFragmentBytes/1400 + 1000
		for i := 0; i < n; i++ {
			spec.id = uint16(i)
			spec.sport = uint16(i>>16) + 1
			var f []byte
			if v6 {
				f = fragments6(ipTCP(t, spec), 1400, uint32(i))[0]
			} else {
				f = fragments4(ipTCP(t, spec), 1400)[0]
			}
			d.Decode(f, ci(len(f)), layers.LinkTypeRaw)
			if d.fragBytes > maxFragmentBytes {
				t.Fatalf("v6 %v: %d bytes held after %d fragments, above %d", v6, d.fragBytes, i+1, maxFragmentBytes)
			}
		}
		if s := d.Stats(); s.Fragments != uint64(n) {
			t.Errorf("v6 %v: stats %+v", v6, s)
		}
		if len(d.pending) >= n {
			t.Errorf("v6 %v: nothing was dropped (%d pending)", v6, len(d.pending))
		}
	}
}
