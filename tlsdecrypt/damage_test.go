package tlsdecrypt

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

var recordNumber = regexp.MustCompile(`record \d+ failed`)

// bigServerRecords returns the indexes of the server's writes that are one
// application data record of at least 7000 bytes: the replies 1, 2 and
// the first record of 3 of defaultExchange.
func bigServerRecords(s *session) []int {
	var idx []int
	for i, w := range s.writes {
		if w.dir == 1 && len(w.b) >= 7000 && w.b[0] == recordAppData && len(w.b) == 5+recordLen(w.b) {
			idx = append(idx, i)
		}
	}
	return idx
}

// checkLost checks that fc got the server's plaintext but for lost bytes
// in one place.
func checkLost(t *testing.T, fc *fakeConn, s *session, lost int) {
	t.Helper()
	got, want := fc.data[1], s.sent[1]
	if !bytes.Equal(fc.data[0], s.sent[0]) {
		t.Errorf("client plaintext: %d bytes, want %d", len(fc.data[0]), len(s.sent[0]))
	}
	if len(got) != len(want)-lost {
		t.Fatalf("server plaintext: %d bytes, want %d - %d lost", len(got), len(want), lost)
	}
	k := 0
	for k < len(got) && got[k] == want[k] {
		k++
	}
	if !bytes.Equal(got[k:], want[k+lost:]) {
		t.Errorf("server plaintext differs past byte %d other than by %d bytes lost", k, lost)
	}
}

