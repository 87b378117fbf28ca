package tlsdecrypt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

// write is one write of a side, as a capture would see its bytes.
type write struct {
	dir reassembly.Dir
	b   []byte
	gap int // not 0: a Gap call of this size instead
}

// capLog records the writes of both sides in order.
type capLog struct {
	mu     sync.Mutex
	writes []write
}

func (l *capLog) add(dir reassembly.Dir, p []byte) {
	l.mu.Lock()
	l.writes = append(l.writes, write{dir: dir, b: bytes.Clone(p)})
	l.mu.Unlock()
}

// recConn records what is written to it.
type recConn struct {
	net.Conn
	dir reassembly.Dir
	log *capLog
}

func (c *recConn) Write(p []byte) (int, error) {
	c.log.add(c.dir, p)
	return c.Conn.Write(p)
}

var (
	certOnce sync.Once
	testCert tls.Certificate
)

// cert returns a self-signed certificate for example.com.
func cert(t testing.TB) tls.Certificate {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "example.com"},
			DNSNames:     []string{"example.com"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return testCert
}

// session is a TLS connection made in memory.
type session struct {
	writes     []write
	keyLog     []byte
	sent       [2][]byte // plaintext the application wrote, by direction
	clientInfo tls.ConnectionState
}

// exchange is what the two applications write: the client each of
// requests in turn, the server a reply to each.
type exchange struct {
	requests []string
	reply    func(i int, req string) string
}

func defaultExchange() exchange {
	return exchange{
		requests: []string{"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "hello", strings.Repeat("x", 40000), "bye"},
		reply: func(i int, req string) string {
			return fmt.Sprintf("reply %d to %d bytes: %s", i, len(req), strings.Repeat("y", i*7000))
		},
	}
}

// makeSession runs a TLS client and server over net.Pipe, recording what
// they write.
func makeSession(t testing.TB, cc, sc *tls.Config, ex exchange) *session {
	t.Helper()
	var kl bytes.Buffer
	var log capLog
	cc = cc.Clone()
	// sc is not cloned: its session ticket keys are kept across sessions.
	if cc.KeyLogWriter == nil {
		cc.KeyLogWriter = &kl
	}
	cc.InsecureSkipVerify = true
	if cc.ServerName == "" {
		cc.ServerName = "example.com"
	}
	if sc.Certificates == nil {
		sc.Certificates = []tls.Certificate{cert(t)}
	}
	a, b := tcpPair(t)
	client := tls.Client(&recConn{a, reassembly.ClientToServer, &log}, cc)
	server := tls.Server(&recConn{b, reassembly.ServerToClient, &log}, sc)
	s := &session{}
	errc := make(chan error, 1)
	go func() {
		defer server.Close()
		for i, req := range ex.requests {
			buf := make([]byte, len(req))
			if _, err := io.ReadFull(server, buf); err != nil {
				errc <- fmt.Errorf("server read: %w", err)
				return
			}
			if _, err := server.Write([]byte(ex.reply(i, req))); err != nil {
				errc <- fmt.Errorf("server write: %w", err)
				return
			}
		}
		io.Copy(io.Discard, server)
		errc <- nil
	}()
	if err := client.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	for i, req := range ex.requests {
		if _, err := client.Write([]byte(req)); err != nil {
			t.Fatalf("client write: %v", err)
		}
		s.sent[0] = append(s.sent[0], req...)
		rep := ex.reply(i, req)
		buf := make([]byte, len(rep))
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatalf("client read: %v", err)
		}
		s.sent[1] = append(s.sent[1], rep...)
	}
	s.clientInfo = client.ConnectionState()
	client.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	s.writes = log.writes
	log.mu.Unlock()
	s.keyLog = bytes.Clone(kl.Bytes())
	return s
}

// tcpPair returns the two ends of a loopback TCP connection: unlike
// net.Pipe, it buffers, so both sides may write at once (HelloRetryRequest
// and its change_cipher_spec).
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return a, r.c
}

// fakeInner is a reassembly.Handler whose one Conn records all it is told.
type fakeInner struct {
	conns []*fakeConn
	plain bool // its Conns do not implement Conn
}

func (f *fakeInner) NewConn(info reassembly.ConnInfo) reassembly.Conn {
	c := &fakeConn{}
	f.conns = append(f.conns, c)
	if f.plain {
		return plainConn{c}
	}
	return c
}

// plainConn hides the TLS methods of a fakeConn.
type plainConn struct{ c *fakeConn }

func (p plainConn) Data(dir reassembly.Dir, b []byte, t time.Time) { p.c.Data(dir, b, t) }
func (p plainConn) Gap(dir reassembly.Dir, n int, t time.Time)     { p.c.Gap(dir, n, t) }
func (p plainConn) End(r reassembly.EndReason, t time.Time)        { p.c.End(r, t) }

