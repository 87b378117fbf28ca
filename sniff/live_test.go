package sniff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/chatserver"
	"github.com/chatsniff/chatsniff/chatserver/bots"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/internal/browsertest"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

// These tests capture live on loopback while the bundled server, its bots,
// a Go client and headless Chromium chat through it, and compare what the
// sniffer decoded with what the clients sent and received. They need root
// (CI runs as root) and skip otherwise.

// liveLatency is the longest a message may wait between the capture time
// of its last packet and its being handed to the output and flushed (the
// ring hands over a block after at most capture.DefaultTimeout, 50 ms),
// scaled under the race detector.
const liveLatency = raceSlowdown * 100 * time.Millisecond

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (CI runs as root)")
	}
}

// toolPath finds a program the test needs; in CI (CI=true) its absence
// fails the test, since the test command installs it.
func toolPath(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed: the test command installs it", names[0])
	}
	t.Skipf("%s not installed", names[0])
	return ""
}

// chatServer is the bundled server on 127.0.0.1, port 0.
type chatServer struct {
	srv     *chatserver.Server
	wsURL   string
	pageURL string
	port    uint16
}

func startChatServer(t *testing.T, opts chatserver.Options) *chatServer {
	t.Helper()
	wsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pageLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.WSAddr = wsLn.Addr().String()
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := chatserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, wsLn, pageLn) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("server did not stop 10 s after cancel")
		}
	})
	return &chatServer{srv: srv, wsURL: "ws://" + opts.WSAddr + "/", pageURL: "http://" + pageLn.Addr().String() + "/",
		port: uint16(wsLn.Addr().(*net.TCPAddr).Port)}
}

// printed is one event as the output got it, with when it was flushed.
type printed struct {
	ev      decode.Event
	flushed time.Time
}

// recorder is an Output that keeps every event and the time of the flush
// that follows it: in live mode that is when a user would see it.
type recorder struct {
	mu      sync.Mutex
	events  []printed
	pending int // events[pending:] wait for a flush
}

func (r *recorder) Event(e *decode.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, printed{ev: cloneEvent(e)})
}

func (r *recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for i := r.pending; i < len(r.events); i++ {
		r.events[i].flushed = now
	}
	r.pending = len(r.events)
	return nil
}

// waitQuiet returns once no event has come for quiet, or after limit.
func (r *recorder) waitQuiet(quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, since := -1, time.Now()
	for time.Now().Before(deadline) {
		r.mu.Lock()
		n := len(r.events)
		r.mu.Unlock()
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *recorder) snapshot() []printed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// liveCapture runs the pipeline on a live interface until stop.
type liveCapture struct {
	rec    *recorder
	cancel context.CancelFunc
	done   chan struct{}
	sum    Summary
	err    error
}

func startCapture(t *testing.T, iface string, port uint16) *liveCapture {
	t.Helper()
	src, err := capture.OpenLive(capture.LiveOptions{Interface: iface, Ports: []uint16{port}})
	if err != nil {
		t.Fatalf("open %s: %v", iface, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &liveCapture{rec: &recorder{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer src.Close()
		c.sum, c.err = Run(ctx, src, Options{Ports: []uint16{port}, Live: true}, c.rec)
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop ends the capture and returns its summary.
func (c *liveCapture) stop(t *testing.T) Summary {
	t.Helper()
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("capture did not stop 5 s after cancel")
	}
	if c.err != nil {
		t.Errorf("capture: %v", c.err)
	}
	return c.sum
}

// waitFor polls cond every 20 ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// goClient is a chat user on a Go WebSocket connection that records what
// it sent and received, byte for byte, and knows its own address to find
// its connection in the capture.
type goClient struct {
	conn  *websocket.Conn
	local string // its address, as the decoder prints it
	mu    sync.Mutex
	sent  []string
	recv  []string
	done  chan struct{}
}

func dialClient(t *testing.T, url string, deflate bool) *goClient {
	t.Helper()
	c := &goClient{done: make(chan struct{})}
	var mu sync.Mutex
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err == nil {
			mu.Lock()
			c.local = nc.LocalAddr().String()
			mu.Unlock()
		}
		return nc, err
	}}
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}, CompressionMode: websocket.CompressionDisabled}
	if deflate {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	conn.SetReadLimit(1 << 20)
	c.conn = conn
	go c.readLoop()
	t.Cleanup(func() { c.conn.CloseNow(); <-c.done })
	return c
}

func (c *goClient) send(msg string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		return err
	}
	c.sent = append(c.sent, msg)
	return nil
}

func (c *goClient) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		c.mu.Lock()
		c.recv = append(c.recv, string(data))
		c.mu.Unlock()
		if string(data) == `{"type":"ping"}` {
			go c.send(`{"type":"pong"}`)
		}
	}
}

