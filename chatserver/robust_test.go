package chatserver

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/coder/websocket"
)

func TestOversizedMessageCloses1009(t *testing.T) {
	ts := startServer(t, Options{MaxMessage: 1024})
	c := dial(t, ts, "big")
	c.send(`{"type":"login","name":"` + strings.Repeat("x", 2000) + `"}`)
	_, err := c.read(5 * time.Second)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status %d (%v), want 1009", got, err)
	}
}

// TestUnmaskedClientFrameRefused: RFC 6455 5.1 has the server close the
// connection on an unmasked client frame, as workerman does;
// coder/websocket closes the TCP connection without a close frame (which
// the RFC makes optional). The login it carried must not be obeyed.
func TestUnmaskedClientFrameRefused(t *testing.T) {
	ts := startServer(t, Options{})
	r := dialRaw(t, ts, "")
	r.writeFrame(0x1, false, false, []byte(`{"type":"login","name":"raw"}`))
	for {
		f, err := r.readFrame(5 * time.Second)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		if err != nil {
			t.Fatalf("want the connection closed, got %v", err)
		}
		if f.opcode != 0x8 {
			t.Fatalf("server answered an unmasked frame with %q", f.payload)
		}
	}
}

func TestClientPingGetsPong(t *testing.T) {
	ts := startServer(t, Options{})
	r := dialRaw(t, ts, "")
	r.writeFrame(0x9, false, true, []byte("abc"))
	f, err := r.readFrame(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if f.opcode != 0xA || string(f.payload) != "abc" {
		t.Fatalf("got opcode %#x payload %q, want a pong with abc", f.opcode, f.payload)
	}
}

// TestDeflateAsBrowsersOfferIt negotiates permessage-deflate the way
// Chromium and Firefox offer it, sends a compressed login, and checks that
// the server's messages come back compressed (RSV1) and inflate to the
// expected JSON.
func TestDeflateAsBrowsersOfferIt(t *testing.T) {
	ts := startServer(t, Options{Protocol: chat.ProtocolUID})
	r := dialRaw(t, ts, "permessage-deflate; client_max_window_bits")
	ext := r.resp.Header.Get("Sec-WebSocket-Extensions")
	if !strings.HasPrefix(ext, "permessage-deflate") || !strings.Contains(ext, "server_no_context_takeover") {
		t.Fatalf("Sec-WebSocket-Extensions %q: want permessage-deflate with server_no_context_takeover", ext)
	}
	// A repetitive name, so that both replies are worth compressing.
	name := strings.Repeat("mynick ", 8)
	r.writeFrame(0x1, true, true, deflateMessage(t, []byte(`{"type":"login","name":"`+name+`"}`)))
	var got []string
	compressed := 0
	for len(got) < 2 {
		f, err := r.readFrame(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		p := f.payload
		if f.rsv1 {
			compressed++
			p = inflateMessage(t, p)
		}
		got = append(got, maskTime(string(p)))
	}
	if compressed != 2 {
		t.Errorf("%d of 2 server messages compressed", compressed)
	}
	want := []string{
		`{"type":"user_list","user_list":[{"uid":1,"name":"` + name + `"}]}`,
		`{"type":"login","uid":1,"name":"` + name + `","time":"T"}`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %s, want %s", i, got[i], want[i])
		}
	}
	if n := ts.Stats().Deflate; n != 1 {
		t.Errorf("Stats().Deflate = %d, want 1", n)
	}
}

func TestNoDeflate(t *testing.T) {
	ts := startServer(t, Options{NoDeflate: true})
	r := dialRaw(t, ts, "permessage-deflate; client_max_window_bits")
	if ext := r.resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("--no-deflate still negotiated %q", ext)
	}
}

func deflateMessage(t testing.TB, p []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), deflateTail)
}

func inflateMessage(t testing.TB, p []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(io.LimitReader(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail))), 1<<20))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