type fakeConn struct {
	data      [2][]byte
	calls     [2]int // Data calls
	gaps      [2]int
	infos     []Info
	errors    []string
	ended     bool
	dataFirst bool // Data came before TLS
}

func (c *fakeConn) Data(dir reassembly.Dir, b []byte, t time.Time) {
	if c.ended {
		panic("Data after End")
	}
	if len(c.infos) == 0 {
		c.dataFirst = true
	}
	c.data[dir] = append(c.data[dir], b...)
	c.calls[dir]++
}
func (c *fakeConn) Gap(dir reassembly.Dir, n int, t time.Time) { c.gaps[dir]++ }
func (c *fakeConn) End(r reassembly.EndReason, t time.Time)    { c.ended = true }
func (c *fakeConn) TLS(info Info, t time.Time)                 { c.infos = append(c.infos, info) }
func (c *fakeConn) TLSError(dir reassembly.Dir, msg string, t time.Time) {
	c.errors = append(c.errors, dir.String()+": "+msg)
}

// info returns the one Info reported, failing the test unless there is
// exactly one.
func (c *fakeConn) info(t testing.TB) Info {
	t.Helper()
	if len(c.infos) != 1 {
		t.Fatalf("TLS called %d times, want once: %+v", len(c.infos), c.infos)
	}
	return c.infos[0]
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func connInfo(id uint64) reassembly.ConnInfo {
	return reassembly.ConnInfo{
		ID:     id,
		Client: netip.MustParseAddrPort("10.0.0.1:50000"),
		Server: netip.MustParseAddrPort("10.0.0.2:443"),
		SawSYN: true,
		Time:   t0,
	}
}

// feedOpts says how a recorded session is fed to a Conn.
type feedOpts struct {
	chunk    int  // >0: Data calls of at most this many bytes
	coalesce bool // a direction's consecutive writes in one Data call
	noEnd    bool
}

// feed hands the writes to c as a reassembler would, a millisecond apart.
func feed(c reassembly.Conn, writes []write, o feedOpts) {
	tm := t0
	emit := func(dir reassembly.Dir, b []byte) {
		for len(b) > 0 {
			n := len(b)
			if o.chunk > 0 {
				n = min(n, o.chunk)
			}
			tm = tm.Add(time.Millisecond)
			c.Data(dir, b[:n], tm)
			b = b[n:]
		}
	}
	if o.coalesce {
		var cur []byte
		dir := reassembly.Dir(0)
		for _, w := range writes {
			if (w.dir != dir || w.gap != 0) && len(cur) > 0 {
				emit(dir, cur)
				cur = nil
			}
			dir = w.dir
			if w.gap != 0 {
				c.Gap(w.dir, w.gap, tm)
				continue
			}
			cur = append(cur, w.b...)
		}
		emit(dir, cur)
	} else {
		for _, w := range writes {
			if w.gap != 0 {
				c.Gap(w.dir, w.gap, tm)
				continue
			}
			emit(w.dir, w.b)
		}
	}
	if !o.noEnd {
		c.End(reassembly.EndFIN, tm.Add(time.Millisecond))
	}
}

// run feeds a session through a new Handler with keys, returning the inner
// Conn and the Handler.
func run(t testing.TB, s *session, keys *KeyLog, opts Options, o feedOpts) (*fakeConn, *Handler) {
	t.Helper()
	inner := &fakeInner{}
	h := NewHandler(inner, keys, opts)
	c := h.NewConn(connInfo(1))
	feed(c, s.writes, o)
	return inner.conns[0], h
}

func keysOf(t testing.TB, logs ...[]byte) *KeyLog {
	t.Helper()
	k := NewKeyLog()
	for _, l := range logs {
		k.AddSecrets(l, "test")
	}
	if w := k.Warnings(); len(w) > 0 {
		t.Fatalf("key log warnings: %q", w)
	}
	return k
}

// checkPlain checks that fc received what the applications sent.
func checkPlain(t testing.TB, fc *fakeConn, s *session) {
	t.Helper()
	for dir := range 2 {
		if !bytes.Equal(fc.data[dir], s.sent[dir]) {
			t.Errorf("%v plaintext: got %d bytes, want %d\ngot  %.80q\nwant %.80q", reassembly.Dir(dir), len(fc.data[dir]), len(s.sent[dir]), fc.data[dir], s.sent[dir])
		}
	}
	if fc.dataFirst {
		t.Error("Data before TLS")
	}
	if !fc.ended {
		t.Error("End not passed on")
	}
}
