package chatserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testServer is a server on 127.0.0.1 port 0, stopped by the test's cleanup.
type testServer struct {
	*Server
	wsURL   string
	pageURL string
	// client trusts the server's certificate when it speaks TLS (nil: plain).
	client *http.Client
	stop   func() error // cancels Serve and waits for it
}

func startServer(t testing.TB, opts Options) *testServer {
	t.Helper()
	opts.WSAddr = "127.0.0.1:0"
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	wsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pageLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, wsLn, pageLn) }()
	ws, web := "ws://", "http://"
	if opts.TLS != nil {
		ws, web = "wss://", "https://"
	}
	ts := &testServer{Server: s, wsURL: ws + wsLn.Addr().String() + "/", pageURL: web + pageLn.Addr().String() + "/"}
	if opts.TLS != nil {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPool(t, opts.TLS)}}
		t.Cleanup(tr.CloseIdleConnections)
		ts.client = &http.Client{Transport: tr}
	}
	stopped := false
	var serveErr error
	ts.stop = func() error {
		if stopped {
			return serveErr
		}
		stopped = true
		cancel()
		select {
		case serveErr = <-done:
		case <-time.After(10 * time.Second):
			serveErr = fmt.Errorf("Serve did not return 10 s after cancel")
		}
		return serveErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return ts
}

// testWriter sends the server's logs to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// wsClient is a coder/websocket test client.
type wsClient struct {
	t    testing.TB
	name string
	c    *websocket.Conn
}

func dial(t testing.TB, ts *testServer, name string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.wsURL, &websocket.DialOptions{HTTPClient: ts.client})
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, name: name, c: c}
}

func (w *wsClient) send(s string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		w.t.Fatalf("%s: send %s: %v", w.name, s, err)
	}
}

// next returns the next message, failing the test after 5 s.
func (w *wsClient) next() string {
	w.t.Helper()
	s, err := w.read(5 * time.Second)
	if err != nil {
		w.t.Fatalf("%s: read: %v", w.name, err)
	}
	return s
}

func (w *wsClient) read(timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	return string(b), err
}

// expect reads the next message and compares it, time fields masked.
func (w *wsClient) expect(want string) {
	w.t.Helper()
	got := maskTime(w.next())
	if got != want {
		w.t.Fatalf("%s got\n  %s\nwant\n  %s", w.name, got, want)
	}
}

var timeField = regexp.MustCompile(`"time":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"`)

// maskTime replaces every "time" value with T, after checking its layout.
func maskTime(s string) string { return timeField.ReplaceAllString(s, `"time":"T"`) }

// rawConn is a WebSocket client written by hand, to send what a well-
// behaved library will not (unmasked frames) and to see frame bits.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

func dialRaw(t testing.TB, ts *testServer, extensions string) *rawConn {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(ts.wsURL, "ws://"), "/")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\n" +
		"Origin: http://127.0.0.1:55151\r\n"
	if extensions != "" {
		req += "Sec-WebSocket-Extensions: " + extensions + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return &rawConn{t: t, conn: conn, br: br, resp: resp}
}

// writeFrame writes one FIN frame; masked unless mask is false.
func (r *rawConn) writeFrame(opcode byte, rsv1, mask bool, payload []byte) {
	r.t.Helper()
	b0 := 0x80 | opcode
	if rsv1 {
		b0 |= 0x40
	}
	var hdr []byte
	var mbit byte
	if mask {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		hdr = []byte{b0, mbit | byte(n)}
	case n <= 0xffff:
		hdr = binary.BigEndian.AppendUint16([]byte{b0, mbit | 126}, uint16(n))
	default:
		hdr = binary.BigEndian.AppendUint64([]byte{b0, mbit | 127}, uint64(n))
	}
	p := append([]byte(nil), payload...)
	if mask {
		key := []byte{0x12, 0x34, 0x56, 0x78}
		hdr = append(hdr, key...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	if _, err := r.conn.Write(append(hdr, p...)); err != nil {
		r.t.Fatalf("write frame: %v", err)
	}
}

type rawFrame struct {
	fin, rsv1 bool
	opcode    byte
	payload   []byte
}

// readFrame reads one server frame (which must be unmasked).
func (r *rawConn) readFrame(timeout time.Duration) (rawFrame, error) {
	r.conn.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return rawFrame{}, err
	}
	if h[1]&0x80 != 0 {
		return rawFrame{}, fmt.Errorf("server frame is masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return rawFrame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return rawFrame{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<24 {
		return rawFrame{}, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r.br, p); err != nil {
		return rawFrame{}, err
	}
	return rawFrame{fin: h[0]&0x80 != 0, rsv1: h[0]&0x40 != 0, opcode: h[0] & 0x0f, payload: p}, nil
}

// readClose reads frames until a close frame and returns its status code.
func (r *rawConn) readClose() int {
	r.t.Helper()
	for {
		f, err := r.readFrame(5 * time.Second)
		if err != nil {
			r.t.Fatalf("waiting for a close frame: %v", err)
		}
		if f.opcode == 0x8 {
			if len(f.payload) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(f.payload))
		}
	}
}

// decodeJSON is a helper for tests that look inside a message.
func decodeJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}
