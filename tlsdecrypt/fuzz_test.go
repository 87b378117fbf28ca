package tlsdecrypt

import (
	"bytes"
	"crypto/tls"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

var (
	fuzzOnce    sync.Once
	fuzzSession *session
	fuzzSynth   *synth
)

// encodeWrites encodes writes as FuzzRecords reads them: per call, a
// control byte (bit 0 the direction, bit 1 a gap, the rest ignored), a
// 2-byte length and the bytes.
func encodeWrites(ws []write) []byte {
	var b []byte
	for _, w := range ws {
		ctl := byte(w.dir)
		n := len(w.b)
		if w.gap != 0 {
			ctl |= 2
			n = w.gap
		}
		b = append(b, ctl, byte(n>>8), byte(n))
		if w.gap == 0 {
			b = append(b, w.b...)
		}
	}
	return b
}

// FuzzRecords feeds arbitrary bytes, split arbitrarily, in both
// directions, with keys (of a real session and a hand-made one, whose
// records seed the corpus) and without: nothing panics and the bytes kept
// stay within the limits.
func FuzzRecords(f *testing.F) {
	fuzzOnce.Do(func() {
		fuzzSession = makeSession(f, &tls.Config{}, &tls.Config{}, exchange{
			requests: []string{"hi", strings.Repeat("q", 3000)},
			reply:    func(i int, _ string) string { return strings.Repeat("r", 100*i+1) },
		})
		fuzzSynth = newSynth(f, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 7)
		fuzzSynth.handshake()
		fuzzSynth.data(0, "ping")
		fuzzSynth.data(1, "pong")
	})
	f.Add(encodeWrites(fuzzSession.writes), false)
	f.Add(encodeWrites(fuzzSynth.writes), true)
	f.Add([]byte{0, 0, 6, 0x16, 3, 1, 0, 1, 1}, false)
	f.Add([]byte{1, 0, 5, 0x17, 3, 3, 0xff, 0xff, 0, 0, 5, 0x17, 3, 3, 0, 0}, true)
	keys := keysOf(f, fuzzSession.keyLog, fuzzSynth.keyLog(true))
	f.Fuzz(func(t *testing.T, data []byte, sawSYN bool) {
		for _, k := range []*KeyLog{keys, nil} {
			for _, wait := range []time.Duration{0, time.Second} {
				inner := &fakeInner{}
				h := NewHandler(inner, k, Options{Wait: wait})
				info := connInfo(1)
				info.SawSYN = sawSYN
				c := h.NewConn(info)
				tm := t0
				b := data
				for len(b) >= 3 {
					ctl, n := b[0], int(b[1])<<8|int(b[2])
					b = b[3:]
					dir := reassembly.Dir(ctl & 1)
					tm = tm.Add(time.Millisecond)
					if ctl&2 != 0 {
						c.Gap(dir, n-1, tm)
						continue
					}
					n = min(n, len(b))
					c.Data(dir, b[:n], tm)
					b = b[n:]
					checkBounds(t, h, c.(*conn))
				}
				c.End(reassembly.EndCapture, tm)
				fc := inner.conns[0]
				if fc.dataFirst && len(fc.infos) > 0 {
					t.Fatal("plaintext Data before TLS")
				}
				if len(fc.infos) > 1 {
					t.Fatalf("TLS called %d times", len(fc.infos))
				}
				if h.held != 0 {
					t.Fatalf("%d bytes held after End", h.held)
				}
			}
		}
	})
}

func checkBounds(t *testing.T, h *Handler, c *conn) {
	if h.held > MaxHoldTotal || len(c.holdBuf) > MaxHoldConn || len(h.out) != 0 {
		t.Fatalf("held %d, conn %d, out %d", h.held, len(c.holdBuf), len(h.out))
	}
	if c.t == nil {
		return
	}
	for _, d := range c.t.dirs {
		if len(d.part) > maxScan || len(d.hs.body) > MaxHandshakeMessage {
			t.Fatalf("part %d, handshake %d", len(d.part), len(d.hs.body))
		}
	}
}

// FuzzKeyLog reads arbitrary key logs, whole and a byte at a time: the
// same secrets and warnings either way, and no panic.
func FuzzKeyLog(f *testing.F) {
	f.Add([]byte("CLIENT_RANDOM " + hexRandom + " " + hex48 + "\r\n# c\n\nSERVER_TRAFFIC_SECRET_0 " + hexRandom + " " + hex32))
	f.Add([]byte("CLIENT_RANDOM zz\nCLIENT_HANDSHAKE_TRAFFIC_SECRET " + hexRandom + " " + hex48 + " extra\n"))
	f.Add(bytes.Repeat([]byte("x"), 3000))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := NewKeyLog()
		a.AddSecrets(data, "a")
		b := NewKeyLog()
		if err := b.Read(&oneByte{data}, "a"); err != nil {
			t.Fatal(err)
		}
		wa, wb := a.Warnings(), b.Warnings()
		if strings.Join(wa, "\n") != strings.Join(wb, "\n") {
			t.Fatalf("warnings differ:\n%q\n%q", wa, wb)
		}
		if len(wa) > MaxKeyLogWarnings+1 {
			t.Fatalf("%d warnings", len(wa))
		}
		if a.Stats() != b.Stats() || a.Stats().Read > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("stats %+v, %+v", a.Stats(), b.Stats())
		}
		for r, s := range a.m {
			if sb := b.m[r]; sb == nil || *sb != *s {
				t.Fatal("secrets differ")
			}
		}
	})
}

// oneByte reads one byte at a time.
type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}
