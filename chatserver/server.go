package chatserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/coder/websocket"
)

// protocol is one of the two workerman-chat protocols. Its methods run on
// the client's reader goroutine.
type protocol interface {
	open(c *client)
	message(c *client, m *chat.Message)
	close(c *client)
}

// Server is the chat server. Make one with New, run it with Serve, or use
// Run for the whole command.
type Server struct {
	opts  Options
	log   *slog.Logger
	hub   *hub
	proto protocol

	// ipHex and nextConn make room protocol client_ids as workerman's
	// bin2hex(pack('NnN', lanIp, lanPort, connectionId)) does.
	ipHex    string
	nextConn atomic.Uint64
	nextUID  atomic.Int64

	conns     sync.WaitGroup // reader goroutines
	stopping  atomic.Bool
	connected atomic.Int64
	delivered atomic.Uint64
	drops     atomic.Uint64
	deflates  atomic.Uint64
}

// Stats are the server's counters since it started.
type Stats struct {
	// Connected is the number of WebSocket connections open now.
	Connected int64
	// Delivered is the number of messages written to clients.
	Delivered uint64
	// Dropped is the number of clients dropped for not keeping up.
	Dropped uint64
	// Deflate is the number of connections that negotiated permessage-deflate.
	Deflate uint64
}

// New checks opts and makes a server.
func New(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, log: o.Logger, hub: newHub(), ipHex: "7f000001"}
	if host, _, err := net.SplitHostPort(o.WSAddr); err == nil {
		if ip := net.ParseIP(host).To4(); ip != nil && !ip.IsUnspecified() {
			s.ipHex = fmt.Sprintf("%02x%02x%02x%02x", ip[0], ip[1], ip[2], ip[3])
		}
	}
	switch o.Protocol {
	case chat.ProtocolRoom:
		s.proto = roomProtocol{s}
	default:
		s.proto = uidProtocol{s}
	}
	return s, nil
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Connected: s.connected.Load(), Delivered: s.delivered.Load(), Dropped: s.drops.Load(), Deflate: s.deflates.Load()}
}

// now is the "time" of every message: PHP's date('Y-m-d H:i:s'), local time.
func (s *Server) now() string { return time.Now().Format(chat.TimeLayout) }

// newFrame frames an encoded message once, for every receiver.
func (s *Server) newFrame(payload []byte) *frame {
	return newTextFrame(payload, s.opts.CompressMin)
}

// clientID is a room protocol client_id: 8 hex digits of the IPv4
// address, 4 of the gateway's internal port (workerman's start port 2300,
// two gateway processes as workerman-chat ships), 8 of the connection number.
func (s *Server) clientID(n uint64) string {
	return fmt.Sprintf("%s%04x%08x", s.ipHex, 2300+n%2, uint32(n/2+1))
}

// ServeHTTP upgrades a request to a WebSocket connection and serves it
// until it closes. It is the WebSocket listener's only handler, on every
// path, as workerman's gateway accepts any.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.stopping.Load() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	mode := websocket.CompressionNoContextTakeover
	if s.opts.NoDeflate {
		mode = websocket.CompressionDisabled
	}
	hc := &hijackCatcher{ResponseWriter: w}
	ws, err := websocket.Accept(hc, r, &websocket.AcceptOptions{
		// Pages from any origin may connect, as to workerman's gateway.
		InsecureSkipVerify: true,
		// server_no_context_takeover lets one deflated copy of a message
		// serve every receiver; client_no_context_takeover spares a 32 KB
		// window per connection. Browsers accept both.
		CompressionMode: mode,
	})
	if err != nil {
		s.log.Info("handshake refused", slog.String("remote", r.RemoteAddr), slog.Any("err", err))
		return
	}
	ws.SetReadLimit(s.opts.MaxMessage)
	if tc, ok := hc.conn.raw.(*net.TCPConn); ok && s.opts.SendBuffer > 0 {
		if err := tc.SetWriteBuffer(s.opts.SendBuffer); err != nil {
			s.log.Debug("send buffer", slog.Any("err", err))
		}
	}
	n := s.nextConn.Add(1) - 1
	c := &client{
		srv:     s,
		ws:      ws,
		conn:    hc.conn,
		deflate: strings.Contains(w.Header().Get("Sec-WebSocket-Extensions"), "permessage-deflate"),
		remote:  r.RemoteAddr,
		seq:     n,
		id:      s.clientID(n),
	}
	h := s.hub
	h.mu.Lock()
	// Checked under the hub's lock, which shutdown takes after setting
	// stopping to list the clients it closes: a client either makes that
	// list or is turned away here, and conns never grows once shutdown
	// waits on it.
	if s.stopping.Load() {
		h.mu.Unlock()
		ws.CloseNow()
		return
	}
	h.all[c] = struct{}{}
	s.conns.Add(1)
	h.mu.Unlock()
	s.connected.Add(1)
	if c.deflate {
		s.deflates.Add(1)
	}
	// The client is read on a goroutine of its own, and this handler
	// returns: net/http's goroutine for the connection then ends, and with
	// it the request, the response and their buffers, which an idle
	// connection would otherwise keep.
	go s.serveClient(c)
}

// serveClient reads the client until the connection ends; writes happen
// on writer goroutines started by send.
func (s *Server) serveClient(c *client) {
	defer s.conns.Done()
	defer s.connected.Add(-1)
	h := s.hub
	c.log().Info("connected", slog.Bool("deflate", c.deflate))
	s.proto.open(c)

	err := s.readLoop(c)

	c.end()
	s.proto.close(c)
	h.mu.Lock()
	delete(h.all, c)
	h.mu.Unlock()
	c.ws.CloseNow()
	switch status := websocket.CloseStatus(err); {
	case c.dropped.Load():
	case status == websocket.StatusNormalClosure || status == websocket.StatusGoingAway:
		c.log().Info("disconnected", slog.Int("status", int(status)))
	case status != -1:
		c.log().Info("disconnected", slog.Int("status", int(status)), slog.Any("err", err))
	case isClosed(err):
		c.log().Info("disconnected")
	default:
		c.log().Warn("connection error", slog.Any("err", err))
	}
}

