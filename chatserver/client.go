package chatserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// lockedConn is the hijacked TCP connection. coder/websocket writes its
// control frames (pong, close) through it while the client's writer
// goroutine writes data frames straight to the socket; mu keeps each frame
// whole. coder/websocket flushes every control frame with one Write, so
// holding mu per Write call is enough.
type lockedConn struct {
	net.Conn
	mu sync.Mutex
	// raw is the TCP connection: Conn itself, or the one under Conn's TLS.
	raw net.Conn
	// joined is where a batch is joined for one TLS write (writeBuffers).
	joined []byte
}

func (c *lockedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The writer's deadline, set for its own batch, must not fail a pong
	// or close frame written long after (coder/websocket bounds those with
	// contexts).
	if err := c.Conn.SetWriteDeadline(time.Time{}); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// writeBuffers writes a batch of frames with one writev where the
// connection is a *net.TCPConn.
func (c *lockedConn) writeBuffers(bufs *net.Buffers, deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.Conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	if c.Conn == c.raw {
		_, err := bufs.WriteTo(c.Conn)
		return err
	}
	// Over TLS, net.Buffers would be written a Write, so a TLS record,
	// each: joined, the batch is one write of full records.
	c.joined = c.joined[:0]
	for _, b := range *bufs {
		c.joined = append(c.joined, b...)
	}
	*bufs = (*bufs)[len(*bufs):]
	_, err := c.Conn.Write(c.joined)
	if cap(c.joined) > maxJoined {
		c.joined = nil // not held by an idle connection after a burst
	}
	return err
}

// maxJoined is the largest join buffer a TLS connection keeps between
// batches.
const maxJoined = 64 << 10

// hijackCatcher hands coder/websocket a lockedConn in place of the raw
// connection, so that the server can write to the socket beside it.
type hijackCatcher struct {
	http.ResponseWriter
	conn *lockedConn
}

func (h *hijackCatcher) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Buffer sizes of a connection's reader and writer, down from net/http's
// 4 KiB each, which an idle connection would hold for nothing: clients send
// little (reads of large messages bypass the buffer anyway), and the
// writer only ever carries coder/websocket's control frames (at most
// 14 + 125 bytes).
const (
	connReadBuffer  = 1024
	connWriteBuffer = 256
)

func (h *hijackCatcher) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &lockedConn{Conn: nc, raw: nc}
	if tc, ok := nc.(*tls.Conn); ok {
		h.conn.raw = tc.NetConn()
	}
	// Bytes the client sent right after its handshake may already sit in
	// net/http's reader. coder/websocket keeps what the returned reader has
	// buffered and then reads the connection itself, so the new, smaller
	// reader must hold those bytes in its buffer, not in its source.
	br := bufio.NewReaderSize(nc, connReadBuffer)
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), nc), max(n, connReadBuffer))
		if _, err := br.Peek(n); err != nil {
			return nil, nil, fmt.Errorf("keep %d early bytes: %w", n, err)
		}
	}
	return h.conn, bufio.NewReadWriter(br, bufio.NewWriterSize(h.conn, connWriteBuffer)), nil
}

// sendQueue is one client's bounded queue of frames to write.
type sendQueue struct {
	mu    sync.Mutex
	items []*frame
	bytes int
	// writing is set while a writer goroutine runs for the client. It runs
	// only while there is something to write: an idle connection keeps no
	// goroutine (and no stack) for writing.
	writing bool
	closed  bool
}

// client is one WebSocket connection.
type client struct {
	srv     *Server
	ws      *websocket.Conn
	conn    *lockedConn
	deflate bool // permessage-deflate negotiated
	remote  string
	seq     uint64 // connection number

	// Identity, written under srv.hub.mu by the client's own reader
	// goroutine, read by others under the same lock.
	loggedIn bool
	uid      int64
	id       string // room protocol client_id
	name     string
	room     string
	// joined is the room c is in: a room is forgotten only once empty, so
	// the pointer stays good while c is a member, and says need no lock.
	joined *room

	q sendQueue
	// lastWrite is when the writer last wrote: written and read only by the
	// writer goroutine of the moment (writers hand over through q.mu).
	lastWrite time.Time
	// ended is set once the client is dropped or closed.
	ended atomic.Bool
	// dropped is set when the server gave up on the client.
	dropped atomic.Bool
}