func (c *goClient) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recv)
}

// markerRe reads the marker bots put at the start of a load message.
var markerRe = regexp.MustCompile(`^~(\d+)\.(\d+)\.(\d+)\.\d+~x*$`)

// botMsg is a load message: sender bot and sequence number.
type botMsg struct{ sender, seq int }

func chatOf(t *testing.T, e *decode.Event) chat.Message {
	t.Helper()
	var m chat.Message
	if len(e.Chat) > 0 {
		if err := json.Unmarshal(e.Chat, &m); err != nil {
			t.Errorf("#%d: chat JSON %s: %v", e.ConnID, e.Chat, err)
		}
	}
	return m
}

// TestLiveEndToEnd captures on lo and on any, separately, while bots load
// the server and Chromium and a Go client chat on it (permessage-deflate
// on), and checks that every message sent appears decoded exactly once,
// on the right connection and in the right direction, byte for byte what
// the clients sent and received; that nothing was dropped by the kernel;
// and that each message was printed within liveLatency of its last packet.
func TestLiveEndToEnd(t *testing.T) {
	requireRoot(t)
	if testing.Short() {
		t.Skip("live end-to-end test in -short mode")
	}
	browser := browsertest.New(t, 3*time.Minute)
	for _, iface := range []string{"lo", "any"} {
		t.Run(iface, func(t *testing.T) { liveEndToEnd(t, browser, iface) })
	}
}

