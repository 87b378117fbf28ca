package bots

import (
	"bytes"
	"context"
	"crypto/tls"
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
	if n := strings.Count(keys.b.String(), "CLIENT_TRAFFIC_SECRET_0 "); n != 4 {
		t.Errorf("key log has %d CLIENT_TRAFFIC_SECRET_0 lines, want 4 (one per bot)", n)
	}

	err = Run(context.Background(), Options{URL: url, Clients: 1, Duration: 100 * time.Millisecond, TLS: &tls.Config{}}, &out)
	if err == nil || !strings.Contains(err.Error(), "--insecure") {
		t.Errorf("untrusted certificate: %v, want a hint at --insecure", err)
	}
}