// send queues f for the client without ever blocking: a client whose queue
// is full cannot keep up and is dropped, so that it never slows the others.
func (c *client) send(f *frame) {
	q := &c.q
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if len(q.items) >= c.srv.opts.QueueMessages || q.bytes+len(f.plain) > c.srv.opts.QueueBytes {
		n := len(q.items)
		q.closed = true
		q.mu.Unlock()
		// Closing may wait on coder/websocket's locks: not on the sender's time.
		go c.drop("send queue full", slog.Int("queued", n))
		return
	}
	q.items = append(q.items, f)
	q.bytes += len(f.plain)
	start := !q.writing
	q.writing = true
	q.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// writeLoop writes everything queued with one writev per batch, until the
// queue is empty or the connection fails.
func (c *client) writeLoop() {
	var spare []*frame
	var iov net.Buffers
	gap := c.srv.opts.Coalesce
	for {
		// A client written to less than gap ago waits for the rest of the
		// gap, so that what arrives meanwhile goes out in the same writev:
		// a busy client costs at most one syscall per gap, an idle one is
		// written to at once.
		if gap > 0 {
			if wait := gap - time.Since(c.lastWrite); wait > 0 {
				time.Sleep(wait)
			}
		}
		c.q.mu.Lock()
		batch := c.q.items
		if len(batch) == 0 || c.q.closed {
			c.q.writing = false
			c.q.mu.Unlock()
			return
		}
		c.q.items = spare[:0]
		c.q.bytes = 0
		c.q.mu.Unlock()
		iov = iov[:0]
		for _, f := range batch {
			iov = append(iov, f.bytes(c.deflate))
		}
		bufs := iov
		now := time.Now()
		c.lastWrite = now
		err := c.conn.writeBuffers(&bufs, now.Add(c.srv.opts.WriteTimeout))
		c.srv.delivered.Add(uint64(len(batch)))
		clear(batch)
		spare = batch
		if err != nil {
			// A connection closed or reset under the writer is a client
			// leaving (its reader says goodbye); anything else, a timeout
			// above all, is a failure.
			if !c.ended.Load() && !isClosed(err) {
				c.drop("write failed", slog.Any("err", err))
			}
			return
		}
	}
}

// end marks the client finished: its queue takes nothing more and its
// writer stops. It reports whether this call was the first.
func (c *client) end() bool {
	if !c.ended.CompareAndSwap(false, true) {
		return false
	}
	c.q.mu.Lock()
	c.q.closed = true
	c.q.items = nil
	c.q.mu.Unlock()
	return true
}

// drop gives up on a client that cannot keep up or whose socket failed:
// the TCP connection is closed without a close handshake, which a stalled
// peer could not read anyway. Its reader goroutine then sees the error and
// says goodbye to the room.
func (c *client) drop(reason string, attrs ...any) {
	if !c.end() {
		return
	}
	c.dropped.Store(true)
	c.srv.drops.Add(1)
	c.log().Warn("client dropped", append([]any{slog.String("reason", reason)}, attrs...)...)
	c.ws.CloseNow()
}

// closeGoingAway is the shutdown's close: 1001 with the closing handshake,
// cut short at by. On its own, coder/websocket's Close gives the close
// frame's write 5 s and the client's answer 5 s more, and a CloseNow
// meanwhile only waits for that Close; the write itself queues behind a
// writer blocked on a full socket for up to WriteTimeout. A client that does
// not read, or does not answer, must not hold a shutdown that long, so at by
// the TCP connection is closed under the handshake: the blocked write, the
// Close and the client's reader then all end at once. It reports whether
// the handshake was cut so.
func (c *client) closeGoingAway(by time.Time) (cut bool) {
	c.end()
	t := time.AfterFunc(time.Until(by), c.closeTCP)
	err := c.ws.Close(websocket.StatusGoingAway, "server shutting down")
	cut = !t.Stop()
	if err != nil && !cut && !errors.Is(err, net.ErrClosed) {
		c.debug("close", slog.Any("err", err))
	}
	return cut
}

// closeTCP closes the connection's socket, whatever coder/websocket is
// doing with it: unlike CloseNow, which waits while a Close is under way,
// this never blocks, and every read and write on the socket fails at once.
func (c *client) closeTCP() {
	// The TCP connection, not its TLS: tls.Conn's Close would first try
	// to send a close_notify, for up to 5 s to a client that does not read.
	if err := c.conn.raw.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		c.debug("close socket", slog.Any("err", err))
	}
}

// log returns the server's logger with the client's address and id. It is
// made per call, not kept: logs are rare, and a kept logger would cost every
// idle connection the memory of its preformatted attributes.
func (c *client) log() *slog.Logger {
	return c.srv.log.With(slog.String("remote", c.remote), slog.String("client_id", c.id))
}

// debug logs at debug level, making the client's logger only when that
// level is on: ignored input may come at a client's full sending rate.
func (c *client) debug(msg string, attrs ...any) {
	if c.srv.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log().Debug(msg, attrs...)
	}
}

// isClosed tells whether err is the connection having been closed, by
// either side, rather than a failure of the server's.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