func liveEndToEnd(t *testing.T, browser context.Context, iface string) {
	srv := startChatServer(t, chatserver.Options{Protocol: chat.ProtocolRoom, PingInterval: time.Second})
	capt := startCapture(t, iface, srv.port)

	observer := dialClient(t, srv.wsURL, true)
	if err := observer.send(`{"type":"login","client_name":"observer","room_id":1}`); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return len(observer.received()) > 0 }) {
		t.Fatal("observer: no login reply")
	}

	// Bots: load mode, marked messages, deflate on.
	var botOut bytes.Buffer
	const nBots = 4
	err := bots.Run(context.Background(), bots.Options{
		URL: srv.wsURL, Protocol: chat.ProtocolRoom, Clients: nBots, Rate: 200,
		Load: true, Duration: 2 * time.Second, Drain: 3 * time.Second, Deflate: true, JSON: true, Connect: nBots,
	}, &botOut)
	if err != nil {
		t.Fatalf("bots: %v\n%s", err, botOut.String())
	}
	var rep bots.StepReport
	for line := range strings.Lines(botOut.String()) {
		if strings.HasPrefix(line, "{") {
			if err := json.Unmarshal([]byte(line), &rep); err != nil {
				t.Fatalf("bots report %q: %v", line, err)
			}
		}
	}
	// The bots' goodbyes (each close is a logout to everyone) are still
	// in the pipeline when Run returns: the latency bound starts once it
	// has been quiet for a moment, after the burst.
	capt.rec.waitQuiet(300*time.Millisecond, 10*time.Second)
	botsDone := time.Now()
	if rep.Sent == 0 || rep.Lost != 0 || rep.Duplicated != 0 {
		t.Fatalf("bots: sent %d, lost %d, duplicated %d:\n%s", rep.Sent, rep.Lost, rep.Duplicated, botOut.String())
	}

	// Chromium: log in, say three things to everyone (one long enough for
	// a 16-bit length), and one privately to the observer.
	browserSays := []string{
		"bonjour from chromium on " + iface + " ✓",
		"你好 🎉 " + iface + " & <b>markup</b>",
		strings.Repeat("a long line from chromium on "+iface+" ", 150),
	}
	private := "just for you, observer, on " + iface + " 🤫"
	tab, cancelTab := chromedp.NewContext(browser)
	defer cancelTab()
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(srv.pageURL),
		chromedp.WaitVisible(chromedp.ID("nick")),
		chromedp.SendKeys(chromedp.ID("nick"), "chromium"),
		chromedp.Click(chromedp.ID("login-btn")),
		chromedp.Poll[chromedp.Void](`document.querySelector('#users').textContent.includes('observer')`, chromedp.WithPollingTimeout(20*time.Second)),
	}
	for _, s := range browserSays {
		actions = append(actions, chromedp.SetValue(chromedp.ID("msg"), s), chromedp.Click(chromedp.ID("send-btn")))
	}
	actions = append(actions,
		chromedp.Poll[chromedp.Void](`(() => { const s = document.querySelector('#to'); for (const o of s.options) if (o.textContent.includes('observer')) { s.value = o.value; return true } return false })()`,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.SetValue(chromedp.ID("msg"), private),
		chromedp.Click(chromedp.ID("send-btn")),
	)
	if err := chromedp.Do(tab, actions...); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	want := append(slices.Clone(browserSays), private)
	got := func() int {
		n := 0
		for _, m := range observer.received() {
			for _, w := range want {
				if says(m, w) {
					n++
				}
			}
		}
		return n
	}
	if !waitFor(10*time.Second, func() bool { return got() == len(want) }) {
		t.Fatalf("observer received %d of the browser's %d messages", got(), len(want))
	}
	cancelTab() // the page goes: Chromium closes its WebSocket
	// The server then tells the room Chromium left. The observer must have
	// read that before it closes: a message that arrives during the
	// closing handshake is on the wire (and decoded) but never read, so
	// the comparison below would be a race.
	left := func() bool {
		for _, m := range observer.received() {
			if strings.Contains(m, `"type":"logout"`) && strings.Contains(m, `"from_client_name":"chromium"`) {
				return true
			}
		}
		return false
	}
	if !waitFor(10*time.Second, left) {
		t.Fatal("observer: no logout for Chromium")
	}
	observer.conn.Close(websocket.StatusNormalClosure, "")
	<-observer.done

	// Wait for the last closes to be decoded, then stop: the TCP ends of
	// the bots' and the observer's connections, and the closing handshake
	// of Chromium's (which may keep its TCP connection a while longer).
	closed := func() bool {
		tcp, frames := 0, 0
		for _, p := range capt.rec.snapshot() {
			switch {
			case p.ev.Kind == decode.KindClose:
				tcp++
			case p.ev.Kind == decode.KindMessage && p.ev.Opcode == decode.OpClose:
				frames++
			}
		}
		return tcp >= nBots+1 && frames == 2*(nBots+2)
	}
	if !waitFor(5*time.Second, closed) {
		t.Errorf("not every connection was seen closing")
	}
	sum := capt.stop(t)
	events := capt.rec.snapshot()
	t.Logf("%s: %s; bots sent %d, delivered %d", iface, sum, rep.Sent, rep.Delivered)

	if sum.Dropped != 0 {
		t.Errorf("the kernel dropped %d packets", sum.Dropped)
	}
	if sum.Gaps != 0 || sum.Errors != 0 {
		t.Errorf("%d gaps, %d errors", sum.Gaps, sum.Errors)
	}
	if sum.WebSockets != nBots+2 {
		t.Errorf("%d WebSocket connections decoded, want %d (bots, observer, browser)", sum.WebSockets, nBots+2)
	}

	// Find the connections: the observer's by its address, Chromium's by
	// its User-Agent; the others are the bots'.
	var observerConn, browserConn uint64
	botConns := map[uint64]bool{}
	for _, p := range events {
		e := p.ev
		if e.Kind != decode.KindOpen {
			continue
		}
		switch {
		case e.Client.String() == observer.local:
			observerConn = e.ConnID
		case strings.Contains(e.UserAgent, "Chrome"):
			browserConn = e.ConnID
			if !strings.Contains(e.Extensions, "permessage-deflate") {
				t.Errorf("Chromium did not negotiate permessage-deflate: %q", e.Extensions)
			}
		default:
			botConns[e.ConnID] = true
		}
	}
	if observerConn == 0 || browserConn == 0 || len(botConns) != nBots {
		t.Fatalf("connections: observer #%d, browser #%d, %d bots (want %d)", observerConn, browserConn, len(botConns), nBots)
	}

	var (
		obsSent, obsRecv       []string
		browserSent, toBrowser []string
		botSent                = map[botMsg]int{}
		botRecv                = map[uint64]map[botMsg]int{}
		compressed             int
		maxLag, maxBotLag      time.Duration
	)
	for _, p := range events {
		e := &p.ev
		if e.Kind != decode.KindMessage {
			continue
		}
		// The latency bound is checked on the chat of people (Chromium and
		// the observer, after the bots' burst): under the bots' load on two
		// shared cores, a race-enabled pipeline queues behind the burst,
		// which is throughput (scripts/loadtest), not the per-packet flush
		// this checks. The bots' worst case is logged.
		lag := p.flushed.Sub(e.Time)
		if p.flushed.IsZero() {
			t.Errorf("#%d message %.40q never flushed", e.ConnID, e.Payload)
		}
		if botConns[e.ConnID] {
			maxBotLag = max(maxBotLag, lag)
		} else if maxLag = max(maxLag, lag); lag > liveLatency && e.Time.After(botsDone) {
			t.Errorf("#%d message %.40q printed %v after its last packet, want under %v", e.ConnID, e.Payload, lag, liveLatency)
		}
		if e.Opcode != decode.OpText {
			continue // the closes
		}
		if e.Compressed {
			compressed++
		}
		switch e.ConnID {
		case observerConn:
			if e.FromClient {
				obsSent = append(obsSent, string(e.Payload))
			} else {
				obsRecv = append(obsRecv, string(e.Payload))
			}
			continue
		case browserConn:
			if e.FromClient {
				browserSent = append(browserSent, chatOf(t, e).Content)
			} else {
				toBrowser = append(toBrowser, string(e.Payload))
			}
			continue
		}
		m := chatOf(t, e)
		if m.Type != chat.TypeSay {
			continue
		}
		sm := markerRe.FindStringSubmatch(m.Content)
		if sm == nil {
			t.Errorf("#%d: bot message without a marker: %.80q", e.ConnID, m.Content)
			continue
		}
		sender, _ := strconv.Atoi(sm[2])
		seq, _ := strconv.Atoi(sm[3])
		k := botMsg{sender, seq}
		if e.FromClient {
			botSent[k]++
		} else {
			if botRecv[e.ConnID] == nil {
				botRecv[e.ConnID] = map[botMsg]int{}
			}
			botRecv[e.ConnID][k]++
		}
	}

	// The bots: every message sent seen once from its sender, and once on
	// each bot's connection (a room's say goes to everyone, sender too).
	if uint64(len(botSent)) != rep.Sent {
		t.Errorf("decoded %d distinct bot messages client → server, bots sent %d", len(botSent), rep.Sent)
	}
	for k, n := range botSent {
		if n != 1 {
			t.Errorf("bot %d message %d decoded %d times client → server", k.sender, k.seq, n)
		}
	}
	var delivered uint64
	for id := range botConns {
		for k := range botSent {
			if n := botRecv[id][k]; n != 1 {
				t.Errorf("#%d: bot %d message %d decoded %d times server → client, want 1", id, k.sender, k.seq, n)
			}
		}
		delivered += uint64(len(botRecv[id]))
	}
	if delivered != rep.Delivered {
		t.Errorf("decoded %d deliveries to bots, bots received %d", delivered, rep.Delivered)
	}

	// The observer: exactly what it sent and received, in order.
	observer.mu.Lock()
	wantSent, wantRecv := slices.Clone(observer.sent), slices.Clone(observer.recv)
	observer.mu.Unlock()
	if !slices.Equal(obsSent, wantSent) {
		t.Errorf("observer sent %d messages, %d decoded; first difference: %s", len(wantSent), len(obsSent), firstDiff(strings.Join(obsSent, "\n"), strings.Join(wantSent, "\n")))
	}
	if !slices.Equal(obsRecv, wantRecv) {
		t.Errorf("observer received %d messages, %d decoded; first difference: %s", len(wantRecv), len(obsRecv), firstDiff(strings.Join(obsRecv, "\n"), strings.Join(wantRecv, "\n")))
	}

	// Chromium: each say once from it, each once back to it.
	for _, w := range want {
		if n := count(browserSent, func(s string) bool { return s == w }); n != 1 {
			t.Errorf("browser's %.40q decoded %d times client → server, want 1", w, n)
		}
		if n := count(toBrowser, func(s string) bool { return says(s, w) }); n != 1 {
			t.Errorf("browser's %.40q decoded %d times server → browser, want 1", w, n)
		}
	}
	t.Logf("%s: %d messages compressed; longest from last packet to print: %v (people), %v (bots' burst)", iface, compressed, maxLag, maxBotLag)
	if compressed == 0 {
		t.Error("no message was compressed: permessage-deflate was not exercised")
	}
}

