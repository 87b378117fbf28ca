package tlsdecrypt

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

// discard is an inner Handler whose Conns drop everything.
type discard struct{}

func (discard) NewConn(reassembly.ConnInfo) reassembly.Conn { return discardConn{} }

type discardConn struct{}

func (discardConn) Data(reassembly.Dir, []byte, time.Time)     {}
func (discardConn) Gap(reassembly.Dir, int, time.Time)         {}
func (discardConn) End(reassembly.EndReason, time.Time)        {}
func (discardConn) TLS(Info, time.Time)                        {}
func (discardConn) TLSError(reassembly.Dir, string, time.Time) {}

// benchRecords is how many records one connection of a benchmark carries:
// a new connection (and handshake) is made after them.
const benchRecords = 1024

// benchDecrypt measures decrypting records of size bytes of plaintext, one
// record per Data call, in steady state.
func benchDecrypt(b *testing.B, id uint16, size int) {
	y := newSynth(b, id, 3)
	y.handshake()
	hs := len(y.writes)
	payload := strings.Repeat("m", size)
	for range benchRecords {
		y.data(reassembly.ServerToClient, payload)
	}
	h := NewHandler(discard{}, keysOf(b, y.keyLog(true)), Options{})
	var c reassembly.Conn
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := i % benchRecords
		if k == 0 {
			if c != nil {
				c.End(reassembly.EndFIN, t0)
			}
			c = h.NewConn(connInfo(uint64(i)))
			for _, w := range y.writes[:hs] {
				c.Data(w.dir, w.b, t0)
			}
		}
		w := y.writes[hs+k]
		c.Data(w.dir, w.b, t0)
	}
	b.StopTimer()
	if st := h.Stats(); st.AuthFailures != 0 || st.Records < uint64(b.N) {
		b.Fatalf("stats %+v for %d records", st, b.N)
	}
}

func BenchmarkDecrypt13(b *testing.B) {
	for _, id := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256} {
		for _, size := range []int{100, 1400, 16384} {
			b.Run(fmt.Sprintf("%s/%d", tls.CipherSuiteName(id), size), func(b *testing.B) { benchDecrypt(b, id, size) })
		}
	}
}

func BenchmarkDecrypt12(b *testing.B) {
	for _, id := range []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256} {
		for _, size := range []int{100, 1400, 16384} {
			b.Run(fmt.Sprintf("%s/%d", tls.CipherSuiteName(id), size), func(b *testing.B) { benchDecrypt(b, id, size) })
		}
	}
}

// BenchmarkPlaintextPassthrough measures what a ws:// connection pays for
// going through the Handler.
func BenchmarkPlaintextPassthrough(b *testing.B) {
	h := NewHandler(discard{}, NewKeyLog(), Options{})
	c := h.NewConn(connInfo(1))
	c.Data(0, []byte("GET /chat HTTP/1.1\r\n\r\n"), t0)
	seg := []byte(strings.Repeat("w", 1400))
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.Data(1, seg, t0)
	}
}
