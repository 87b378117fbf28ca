package bots

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/coder/websocket"
)

// bot is one simulated user on its own WebSocket connection.
type bot struct {
	r       *runner
	idx     int
	room    int // 0-based
	name    string
	conn    *websocket.Conn
	stalled bool

	loggedIn    chan struct{} // closed on the login reply
	loginOnce   sync.Once
	resume      chan struct{} // a stalled bot reads again once closed
	resumeClose sync.Once
	readDone    chan error // the reader's end

	// Reader-goroutine state.
	stepSeen uint32
	lastSeq  map[uint32]uint32 // sender -> last sequence number seen this step
	names    map[string]string // demo printer: uid -> name
	dead     bool              // the connection failed
	deadMu   sync.Mutex
}

// stalledReadBuffer is a stalled bot's SO_RCVBUF: small, so that the
// server's bounded queue for it fills (and the server drops it) within a
// step rather than after the megabytes loopback buffers hold.
const stalledReadBuffer = 64 << 10

func (b *bot) dial(ctx context.Context) error {
	opts := &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled}
	if b.r.opts.Deflate {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	if b.stalled || b.r.opts.TLS != nil {
		d := &net.Dialer{}
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok && b.stalled {
				tc.SetReadBuffer(stalledReadBuffer)
			}
			return c, err
		}
		tr := &http.Transport{DialContext: dial}
		if cfg := b.r.opts.TLS; cfg != nil {
			// The TLS handshake is the bots' own, not the Transport's:
			// it drops ALPN from an upgrade's ClientHello, and hides what
			// went wrong with a server that does not speak TLS.
			tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				return dialTLS(ctx, dial, cfg, network, addr)
			}
		}
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	c, resp, err := websocket.Dial(ctx, b.r.opts.URL, opts)
	if err != nil {
		return dialError(b.r.opts.URL, b.idx, resp, err)
	}
	c.SetReadLimit(maxMessage)
	b.conn = c
	return nil
}

func (b *bot) loginMessage() []byte {
	var m any
	if b.r.opts.Protocol == chat.ProtocolRoom {
		m = chat.RoomLogin{Type: chat.TypeLogin, ClientName: b.name, RoomID: chat.NumberID(int64(b.room + 1))}
	} else {
		m = chat.UIDLogin{Type: chat.TypeLogin, Name: b.name}
	}
	out, _ := json.Marshal(m)
	return out
}

// write sends one text message. It is given no deadline on purpose:
// coder/websocket closes the connection when a write's context ends, even
// one that ends just as the write starts, so the end of a step or demo
// must not be a write's context. A write stuck on a dead server ends when
// closeAll closes the connection.
func (b *bot) write(p []byte) error {
	return b.conn.Write(context.Background(), websocket.MessageText, p)
}

// readLoop reads until the connection ends. Reads use a context that is
// never done (the connection is closed to stop them): a cancellable one
// would cost a timer registration per message.
func (b *bot) readLoop() {
	buf := make([]byte, 0, 1024)
	var err error
	defer func() {
		if !b.stalled && !b.r.closing.Load() {
			b.r.fail(b, fmt.Errorf("client %d: read: %w", b.idx, err))
		}
		b.readDone <- err
	}()
	for {
		var rd io.Reader
		_, rd, err = b.conn.Reader(context.Background())
		if err != nil {
			return
		}
		buf, err = readAll(rd, buf[:0])
		if err != nil {
			return
		}
		b.handle(buf)
		if b.stalled {
			select {
			case <-b.loggedIn:
				<-b.resume
			default:
			}
		}
	}
}