// says reports whether the server message raw is a say whose content is
// text, once the server's HTML escaping is undone; a private message's
// content has a prefix ("<b>对你说: </b>").
func says(raw, text string) bool {
	var m chat.Message
	if json.Unmarshal([]byte(raw), &m) != nil || m.Type != chat.TypeSay {
		return false
	}
	return strings.HasSuffix(html.UnescapeString(m.Content), text)
}

func count(list []string, f func(string) bool) int {
	n := 0
	for _, s := range list {
		if f(s) {
			n++
		}
	}
	return n
}

// TestLiveWriteAndCount is `chatsniff live -i lo|any -p PORT -c N -w FILE
// --json`: it stops by itself after N messages, and the pcap it wrote opens
// in chatsniff read, tcpdump and tshark with those messages in it.
func TestLiveWriteAndCount(t *testing.T) {
	requireRoot(t)
	// lo writes Ethernet frames, any Linux cooked (SLL2) ones.
	for _, iface := range []string{"lo", "any"} {
		t.Run(iface, func(t *testing.T) { liveWriteAndCount(t, iface) })
	}
}

func liveWriteAndCount(t *testing.T, iface string) {
	srv := startChatServer(t, chatserver.Options{Protocol: chat.ProtocolUID, NoDeflate: true})
	const limit = 7
	pcap := filepath.Join(t.TempDir(), "out.pcap")
	var stdout, stderr bytes.Buffer
	c := &Command{
		Open: func() (capture.Source, error) {
			return capture.OpenLive(capture.LiveOptions{Interface: iface, Ports: []uint16{srv.port}})
		},
		Name:      iface,
		Options:   Options{Ports: []uint16{srv.port}, Live: true, MaxMessages: limit},
		Format:    FormatNDJSON,
		WritePath: pcap,
		Stdout:    &stdout,
		Stderr:    &stderr,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Execute(ctx) }()
	time.Sleep(200 * time.Millisecond) // the socket is open and filtered by now

	// A login and its two replies, then says and their echoes: well past
	// the limit.
	cl := dialClient(t, srv.wsURL, false)
	if err := cl.send(`{"type":"login","name":"counter"}`); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := cl.send(fmt.Sprintf(`{"type":"say","to_uid":"all","content":"message %d é"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("live: %v\n%s", err, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("-c did not stop the capture")
	}
	var msgs int
	for line := range strings.Lines(stdout.String()) {
		var ev struct {
			Event string `json:"event"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("NDJSON line %q: %v", line, err)
		}
		if ev.Event == "message" {
			msgs++
		}
	}
	if msgs != limit {
		t.Errorf("-c %d printed %d messages:\n%s", limit, msgs, stdout.String())
	}
	if !strings.Contains(stderr.String(), "0 packets dropped by the kernel") {
		t.Errorf("summary lacks the kernel's drops: %q", stderr.String())
	}

	// The file reads back with at least the messages printed.
	out, errOut, err := runFile(t, pcap, FormatNDJSON, []uint16{srv.port})
	if err != nil {
		t.Fatalf("read %s: %v\n%s", pcap, err, errOut)
	}
	if n := strings.Count(out, `"event":"message"`); n < limit {
		t.Errorf("read back %d messages from the -w file, want at least %d", n, limit)
	}
	// tcpdump reads the file: a line per packet, at least one per message
	// printed. tshark finds at least as many frames, counted by their
	// opcodes: a server's replies may share a packet.
	for _, tool := range []struct {
		name  string
		args  []string
		count func(out string) int
	}{
		{"tcpdump", []string{"-n", "-r", pcap}, func(out string) int { return strings.Count(out, "\n") }},
		{"tshark", []string{"-n", "-r", pcap, "-d", fmt.Sprintf("tcp.port==%d,http", srv.port), "-Y", "websocket", "-T", "fields", "-e", "websocket.opcode"},
			func(out string) int {
				n := 0
				for line := range strings.Lines(out) {
					n += len(strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == '\n' }))
				}
				return n
			}},
	} {
		path := toolPath(t, tool.name)
		cmd := exec.Command(path, tool.args...)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		b, err := cmd.Output()
		if err != nil {
			t.Errorf("%s %s: %v\n%s%s", tool.name, strings.Join(tool.args, " "), err, b, errOut.String())
			continue
		}
		if n := tool.count(string(b)); n < limit {
			t.Errorf("%s shows %d, want at least %d:\n%s", tool.name, n, limit, b)
		}
	}
}

