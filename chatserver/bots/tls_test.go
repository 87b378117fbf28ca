package bots

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/chatserver"
)

// lockedBuffer is a key log the bots' connections share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestLoadTLS: over wss:// the bots deliver every message, as over ws://,
// and their key log holds the secrets of each connection; without
// trusting the self-signed certificate they fail, saying what to do.
func TestLoadTLS(t *testing.T) {
	cfg, _, err := chatserver.SelfSignedTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	url, _ := startServer(t, chatserver.Options{Protocol: chat.ProtocolUID, TLS: cfg})
	var keys lockedBuffer
	var out bytes.Buffer
	err = Run(context.Background(), Options{
		URL: url, Protocol: chat.ProtocolUID, Clients: 4, Rate: 100, Duration: 500 * time.Millisecond,
		Load: true, JSON: true, Deflate: true, TLS: &tls.Config{InsecureSkipVerify: true, KeyLogWriter: &keys},
	}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	reps := stepReports(t, out.String())
	if len(reps) != 1 || reps[0].Sent == 0 || reps[0].Lost != 0 || reps[0].Delivered != reps[0].Expected {
		t.Fatalf("over TLS: %+v", reps)
	}
	keys.mu.Lock()
	n := strings.Count(keys.b.String(), "CLIENT_TRAFFIC_SECRET_0 ")
	keys.mu.Unlock()
	if n != 4 {
		t.Errorf("key log has %d CLIENT_TRAFFIC_SECRET_0 lines, want 4 (one per bot)", n)
	}

	for _, u := range []string{url, strings.Replace(url, "127.0.0.1", "localhost", 1)} {
		for _, cfg := range []*tls.Config{nil, {}} {
			err = Run(context.Background(), Options{URL: u, Clients: 2, Duration: 100 * time.Millisecond, TLS: cfg}, &out)
			if msg := fmt.Sprint(err); !strings.Contains(msg, "certificate not trusted") || !strings.Contains(msg, "--insecure") || strings.Contains(msg, "\n") {
				t.Errorf("%s, untrusted certificate: %v, want one line with a hint at --insecure", u, err)
			}
		}
	}
}

// TestTLSVerified: bots that trust the server's certificate (as the demo
// may, holding it) verify it and chat, offering HTTP/1.1 by ALPN; the
// Options' config is not changed.
func TestTLSVerified(t *testing.T) {
	srv, _, err := chatserver.SelfSignedTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(srv.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	url, _ := startServer(t, chatserver.Options{TLS: srv})
	var mu sync.Mutex
	var alpn []string
	cfg := &tls.Config{RootCAs: roots, VerifyConnection: func(cs tls.ConnectionState) error {
		mu.Lock()
		defer mu.Unlock()
		alpn = append(alpn, cs.NegotiatedProtocol)
		return nil
	}}
	var out bytes.Buffer
	err = Run(context.Background(), Options{URL: url, Clients: 3, Rate: 100, Duration: 300 * time.Millisecond,
		Load: true, JSON: true, TLS: cfg}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if reps := stepReports(t, out.String()); len(reps) != 1 || reps[0].Sent == 0 || reps[0].Delivered != reps[0].Expected {
		t.Errorf("verified TLS: %+v", reps)
	}
	if cfg.NextProtos != nil {
		t.Errorf("Run changed the caller's config: NextProtos %v", cfg.NextProtos)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(alpn) != 3 || alpn[0] != "http/1.1" {
		t.Errorf("ALPN of the connections %q, want http/1.1 for each of 3", alpn)
	}
}

// TestTLSWrongScheme: wss:// to a plain server and ws:// to a TLS one
// fail with a line that names the scheme to use.
func TestTLSWrongScheme(t *testing.T) {
	plain, _ := startServer(t, chatserver.Options{})
	cfg, _, err := chatserver.SelfSignedTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	secure, _ := startServer(t, chatserver.Options{TLS: cfg})
	for _, tc := range []struct{ url, want string }{
		{strings.Replace(plain, "ws://", "wss://", 1), "does not speak TLS: use ws://"},
		{strings.Replace(secure, "wss://", "ws://", 1), "use wss://"},
	} {
		var out bytes.Buffer
		err := Run(context.Background(), Options{URL: tc.url, Clients: 1, Duration: 100 * time.Millisecond,
			TLS: &tls.Config{InsecureSkipVerify: true}}, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.url, err, tc.want)
		}
	}
}