// TestSlowReaderDropped: a client that never reads fills its bounded queue
// and is dropped, while a reading client gets every message in order.
func TestSlowReaderDropped(t *testing.T) {
	ts := startServer(t, Options{Protocol: chat.ProtocolUID, QueueMessages: 64, SendBuffer: 4096})
	stalled := dialRaw(t, ts, "")
	stalled.writeFrame(0x1, false, true, []byte(`{"type":"login","name":"stalled"}`))
	// The stalled client's kernel receive buffer is made small too, so that
	// the test fills it quickly.
	fast := dial(t, ts, "fast")
	fast.send(`{"type":"login","name":"fast"}`)
	fast.next() // user_list
	for {
		if m := fast.next(); strings.Contains(m, `"name":"fast"`) {
			break
		}
	}
	// The flood is paced by what fast has read (a window of 32), so fast
	// itself keeps up while the stalled client's queue overflows.
	const n = 3000
	pad := strings.Repeat("p", 500)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	credits := make(chan struct{}, 32)
	for range cap(credits) {
		credits <- struct{}{}
	}
	go func() {
		for i := 0; i < n; i++ {
			select {
			case <-credits:
			case <-ctx.Done():
				return
			}
			if err := fast.c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"say","to_uid":"all","content":"%d %s"}`, i, pad)); err != nil {
				return
			}
		}
	}()
	next := 0
	for next < n {
		m := fast.next()
		if !strings.Contains(m, `"type":"say"`) {
			continue
		}
		want := fmt.Sprintf(`"content":"%d `, next)
		if !strings.Contains(m, want) {
			t.Fatalf("message out of order: want %s in %.80s", want, m)
		}
		next++
		credits <- struct{}{}
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.Stats().Dropped != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stalled client not dropped: %+v", ts.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShutdownSends1001(t *testing.T) {
	ts := startServer(t, Options{Protocol: chat.ProtocolRoom, PingInterval: -1})
	a := dial(t, ts, "a")
	r := dialRaw(t, ts, "")
	loginRoom(t, a, `{"type":"login","client_name":"a","room_id":1}`)
	errc := make(chan error, 1)
	go func() {
		_, err := a.read(10 * time.Second)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the raw client be accepted
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	if got := r.readClose(); got != 1001 {
		t.Errorf("raw client: close status %d, want 1001", got)
	}
	r.writeFrame(0x8, false, true, []byte{0x03, 0xe9})
	if got := websocket.CloseStatus(<-errc); got != websocket.StatusGoingAway {
		t.Errorf("coder client: close status %d, want 1001", got)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if n := ts.Stats().Connected; n != 0 {
		t.Errorf("%d connections left after shutdown", n)
	}
}

// TestShutdownCutsClientsThatDoNotRead: a client that never reads, its
// writer blocked on a full socket, holds a shutdown no longer than
// ShutdownTimeout (coder/websocket alone gives its close 5 s to be written
// and 5 s more to be answered); a reading client still gets its 1001.
func TestShutdownCutsClientsThatDoNotRead(t *testing.T) {
	const grace = 300 * time.Millisecond
	ts := startServer(t, Options{Protocol: chat.ProtocolUID, QueueMessages: 1 << 20, QueueBytes: 1 << 30, SendBuffer: 4096, ShutdownTimeout: grace})
	fast := dial(t, ts, "fast")
	fast.send(`{"type":"login","name":"fast"}`)
	stalled := dialRaw(t, ts, "")
	if err := stalled.conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	stalled.writeFrame(0x1, false, true, []byte(`{"type":"login","name":"stalled"}`))
	for {
		if m := fast.next(); strings.Contains(m, `"name":"stalled"`) {
			break
		}
	}
	// The flood is paced by what fast has read, and runs until the
	// stalled client's socket buffers (a few KB each way) are long full.
	const want = 1 << 20
	pad := strings.Repeat("p", 500)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	credits := make(chan struct{}, 32)
	for range cap(credits) {
		credits <- struct{}{}
	}
	go func() {
		for {
			select {
			case <-credits:
			case <-ctx.Done():
				return
			}
			if fast.c.Write(ctx, websocket.MessageText, []byte(`{"type":"say","to_uid":"all","content":"`+pad+`"}`)) != nil {
				return
			}
		}
	}()
	for got := 0; got < want; {
		m := fast.next()
		got += len(m)
		credits <- struct{}{}
	}
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	for {
		_, err := fast.read(5 * time.Second)
		if err == nil {
			continue
		}
		if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
			t.Errorf("fast: %v, want a 1001 close", err)
		}
		break
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > grace+500*time.Millisecond {
		t.Errorf("shutdown took %v with ShutdownTimeout %v", took, grace)
	}
	if n := ts.Stats().Connected; n != 0 {
		t.Errorf("%d connections left after shutdown", n)
	}
}

// TestEarlyBytesAfterHandshake: a client may send its first frame in the
// same packet as its handshake; those bytes, read by net/http before the
// upgrade, must reach the WebSocket reader first.
func TestEarlyBytesAfterHandshake(t *testing.T) {
	ts := startServer(t, Options{Protocol: chat.ProtocolUID})
	addr := strings.TrimSuffix(strings.TrimPrefix(ts.wsURL, "ws://"), "/")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := &rawConn{t: t, conn: conn}
	var frame bytes.Buffer
	r.conn = writerConn{conn, &frame}
	r.writeFrame(0x1, false, true, []byte(`{"type":"login","name":"early"}`))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), frame.Bytes()...)); err != nil {
		t.Fatal(err)
	}
	r.conn = conn
	r.br = bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	f, err := r.readFrame(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.payload), `{"type":"user_list","user_list":[{"uid":1,"name":"early"}]}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// writerConn diverts a rawConn's writes into a buffer.
type writerConn struct {
	net.Conn
	w io.Writer
}

func (c writerConn) Write(p []byte) (int, error) { return c.w.Write(p) }