// readLoop reads client messages until the connection fails or closes.
// coder/websocket answers pings and close frames, closes the connection
// on an unmasked frame (RFC 6455 5.1) and closes with 1009 a message past
// the read limit.
func (s *Server) readLoop(c *client) error {
	ctx := context.Background()
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		var m chat.Message
		if err := json.Unmarshal(data, &m); err != nil {
			// workerman-chat ignores what it cannot decode; so does this.
			c.debug("ignored bad message", slog.Int("bytes", len(data)), slog.Any("err", err))
			continue
		}
		s.proto.message(c, &m)
	}
}

// pingSlices spreads the pings over the interval: each tick pings one
// slice of the clients, so that 10,000 clients do not get (and answer)
// their pings all in the same instant, which showed in the p99 latency of
// everything else.
const pingSlices = 10

// pingLoop sends the room protocol's {"type":"ping"} to every connection
// every PingInterval, one frame shared by all.
func (s *Server) pingLoop(ctx context.Context) {
	if s.opts.Protocol != chat.ProtocolRoom || s.opts.PingInterval < 0 {
		return
	}
	b, err := phpJSON(chat.RoomPing{Type: chat.TypePing})
	if err != nil {
		s.log.Error("ping", slog.Any("err", err))
		return
	}
	f := s.newFrame(b)
	t := time.NewTicker(max(s.opts.PingInterval/pingSlices, time.Millisecond))
	defer t.Stop()
	for tick := uint64(0); ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, c := range s.hub.everyone() {
				if c.seq%pingSlices == tick%pingSlices {
					c.send(f)
				}
			}
		}
	}
}

// Serve serves WebSocket clients on wsLn and, unless pageLn is nil, the
// web page on pageLn, until ctx is cancelled; then it closes the listeners,
// closes every client with 1001 (going away) and returns once they are gone,
// ShutdownTimeout after ctx was cancelled at the latest (see shutdown).
func (s *Server) Serve(ctx context.Context, wsLn, pageLn net.Listener) error {
	if s.opts.TLS != nil {
		cfg := serverTLS(s.opts.TLS)
		wsLn = tls.NewListener(wsLn, cfg)
		if pageLn != nil {
			pageLn = tls.NewListener(pageLn, cfg)
		}
	}
	var page http.Handler
	if pageLn != nil {
		var err error
		if page, err = s.PageHandler(wsLn.Addr()); err != nil {
			return err
		}
	}
	// net/http's own complaints (a TLS handshake a browser broke off over
	// the self-signed certificate, above all) are debug logs, not lines on
	// stderr beside the structured ones.
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	wsSrv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
	errc := make(chan error, 2)
	go func() { errc <- serveErr("websocket", wsSrv.Serve(wsLn)) }()
	var pageSrv *http.Server
	if pageLn != nil {
		pageSrv = &http.Server{Handler: page, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
		go func() { errc <- serveErr("web page", pageSrv.Serve(pageLn)) }()
	}
	pingCtx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	go s.pingLoop(pingCtx)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.shutdown(wsSrv, pageSrv)
	return err
}

func serveErr(what string, err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve %s: %w", what, err)
}

// shutdownAfterCut bounds the wait for the clients' goroutines once their
// sockets are closed at the shutdown's deadline. They end within
// microseconds of it; should one not, Serve returns without it rather than
// hold up the process's exit.
const shutdownAfterCut = 200 * time.Millisecond

// shutdown stops the listeners and closes every client with 1001, all
// within ShutdownTimeout: clients that read and answer are gone in a round
// trip; the sockets of those that do not (a client that floods without
// reading, one that never answers the close) are closed at the deadline.
// Nothing here waits on a client's socket without that bound.
func (s *Server) shutdown(wsSrv, pageSrv *http.Server) {
	by := time.Now().Add(s.opts.ShutdownTimeout)
	s.stopping.Store(true)
	// The WebSocket server's handlers return as soon as they upgrade, so
	// all it still holds are handshakes in progress, and Shutdown would wait
	// on those (a new connection counts as busy for 5 s): Close ends the
	// listener and them at once.
	if err := wsSrv.Close(); err != nil {
		s.log.Debug("websocket listener", slog.Any("err", err))
	}
	var wg sync.WaitGroup
	if pageSrv != nil {
		// The page's requests may finish, until the deadline.
		wg.Go(func() {
			ctx, cancel := context.WithDeadline(context.Background(), by)
			defer cancel()
			if err := pageSrv.Shutdown(ctx); err != nil {
				pageSrv.Close()
			}
		})
	}
	clients := s.hub.everyone()
	s.log.Info("shutting down", slog.Int("clients", len(clients)))
	// Every queue is closed first, so that the logouts of the first clients
	// to go are not written to the others ahead of their close frames.
	for _, c := range clients {
		c.end()
	}
	var cut atomic.Int64
	for _, c := range clients {
		wg.Go(func() {
			if c.closeGoingAway(by) {
				cut.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		s.conns.Wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(by) + shutdownAfterCut)
	defer t.Stop()
	select {
	case <-done:
		if n := cut.Load(); n > 0 {
			s.log.Info("shutdown: closed without the closing handshake", slog.Int64("clients", n))
		}
	case <-t.C:
		s.log.Warn("shutdown: connections still open after their sockets were closed", slog.Int64("connections", s.connected.Load()))
	}
}