func TestDamage(t *testing.T) {
	sessions := []struct {
		name     string
		cc       *tls.Config
		overhead int // bytes of a record not plaintext
	}{
		{"1.3", &tls.Config{}, 5 + 17},
		{"1.2 GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, 5 + 24},
		{"1.2 ChaCha20", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, 5 + 16},
	}
	type damage func(ws []write, big []int) []write
	flip := func(k ...int) damage {
		return func(ws []write, big []int) []write {
			for _, i := range k {
				b := bytes.Clone(ws[big[i]].b)
				b[len(b)/2] ^= 0x40
				ws[big[i]].b = b
			}
			return ws
		}
	}
	tests := []struct {
		name    string
		damage  damage
		lost    []int // of the big records
		errs    []string
		gaps    int
		failed  uint64
		coalesc bool
	}{
		{"flipped byte", flip(1), []int{1}, []string{"server: record N failed authentication (wrong key or damaged)"}, 1, 1, false},
		{"two flipped records", flip(1, 2), []int{1, 2}, []string{"server: record N failed authentication (wrong key or damaged)"}, 1, 2, false},
		{"flipped byte coalesced", flip(1), []int{1}, []string{"server: record N failed authentication (wrong key or damaged)"}, 1, 1, true},
		{"gap of a record", func(ws []write, big []int) []write {
			ws[big[1]] = write{dir: 1, gap: len(ws[big[1]].b)}
			return ws
		}, []int{1}, nil, 1, 0, false},
		{"gap across records", func(ws []write, big []int) []write {
			a, b := ws[big[1]].b, ws[big[2]].b
			ws[big[1]].b = a[:len(a)/2]
			ws[big[2]].b = b[len(b)/2:]
			return slices.Insert(ws, big[2], write{dir: 1, gap: len(a) - len(a)/2 + len(b)/2})
		}, []int{1, 2}, nil, 1, 0, false},
		{"gap across records coalesced", func(ws []write, big []int) []write {
			a, b := ws[big[1]].b, ws[big[2]].b
			ws[big[1]].b = a[:len(a)/2]
			ws[big[2]].b = b[len(b)/2:]
			return slices.Insert(ws, big[2], write{dir: 1, gap: len(a) - len(a)/2 + len(b)/2})
		}, []int{1, 2}, nil, 1, 0, true},
		{"oversized record", func(ws []write, big []int) []write {
			junk := append([]byte{recordAppData, 3, 3, 0xff, 0xff}, make([]byte, 10)...)
			return slices.Insert(ws, big[1], write{dir: 1, b: junk})
		}, nil, []string{"server: record of 65535 bytes over the 16 KiB limit"}, 1, 0, false},
	}
	for _, ss := range sessions {
		s := makeSession(t, ss.cc, &tls.Config{}, defaultExchange())
		big := bigServerRecords(s)
		if len(big) < 3 {
			t.Fatalf("%s: %d big records", ss.name, len(big))
		}
		for i := big[1] + 1; i < big[2]; i++ {
			if s.writes[i].dir == 1 {
				t.Fatalf("%s: big records 1 and 2 are not consecutive", ss.name)
			}
		}
		for _, tt := range tests {
			t.Run(ss.name+"/"+tt.name, func(t *testing.T) {
				ws := tt.damage(slices.Clone(s.writes), big)
				d := &session{writes: ws, sent: s.sent}
				fc, h := run(t, d, keysOf(t, s.keyLog), Options{}, feedOpts{coalesce: tt.coalesc})
				if info := fc.info(t); !info.Decrypted {
					t.Fatalf("info %+v", info)
				}
				lost := 0
				for _, i := range tt.lost {
					lost += len(s.writes[big[i]].b) - ss.overhead
				}
				checkLost(t, fc, s, lost)
				// Record numbers differ between sessions.
				got := recordNumber.ReplaceAllString(strings.Join(fc.errors, "\n"), "record N failed")
				if got != strings.Join(tt.errs, "\n") {
					t.Errorf("errors %q, want %q", fc.errors, tt.errs)
				}
				if fc.gaps[1] != tt.gaps || fc.gaps[0] != 0 {
					t.Errorf("gaps %v, want %d of the server", fc.gaps, tt.gaps)
				}
				if st := h.Stats(); st.AuthFailures != tt.failed {
					t.Errorf("stats %+v, want %d failures", st, tt.failed)
				}
			})
		}
	}
}

// TestMidstream feeds a connection whose handshake was not captured.
func TestMidstream(t *testing.T) {
	s := makeSession(t, &tls.Config{}, &tls.Config{}, defaultExchange())
	// From the client's first application data on.
	first := -1
	for i, w := range s.writes {
		if w.dir == 0 && w.b[0] == recordAppData && i > 3 {
			first = i
			break
		}
	}
	ws := s.writes[first:]
	for _, sawSYN := range []bool{false, true} {
		inner := &fakeInner{}
		h := NewHandler(inner, keysOf(t, s.keyLog), Options{})
		info := connInfo(1)
		info.SawSYN = sawSYN
		feed(h.NewConn(info), ws, feedOpts{})
		fc := inner.conns[0]
		if !sawSYN {
			if in := fc.info(t); in.Decrypted || in.Reason != "handshake not captured" {
				t.Errorf("info %+v", in)
			}
			if len(fc.data[0])+len(fc.data[1]) > 0 {
				t.Error("bytes passed on")
			}
			continue
		}
		// With the start captured, TLS starts with a ClientHello: these
		// bytes are something else, passed on as they are.
		if len(fc.infos) != 0 || len(fc.data[0]) == 0 || fc.data[0][0] != recordAppData {
			t.Errorf("SYN seen: infos %v, %d bytes", fc.infos, len(fc.data[0]))
		}
	}
}

// TestServerFirst delivers the server's hello before the ClientHello.
func TestServerFirst(t *testing.T) {
	s := makeSession(t, &tls.Config{}, &tls.Config{}, defaultExchange())
	ws := slices.Clone(s.writes)
	ws[0], ws[1] = ws[1], ws[0]
	if ws[0].dir != 1 {
		t.Fatal("the second write is not the server's")
	}
	fc, _ := run(t, &session{writes: ws, sent: s.sent}, keysOf(t, s.keyLog), Options{}, feedOpts{})
	if info := fc.info(t); !info.Decrypted {
		t.Errorf("%+v", info)
	}
	checkPlain(t, fc, s)
}

// TestWaitForKey writes the key to a followed key log in the middle of the
// connection.
func TestWaitForKey(t *testing.T) {
	s := makeSession(t, &tls.Config{}, &tls.Config{}, defaultExchange())
	tests := []struct {
		name   string
		wait   time.Duration
		at     int // writes fed before the key is written; -1 never
		reason string
	}{
		{"key later", time.Second, 6, ""},
		{"no wait", 0, 6, "no key for its client random in the key log"},
		{"key never", time.Second, -1, "no key for its client random in the key log"},
		{"wait over", 3 * time.Millisecond, 9, "no key for its client random in the key log"},
		{"key at the end", time.Second, len(s.writes), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "keys.log")
			if err := os.WriteFile(name, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			k := NewKeyLog()
			if err := k.Follow(name); err != nil {
				t.Fatal(err)
			}
			inner := &fakeInner{}
			h := NewHandler(inner, k, Options{Wait: tt.wait})
			c := h.NewConn(connInfo(1))
			at := tt.at
			if at < 0 {
				at = len(s.writes)
			}
			feed(c, s.writes[:at], feedOpts{noEnd: true})
			if tt.at >= 0 {
				if err := os.WriteFile(name, s.keyLog, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			feed(c, s.writes[at:], feedOpts{})
			fc := inner.conns[0]
			info := fc.info(t)
			if info.Reason != tt.reason || info.Decrypted != (tt.reason == "") {
				t.Fatalf("info %+v, want reason %q", info, tt.reason)
			}
			if tt.reason == "" {
				checkPlain(t, fc, s)
				if st := k.Stats(); st.Used != 1 {
					t.Errorf("key stats %+v", st)
				}
			} else if len(fc.data[0])+len(fc.data[1]) > 0 {
				t.Error("bytes passed on")
			}
			if h.held != 0 {
				t.Errorf("%d bytes still held", h.held)
			}
		})
	}
}

// TestEarlyGap loses the ClientHello.
func TestEarlyGap(t *testing.T) {
	s := makeSession(t, &tls.Config{}, &tls.Config{}, defaultExchange())
	ws := slices.Clone(s.writes)
	// The ClientHello is cut short by a gap.
	ws = slices.Insert(ws, 1, write{dir: reassembly.ClientToServer, gap: 10})
	ws[0].b = ws[0].b[:len(ws[0].b)-10]
	fc, _ := run(t, &session{writes: ws}, keysOf(t, s.keyLog), Options{}, feedOpts{})
	if info := fc.info(t); info.Decrypted || info.Reason != "handshake not captured" {
		t.Errorf("%+v", info)
	}
}