// TestLiveDurationAndErrors: a capture with a deadline and nothing to see
// stops on time with its summary; a missing interface and a bad port are
// one-line errors, the first naming the interfaces that exist.
func TestLiveDurationAndErrors(t *testing.T) {
	requireRoot(t)
	var stderr bytes.Buffer
	c := &Command{
		Open: func() (capture.Source, error) {
			return capture.OpenLive(capture.LiveOptions{Interface: "any", Ports: []uint16{9}})
		},
		Name:    "any",
		Options: Options{Ports: []uint16{9}, Live: true},
		Stdout:  &bytes.Buffer{},
		Stderr:  &stderr,
	}
	const d = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	if err := c.Execute(ctx); err != nil {
		t.Fatalf("live: %v", err)
	}
	// The loop notices the deadline at the next ring timeout (50 ms).
	if took := time.Since(start); took < d || took > d+time.Second {
		t.Errorf("--duration %v took %v", d, took)
	}
	if !strings.Contains(stderr.String(), "0 packets dropped by the kernel") {
		t.Errorf("summary: %q", stderr.String())
	}

	for _, tc := range []struct {
		name string
		open func() (capture.Source, error)
		want []string
	}{
		{"no such interface", func() (capture.Source, error) {
			return capture.OpenLive(capture.LiveOptions{Interface: "nosuch0"})
		}, []string{"no such interface", `"nosuch0"`, "lo"}},
		{"port out of range", func() (capture.Source, error) {
			ports, err := capture.ParsePorts("70000")
			if err != nil {
				return nil, err
			}
			return capture.OpenLive(capture.LiveOptions{Ports: ports})
		}, []string{"70000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Command{Open: tc.open, Name: "x", Options: Options{Live: true}, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
			err := c.Execute(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}
