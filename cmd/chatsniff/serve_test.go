package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// exitBound is how soon `chatsniff serve` must exit after SIGTERM or
// SIGINT, in every state (issue 12), measured from the signal to the
// process's exit.
const exitBound = time.Second

// TestServeExitsAfterFlood puts the server in the state that used to hold
// its exit for 5 s and more: a client floods says without ever reading,
// another never reads at all, while two clients read (one answers the
// close handshake, one does not). Then SIGTERM.
func TestServeExitsAfterFlood(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		// The defaults drop the clients that do not read once their queues
		// fill: SIGTERM comes right after.
		{"defaults", nil},
		// Queues that never fill: the non-readers' writers are blocked on
		// full sockets when SIGTERM comes.
		{"unbounded queues", []string{"--queue", "100000000", "--queue-bytes", "2000000000"}},
		// The same over TLS: a write blocked on a full socket holds the
		// TLS connection's lock, and its Close would send a close_notify.
		{"tls", []string{"--tls"}},
		{"tls unbounded queues", []string{"--tls", "--queue", "100000000", "--queue-bytes", "2000000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startServe(t, tc.args...)
			flood(t, p)
		})
	}
}

// flood runs the flood against p, signals it and checks how it went.
func flood(t *testing.T, p *serveProc) {
	// reader reads and answers the close; it logs in first and sees the
	// others' logins, so that every broadcast after reaches all four.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	reader, _, err := websocket.Dial(ctx, p.scheme+p.ws+"/", p.dialOptions())
	cancel()
	if err != nil {
		t.Fatalf("reader: dial: %v", err)
	}
	defer reader.CloseNow()
	reader.SetReadLimit(-1)
	if err := reader.Write(context.Background(), websocket.MessageText, []byte(`{"type":"login","name":"reader"}`)); err != nil {
		t.Fatalf("reader: login: %v", err)
	}
	// Logged in before the others, so that it sees their logins.
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := reader.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("reader: waiting for its user list: %v", err)
		}
		if strings.Contains(string(b), `"type":"user_list"`) {
			break
		}
	}
	raw := p.dialRawWS(t, 0)
	raw.send(t, `{"type":"login","name":"raw"}`)
	stalled := p.dialRawWS(t, 4096)
	stalled.send(t, `{"type":"login","name":"stalled"}`)
	flooder := p.dialRawWS(t, 4096)
	flooder.send(t, `{"type":"login","name":"flooder"}`)
	for seen := map[string]bool{}; len(seen) < 3; {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := reader.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("reader: waiting for the others' logins: %v", err)
		}
		for _, name := range []string{"raw", "stalled", "flooder"} {
			if strings.Contains(string(b), `"type":"login"`) && strings.Contains(string(b), `"name":"`+name+`"`) {
				seen[name] = true
			}
		}
	}

	// The flood is paced by what reader has read (a window of 64), so
	// that the readers keep up, and runs until well past what the
	// non-readers' socket buffers hold (256 KB of the server's send
	// buffer, 4 KB of their receive buffers, each doubled by the kernel),
	// or until the server drops the flooder, its queue full.
	const (
		window     = 64
		floodBytes = 4 << 20
	)
	credits := make(chan struct{}, window)
	for range window {
		credits <- struct{}{}
	}
	flooded := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		var got int
		for {
			_, b, err := reader.Read(context.Background())
			if err != nil {
				readerDone <- err
				return
			}
			if !strings.Contains(string(b), `"type":"say"`) {
				continue
			}
			if got < floodBytes && got+len(b) >= floodBytes {
				close(flooded)
			}
			got += len(b)
			select {
			case credits <- struct{}{}:
			default:
			}
		}
	}()
	rawDone := make(chan error, 1)
	go func() { rawDone <- raw.readUntilClose() }()
	stopFlood := make(chan struct{})
	defer close(stopFlood)
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		say := []byte(`{"type":"say","to_uid":"all","content":"` + strings.Repeat("f", 1000) + `"}`)
		// Once the server drops the flooder, its says in flight are lost
		// and their credits never come back: the server's log says so.
		me := flooder.conn.LocalAddr().String()
		for {
			select {
			case <-credits:
			case remote := <-p.drops:
				if remote == me {
					return
				}
				continue
			case <-stopFlood:
				return
			}
			if err := flooder.write(say); err != nil {
				return
			}
		}
	}()
	select {
	case <-flooded:
		t.Logf("reader got %d bytes of says", floodBytes)
	case <-dropped:
		t.Log("the flooder was dropped")
	case err := <-readerDone:
		t.Fatalf("reader stopped before the flood was done: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatalf("reader did not get %d bytes of says in 60 s", floodBytes)
	}

	p.signal(t, syscall.SIGTERM)
	for _, r := range []struct {
		name string
		done chan error
	}{{"reader", readerDone}, {"raw reader", rawDone}} {
		select {
		case err := <-r.done:
			t.Logf("%s: %v", r.name, err)
			if !closedGoingAway(err) {
				t.Errorf("%s: got %v, want a 1001 close or EOF", r.name, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: still connected 5 s after the server exited", r.name)
		}
	}
}

// TestServeExitsOnSIGINTIdle: Ctrl-C with nobody connected.
func TestServeExitsOnSIGINTIdle(t *testing.T) {
	p := startServe(t)
	p.signal(t, syscall.SIGINT)
}

// TestServeExitsMidHandshake: connections that have sent nothing, or half
// a request, to either listener, and a WebSocket client that did its
// handshake and nothing else. http.Server.Shutdown counts a new
// connection as busy for 5 s, which held the exit for the whole shutdown
// timeout. With --tls, half a request is half a ClientHello, or a TLS
// handshake done and half a request over it.
func TestServeExitsMidHandshake(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{{"plain", nil}, {"tls", []string{"--tls"}}} {
		t.Run(tc.name, func(t *testing.T) { exitMidHandshake(t, tc.args...) })
	}
}

func exitMidHandshake(t *testing.T, args ...string) {
	p := startServe(t, args...)
	useTLS := p.scheme == "wss://"
	var half []net.Conn
	for _, addr := range []string{p.ws, p.page} {
		sends := []string{"", "GET / HTTP/1.1\r\nHost: " + addr + "\r\n"}
		if useTLS {
			// A TLS record header announcing a ClientHello that never comes.
			sends = append(sends, "\x16\x03\x01\x02\x00\x01")
		}
		for i, sent := range sends {
			tcp, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tcp.Close() })
			c := tcp
			if useTLS && i == 1 {
				tc := tls.Client(tcp, &tls.Config{InsecureSkipVerify: true})
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				tc.SetDeadline(time.Time{})
				c = tc
			}
			if _, err := io.WriteString(c, sent); err != nil {
				t.Fatal(err)
			}
			half = append(half, c)
		}
	}
	// A listener accepts in order: once these later connections are
	// answered, the half-made ones above have been accepted, and the
	// servers hold them.
	ws := p.dialRawWS(t, 0)
	web := &http.Client{Timeout: 10 * time.Second}
	if useTLS {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		defer tr.CloseIdleConnections()
		web.Transport = tr
	}
	resp, err := web.Get(strings.Replace(p.scheme, "ws", "http", 1) + p.page + "/")
	if err != nil {
		t.Fatalf("page: %v", err)
	}
	resp.Body.Close()

	p.signal(t, syscall.SIGTERM)
	if err := ws.readUntilClose(); !closedGoingAway(err) {
		t.Errorf("websocket client: got %v, want a 1001 close or EOF", err)
	}
	for i, c := range half {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("half-made connection %d: %v, want EOF", i, err)
		}
	}
}

