package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fingerprintConfig trusts the one certificate whose SHA-256 fingerprint
// serve --tls logged, as a user comparing it with the browser's would.
func fingerprintConfig(t *testing.T, p *serveProc) *tls.Config {
	t.Helper()
	var fp string
	p.mu.Lock()
	for _, line := range p.logs {
		var rec struct{ Msg, SHA256 string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "self-signed certificate" {
			fp = rec.SHA256
		}
	}
	p.mu.Unlock()
	if len(fp) != 32*3-1 {
		t.Fatalf("no SHA-256 fingerprint logged (%q)", fp)
	}
	want := strings.ReplaceAll(fp, ":", "")
	return &tls.Config{
		// Verification is the fingerprint's, below.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if got := strings.ToUpper(hex.EncodeToString(sum[:])); got != want {
				return fmt.Errorf("certificate fingerprint %s, logged %s", got, want)
			}
			return nil
		},
	}
}

// TestServeTLSChat: serve --tls --keylog serves the page over https (its
// config naming wss://) with the certificate whose fingerprint it logged;
// a Go TLS client logs in and chats over wss://; the key log (mode 0600)
// holds the TLS 1.3 secrets; SIGTERM still ends it within a second.
func TestServeTLSChat(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys.log")
	p := startServe(t, "--tls", "--keylog", keys)
	if p.scheme != "wss://" {
		t.Fatalf("websocket scheme %q, want wss://", p.scheme)
	}
	cfg := fingerprintConfig(t, p)
	// Offered h2 as well, as browsers do, the server picks http/1.1.
	pageCfg := cfg.Clone()
	pageCfg.NextProtos = []string{"h2", "http/1.1"}
	tr := &http.Transport{TLSClientConfig: pageCfg}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for path, want := range map[string]string{"/": "config.js", "/config.js": `"wsScheme":"wss://"`} {
		resp, err := hc.Get("https://" + p.page + path)
		if err != nil {
			t.Fatalf("page %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(want)) {
			t.Errorf("page %s: %s, want %s in:\n%s", path, resp.Status, want, body)
		}
		if resp.TLS == nil || resp.TLS.NegotiatedProtocol != "http/1.1" {
			t.Errorf("page %s: TLS state %+v, want ALPN http/1.1", path, resp.TLS)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "wss://"+p.ws+"/", &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}})
	if err != nil {
		t.Fatalf("dial wss://%s/: %v", p.ws, err)
	}
	defer c.CloseNow()
	next := func(want string) {
		t.Helper()
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			if strings.Contains(string(b), want) {
				return
			}
		}
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"login","name":"tls"}`)); err != nil {
		t.Fatal(err)
	}
	next(`"type":"user_list"`)
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"say","to_uid":"all","content":"over wss"}`)); err != nil {
		t.Fatal(err)
	}
	next(`"content":"over wss"`)

	fi, err := os.Stat(keys)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("key log mode %v, want 0600", m)
	}
	b, _ := os.ReadFile(keys)
	// Three connections so far: two page fetches may share one.
	if n := strings.Count(string(b), "CLIENT_TRAFFIC_SECRET_0 "); n < 2 {
		t.Errorf("key log has %d CLIENT_TRAFFIC_SECRET_0 lines, want one per connection:\n%s", n, b)
	}
	c.Close(websocket.StatusNormalClosure, "")
	p.signal(t, syscall.SIGTERM)
}

// runChatsniff runs the copy of chatsniff on PATH with args and env added,
// and returns its stderr and exit status.
func runChatsniff(t *testing.T, env []string, args ...string) (stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chatsniff", args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("chatsniff %s: %v", strings.Join(args, " "), err)
	}
	return errb.String(), code
}

// oneLine checks that a failed command said one line holding want.
func oneLine(t *testing.T, args []string, stderr string, code int, want ...string) {
	t.Helper()
	msg := strings.TrimSuffix(stderr, "\n")
	if code == 0 || strings.Contains(msg, "\n") {
		t.Errorf("chatsniff %s: status %d, stderr %q: want a failure in one line", strings.Join(args, " "), code, stderr)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("chatsniff %s: %q does not say %q", strings.Join(args, " "), msg, w)
		}
	}
}

// TestServeTLSFlagErrors: a missing or bad --cert/--key file, one without
// the other, --keylog without --tls: a one-line error, naming the file.
func TestServeTLSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--tls", "--cert", missing, "--key", bad}, []string{missing}},
		{[]string{"--tls", "--cert", bad, "--key", bad}, []string{bad, "certificate"}},
		{[]string{"--tls", "--cert", bad}, []string{"--cert and --key"}},
		{[]string{"--cert", bad, "--key", bad}, []string{"--tls"}},
		{[]string{"--keylog", filepath.Join(dir, "keys.log")}, []string{"--keylog needs --tls"}},
	} {
		args := append([]string{"serve", "--ws", "127.0.0.1:0", "--http", "-"}, tc.args...)
		stderr, code := runChatsniff(t, nil, args...)
		oneLine(t, args, stderr, code, tc.want...)
	}
}

// TestBotsTLS: bots against serve --tls fail without --insecure, in one
// line saying so; with it (and SSLKEYLOGFILE) they deliver every message
// and write their key log.
func TestBotsTLS(t *testing.T) {
	p := startServe(t, "--tls")
	url := "wss://" + p.ws + "/"
	args := []string{"bots", "-n", "2", "--duration", "200ms", url}
	stderr, code := runChatsniff(t, nil, args...)
	oneLine(t, args, stderr, code, "certificate not trusted", "--insecure")

	keys := filepath.Join(t.TempDir(), "bots.keys")
	args = []string{"bots", "--insecure", "--load", "--json", "-n", "3", "--rate", "100", "--duration", "500ms", url}
	cmd := exec.Command("chatsniff", args...)
	cmd.Env = append(os.Environ(), "SSLKEYLOGFILE="+keys)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chatsniff %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var rep struct{ Sent, Expected, Delivered, Lost uint64 }
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "{") {
			if err := json.Unmarshal([]byte(line), &rep); err != nil {
				t.Fatalf("report %s: %v", line, err)
			}
		}
	}
	if rep.Sent == 0 || rep.Lost != 0 || rep.Delivered != rep.Expected {
		t.Errorf("bots over wss://: %+v\n%s", rep, out)
	}
	b, err := os.ReadFile(keys)
	if err != nil {
		t.Fatalf("SSLKEYLOGFILE: %v", err)
	}
	if n := strings.Count(string(b), "CLIENT_TRAFFIC_SECRET_0 "); n != 3 {
		t.Errorf("bots' key log has %d CLIENT_TRAFFIC_SECRET_0 lines, want 3:\n%s", n, b)
	}
	p.signal(t, syscall.SIGTERM)
}
