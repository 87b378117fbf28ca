package chatserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// certPool trusts the certificate of cfg.
func certPool(t testing.TB, cfg *tls.Config) *x509.CertPool {
	t.Helper()
	cert, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TestSelfSignedTLS: the certificate verifies for loopback by name and
// address, and for the hosts asked for; not for others.
func TestSelfSignedTLS(t *testing.T) {
	cfg, fp, err := SelfSignedTLS([]string{"chat.test", "192.0.2.7", "0.0.0.0", "[::1]"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fp) != 32*3-1 || strings.Count(fp, ":") != 31 {
		t.Errorf("fingerprint %q", fp)
	}
	cert, _ := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	opts := x509.VerifyOptions{Roots: certPool(t, cfg)}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "chat.test", "192.0.2.7"} {
		opts.DNSName = host
		if _, err := cert.Verify(opts); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	for _, host := range []string{"example.com", "192.0.2.8"} {
		opts.DNSName = host
		if _, err := cert.Verify(opts); err == nil {
			t.Errorf("%s: verified", host)
		}
	}
}

// writePEM writes cfg's certificate and key as PEM files in dir.
func writePEM(t *testing.T, dir, name string, cfg *tls.Config) (certFile, keyFile string) {
	t.Helper()
	c := cfg.Certificates[0]
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestLoadTLS: a good pair loads; a missing or bad file is a one-line
// error that names it, and a certificate and key that do not match name
// both.
func TestLoadTLS(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not PEM"), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	a, _, err := SelfSignedTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := SelfSignedTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	aCert, aKey := writePEM(t, dir, "a", a)
	_, bKey := writePEM(t, dir, "b", b)

	cfg, err := LoadTLS(aCert, aKey)
	if err != nil {
		t.Fatalf("LoadTLS(%s, %s): %v", aCert, aKey, err)
	}
	if !bytes.Equal(cfg.Certificates[0].Certificate[0], a.Certificates[0].Certificate[0]) {
		t.Error("LoadTLS loaded another certificate")
	}
	for _, tc := range []struct {
		cert, key string
		want      []string
	}{
		{missing, aKey, []string{"certificate", "missing.pem"}},
		{aCert, missing, []string{"key", "missing.pem"}},
		{bad, aKey, []string{"certificate", "bad.pem"}},
		{aCert, bad, []string{"key", "bad.pem"}},
		{aKey, aKey, []string{"certificate", "a.key"}},
		{aCert, aCert, []string{"key", "a.crt"}},
		{aCert, bKey, []string{"a.crt", "b.key"}},
	} {
		_, err := LoadTLS(tc.cert, tc.key)
		if err == nil {
			t.Errorf("LoadTLS(%s, %s): no error", tc.cert, tc.key)
			continue
		}
		for _, w := range tc.want {
			if msg := err.Error(); !strings.Contains(msg, w) || strings.Contains(msg, "\n") {
				t.Errorf("LoadTLS(%s, %s): %q, want one line naming %s", filepath.Base(tc.cert), filepath.Base(tc.key), msg, w)
			}
		}
	}
}

// syncBuffer is a key log both ends of the test write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeTLS: with Options.TLS the page is served over https and its
// WebSocket is wss://; a client that trusts the certificate logs in and
// chats; the server's KeyLogWriter gets the secrets of both TLS 1.3
// connections; and shutdown still ends within its deadline with a
// client that never reads, over TLS too.
func TestServeTLS(t *testing.T) {
	cfg, _, err := SelfSignedTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys syncBuffer
	cfg.KeyLogWriter = &keys
	ts := startServer(t, Options{TLS: cfg, ShutdownTimeout: 300 * time.Millisecond})
	if !strings.HasPrefix(ts.wsURL, "wss://") || !strings.HasPrefix(ts.pageURL, "https://") {
		t.Fatalf("urls %s %s", ts.wsURL, ts.pageURL)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPool(t, cfg)}}}
	defer hc.CloseIdleConnections()
	for _, path := range []string{"", "app.js", "config.js"} {
		resp, err := hc.Get(ts.pageURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil {
			t.Fatalf("%s: %s, TLS %v", path, resp.Status, resp.TLS != nil)
		}
		if path == "config.js" && !strings.Contains(string(body), `"wsScheme":"wss://"`) {
			t.Errorf("config.js does not name wss://: %s", body)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.wsURL, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("dial %s: %v", ts.wsURL, err)
	}
	defer c.CloseNow()
	w := &wsClient{t: t, name: "tls", c: c}
	w.send(`{"type":"login","name":"tls"}`)
	if m := w.next(); !strings.Contains(m, `"user_list"`) {
		t.Fatalf("login answered %s", m)
	}
	w.next() // its login
	w.send(`{"type":"say","to_uid":"all","content":"over TLS"}`)
	if m := w.next(); !strings.Contains(m, `"content":"over TLS"`) {
		t.Fatalf("say answered %s", m)
	}
	for _, label := range []string{"CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 ", "CLIENT_HANDSHAKE_TRAFFIC_SECRET "} {
		if !strings.Contains(keys.String(), label) {
			t.Errorf("key log has no %s line:\n%s", label, keys.String())
		}
	}

	// A client that floods and never reads: shutdown still ends in time.
	flood, _, err := websocket.Dial(ctx, ts.wsURL, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer flood.CloseNow()
	flood.Write(ctx, websocket.MessageText, []byte(`{"type":"login","name":"flood"}`))
	big := `{"type":"say","to_uid":"all","content":"` + strings.Repeat("x", 60000) + `"}`
	for range 40 {
		if err := flood.Write(ctx, websocket.MessageText, []byte(big)); err != nil {
			break
		}
	}
	start := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %v over TLS", d)
	}
}

// writeCounter is a connection that records its writes.
type writeCounter struct {
	net.Conn
	writes [][]byte
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *writeCounter) SetWriteDeadline(time.Time) error { return nil }

// TestWriteBuffersJoinedOverTLS: a batch to a connection under TLS is
// one Write of the frames joined (a TLS write per batch, not per frame),
// in order; the join buffer is not kept past maxJoined.
func TestWriteBuffersJoinedOverTLS(t *testing.T) {
	w := &writeCounter{}
	c := &lockedConn{Conn: w, raw: &writeCounter{}}
	bufs := net.Buffers{[]byte("ab"), []byte("cd"), []byte("e")}
	if err := c.writeBuffers(&bufs, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 1 || string(w.writes[0]) != "abcde" || len(bufs) != 0 {
		t.Errorf("writes %q, left %q: want one write of abcde, nothing left", w.writes, bufs)
	}
	big := net.Buffers{make([]byte, maxJoined), []byte("x")}
	if err := c.writeBuffers(&big, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 2 || len(w.writes[1]) != maxJoined+1 || c.joined != nil {
		t.Errorf("%d writes, the last of %d bytes, join buffer kept %d: want 2, %d, none", len(w.writes), len(w.writes[len(w.writes)-1]), cap(c.joined), maxJoined+1)
	}
}