// closedGoingAway tells whether a reader's last error is the server's 1001
// close, or the connection ending.
func closedGoingAway(err error) bool {
	return websocket.CloseStatus(err) == websocket.StatusGoingAway ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// serveProc is `chatsniff serve` running as a process of its own, the test
// binary's copy of the real main that TestMain puts on PATH.
type serveProc struct {
	cmd      *exec.Cmd
	ws, page string // the listeners' host:port
	// scheme is "ws://", or "wss://" for serve --tls, whose clients
	// trust its self-signed certificate without checking it.
	scheme string

	exited chan struct{} // closed once the process has exited
	exitAt time.Time
	state  *os.ProcessState

	mu   sync.Mutex
	logs []string
	// drops has the remote address of each client the server dropped.
	drops chan string
}

// dialOptions are the WebSocket client's options for p: over TLS, the
// server's self-signed certificate is taken unchecked.
func (p *serveProc) dialOptions() *websocket.DialOptions {
	if p.scheme != "wss://" {
		return nil
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	return &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
}

// startServe starts the server on free 127.0.0.1 ports, with args added,
// and returns once it listens. The test's cleanup kills it if it is still
// running and logs its stderr if the test failed.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	bin, err := exec.LookPath("chatsniff")
	if err != nil || !strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(bin))), "testscript-main") {
		t.Fatalf("chatsniff on PATH is %q (%v), not the copy of this test binary that TestMain installs", bin, err)
	}
	p := &serveProc{exited: make(chan struct{}), drops: make(chan string, 16)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--ws", "127.0.0.1:0", "--http", "127.0.0.1:0", "--log-json"}, args...)...)
	// A race-detector build sleeps 1 s before it exits
	// (GORACE=atexit_sleep_ms, default 1000), which is no time of the server's.
	p.cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// An *os.File is handed to the process as it is: Wait returns when
	// the process exits, not when its stderr has been read.
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		p.cmd.Wait()
		p.exitAt = time.Now()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	addrs := make(chan [2]string, 1)
	logsDone := make(chan struct{})
	go func() {
		// Read to the end: a server whose stderr is not read blocks.
		defer close(logsDone)
		defer pr.Close()
		var ws, page string
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs = append(p.logs, line)
			p.mu.Unlock()
			var rec struct{ Msg, URL, Remote string }
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			switch rec.Msg {
			case "client dropped":
				select {
				case p.drops <- rec.Remote:
				default:
				}
			case "websocket":
				scheme, rest, _ := strings.Cut(rec.URL, "//")
				p.scheme = scheme + "//"
				ws = strings.TrimSuffix(rest, "/")
			case "web page":
				_, rest, _ := strings.Cut(rec.URL, "//")
				page = strings.TrimSuffix(rest, "/")
			}
			if ws != "" && page != "" {
				addrs <- [2]string{ws, page}
				ws, page = "", ""
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		<-logsDone
		if t.Failed() {
			p.mu.Lock()
			t.Logf("server stderr:\n%s", strings.Join(p.logs, "\n"))
			p.mu.Unlock()
		}
	})
	select {
	case a := <-addrs:
		p.ws, p.page = a[0], a[1]
	case <-p.exited:
		t.Fatalf("server exited at start: %v", p.state)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not log its addresses in 30 s")
	}
	return p
}