// readAll reads one message into buf, reusing its storage.
func readAll(rd io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

var (
	prefixSay      = []byte(`{"type":"say"`)
	prefixPing     = []byte(`{"type":"ping"`)
	prefixUserList = []byte(`{"type":"user_list"`)
	prefixLogin    = []byte(`{"type":"login"`)
	clientListKey  = []byte(`"client_list":`)
	pong           = []byte(`{"type":"pong"}`)
)

func (b *bot) handle(msg []byte) {
	r := b.r
	switch {
	case bytes.HasPrefix(msg, prefixSay):
		if m, ok := parseMarker(msg); ok {
			b.record(m)
			return
		}
		r.received.Add(1)
		if b.idx == 0 && !r.opts.Quiet {
			b.print(msg)
		}
	case bytes.HasPrefix(msg, prefixPing):
		// Answered on a goroutine of its own: the reader must not wait
		// behind a sender's write.
		go b.write(pong)
	case bytes.HasPrefix(msg, prefixUserList):
		b.loginOnce.Do(func() { close(b.loggedIn) })
		if b.idx == 0 {
			b.print(msg)
		}
	case bytes.HasPrefix(msg, prefixLogin):
		if r.opts.Protocol == chat.ProtocolRoom && bytes.Contains(msg, clientListKey) {
			b.loginOnce.Do(func() { close(b.loggedIn) })
		}
		if b.idx == 0 {
			b.print(msg)
		}
	default:
		if b.idx == 0 {
			b.print(msg)
		}
	}
}

// record counts one load-mode delivery: duplicates and gaps per sender,
// latency from the send time in the marker.
func (b *bot) record(m marker) {
	r := b.r
	cur := r.step.Load()
	if m.step != cur {
		r.stale.Add(1)
		return
	}
	if b.stepSeen != cur {
		clear(b.lastSeq)
		b.stepSeen = cur
	}
	last := b.lastSeq[m.sender]
	switch {
	case m.seq <= last:
		r.dups.Add(1)
		return
	case m.seq != last+1:
		r.gaps.Add(1)
	}
	b.lastSeq[m.sender] = m.seq
	r.delivered.Add(1)
	r.hist.add(time.Since(time.Unix(0, m.sent)))
}

// print shows what the first bot receives, in demo mode.
func (b *bot) print(msg []byte) {
	r := b.r
	if r.opts.Quiet || r.opts.Load {
		return
	}
	var m chat.Message
	if json.Unmarshal(msg, &m) != nil {
		r.printf("  ? %s\n", msg)
		return
	}
	if b.names == nil {
		b.names = make(map[string]string)
	}
	switch m.Type {
	case chat.TypeUserList:
		for _, u := range m.UserList {
			b.names[fmt.Sprint(u.UID)] = u.Name
		}
	case chat.TypeLogin:
		name := m.ClientName
		if m.UID.String() != "" {
			b.names[m.UID.String()] = m.Name
			name = m.Name
		}
		r.printf("%s  * %s joined\n", m.Time, name)
	case chat.TypeLogout:
		name := m.FromClientName
		if name == "" {
			name = b.names[m.UID.String()]
		}
		r.printf("%s  * %s left\n", m.Time, name)
	case chat.TypeSay:
		from := m.FromClientName
		if from == "" {
			from = b.names[m.FromUID.String()]
		}
		content := m.Content
		if len(content) > 120 {
			content = fmt.Sprintf("%s… (%d bytes)", content[:strings.LastIndex(content[:117], " ")+1], len(m.Content))
		}
		r.printf("%s  %s: %s\n", m.Time, from, strings.ReplaceAll(content, "\n", " "))
	}
}

// sayMessage builds a say to everyone in the room.
func (b *bot) sayMessage(dst []byte, content []byte) []byte {
	if b.r.opts.Protocol == chat.ProtocolRoom {
		dst = append(dst, `{"type":"say","to_client_id":"all","to_client_name":"all","content":`...)
	} else {
		dst = append(dst, `{"type":"say","to_uid":"all","content":`...)
	}
	c, _ := json.Marshal(string(content))
	dst = append(dst, c...)
	return append(dst, '}')
}

// sendLoop says one message every interval, from start+offset until
// until, keeping to the schedule (a late send is made at once, not
// skipped). content makes each message's content.
func (b *bot) sendLoop(ctx context.Context, start, until time.Time, offset, interval time.Duration, content func(seq uint32, dst []byte) []byte) {
	var cbuf, mbuf []byte
	for seq := uint32(1); ; seq++ {
		at := start.Add(offset + time.Duration(seq-1)*interval)
		if !until.IsZero() && !at.Before(until) {
			return
		}
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		cbuf = content(seq, cbuf[:0])
		mbuf = b.sayMessage(mbuf[:0], cbuf)
		b.r.expected.Add(uint64(b.r.roomActive[b.room]))
		b.r.sent.Add(1)
		if err := b.write(mbuf); err != nil {
			if ctx.Err() == nil {
				b.r.fail(b, fmt.Errorf("client %d: send: %w", b.idx, err))
			}
			return
		}
	}
}

// rand gives each bot its own generator for demo lines.
func (b *bot) rand() *rand.Rand {
	return rand.New(rand.NewPCG(uint64(b.idx), uint64(time.Now().UnixNano())))
}