// signal sends sig and checks that the server exits within exitBound,
// with status 0, its listeners closed. A server still running after 10 s
// gets SIGQUIT, whose goroutine dump shows in the log.
func (p *serveProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Signal(syscall.SIGQUIT)
		<-p.exited
		t.Fatalf("server still running 10 s after %v", sig)
	}
	took := p.exitAt.Sub(sent)
	t.Logf("exit %v after %v", took.Round(time.Millisecond), sig)
	if took > exitBound {
		t.Errorf("server exited %v after %v, want within %v", took.Round(time.Millisecond), sig, exitBound)
	}
	if code := p.state.ExitCode(); code != 0 {
		t.Errorf("exit status %d (%v), want 0", code, p.state)
	}
	for _, addr := range []string{p.ws, p.page} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections", addr)
		}
	}
}

// rawWS is a WebSocket client written by hand: it can stop reading, and
// leave the server's close unanswered, as a well-behaved library will not.
type rawWS struct {
	conn net.Conn
	br   *bufio.Reader
}

// dialRawWS does the handshake with the server at addr. A positive rcvbuf
// shrinks the client's socket receive buffer, so that a client that does
// not read fills it soon.
func (p *serveProc) dialRawWS(t *testing.T, rcvbuf int) *rawWS {
	t.Helper()
	addr := p.ws
	tcp, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	if rcvbuf > 0 {
		if err := tcp.(*net.TCPConn).SetReadBuffer(rcvbuf); err != nil {
			t.Fatal(err)
		}
	}
	conn := tcp
	if p.scheme == "wss://" {
		conn = tls.Client(tcp, &tls.Config{InsecureSkipVerify: true})
	}
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	conn.SetReadDeadline(time.Time{})
	return &rawWS{conn: conn, br: br}
}

func (r *rawWS) send(t *testing.T, msg string) {
	t.Helper()
	if err := r.write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// write sends payload as one masked text frame.
func (r *rawWS) write(payload []byte) error {
	var hdr []byte
	switch n := len(payload); {
	case n <= 125:
		hdr = []byte{0x81, 0x80 | byte(n)}
	case n <= 0xffff:
		hdr = binary.BigEndian.AppendUint16([]byte{0x81, 0x80 | 126}, uint16(n))
	default:
		hdr = binary.BigEndian.AppendUint64([]byte{0x81, 0x80 | 127}, uint64(n))
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	b := append(hdr, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	r.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := r.conn.Write(b)
	return err
}

// readUntilClose reads frames until a close frame, which it returns as a
// websocket.CloseError, or until the connection ends.
func (r *rawWS) readUntilClose() error {
	for {
		r.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		var h [2]byte
		if _, err := io.ReadFull(r.br, h[:]); err != nil {
			return err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(r.br, b[:]); err != nil {
				return err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(r.br, b[:]); err != nil {
				return err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 1<<24 {
			return fmt.Errorf("frame of %d bytes", n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r.br, p); err != nil {
			return err
		}
		if h[0]&0x0f == 0x8 {
			if len(p) < 2 {
				return websocket.CloseError{Code: websocket.StatusNoStatusRcvd}
			}
			return websocket.CloseError{Code: websocket.StatusCode(binary.BigEndian.Uint16(p)), Reason: string(p[2:])}
		}
	}
}
