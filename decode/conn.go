package decode

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// connMode is what a connection's bytes are being read as.
type connMode uint8

const (
	modeHTTP  connMode = iota // HTTP heads, looking for the upgrade
	modeProbe                 // no handshake (Config.Midstream): looking for frames
	modeWS                    // WebSocket frames
	modeOff                   // not WebSocket, or ended: bytes are ignored
)

// conn decodes one TCP connection. Its two directions are indexed by side:
// 0 for the client, 1 for the server, which is reassembly's Dir unless the
// roles were found to be the other way round (swapped).
type conn struct {
	d              *Decoder
	id             uint64
	client, server netip.AddrPort // as events show them, after any swap
	sawSYN         bool           // reassembly knows who opened the connection
	swapped        bool           // the client is reassembly's ServerToClient side
	rolesKnown     bool           // the roles were checked against the traffic
	mode           connMode
	midstream      bool // decoded without a handshake
	ended          bool
	errors         int        // error events reported, up to MaxConnErrors
	h              *handshake // modeHTTP only
	dirs           [2]wsDir   // modeWS only

	// tls is the connection's TLS layer, told by tlsdecrypt before its
	// first plaintext; shown is set once an open event was reported.
	tls   *tlsdecrypt.Info
	shown bool
}

// handshake is the state of the HTTP exchange before the upgrade.
type handshake struct {
	dirs    [2]httpDir // by reassembly.Dir
	started bool       // a head was parsed: this is HTTP
	skipped int        // plain requests passed over
	// pending are the plain requests awaiting their responses, in order.
	pending []pendingRequest
	// polling is set once an Engine.IO long-polling request was seen
	// (polling.go): the connection was reported open.
	polling bool
	up      *upgradeRequest // the upgrade request awaiting its response
	// stash holds client bytes that came after the upgrade request, before
	// the response: frames if the upgrade succeeds, HTTP if it is refused.
	stash []byte
	// stashEnds marks where each Data call ends in stash: after a gap,
	// decoding resumes at the start of a call.
	stashEnds []int
	// clientGap holds the sizes of client gaps after the upgrade request,
	// reported once the connection turns out to be a WebSocket.
	clientGap []int
}

// httpDir is one direction of the HTTP exchange.
type httpDir struct {
	head    headReader
	seen    bool   // bytes arrived in this direction
	skip    uint64 // body bytes (Content-Length) still to pass over
	chunked bool   // passing over a chunked body
	chunk   chunkSkipper
	poll    *pollBody // collecting a polling body (polling.go)
}

// upgradeRequest is what the open event reports from the request.
type upgradeRequest struct {
	path, host, origin, userAgent, key string
	// hs is the event's Handshake, its request half filled in from the
	// start and its response half by the answer. It lives in this struct
	// so that the connection's one allocation for the upgrade holds both;
	// the headers are the parsed heads' own slices (one copy of each
	// head, bounded by MaxHead), and a Sink may keep the pointer since it
	// is never changed once reported.
	hs Handshake
}

// setResponse fills in the response half of hs from the server's answer.
func (hs *Handshake) setResponse(hh *httpHead) {
	hs.Status, hs.StatusText, hs.ResponseProto = hh.status, hh.reason, hh.proto
	hs.Response, hs.ResponseSize = hh.fields, hh.size
}

// side returns the side (0 client, 1 server) that sends dir.
func (c *conn) side(dir reassembly.Dir) int {
	s := int(dir) & 1
	if c.swapped {
		s ^= 1
	}
	return s
}

// clientDir returns the reassembly direction the client sends.
func (c *conn) clientDir() reassembly.Dir {
	if c.swapped {
		return reassembly.ServerToClient
	}
	return reassembly.ClientToServer
}

// setClient makes dir the client's direction, swapping the roles reassembly
// guessed if needed. Once the roles are known, it only checks them.
func (c *conn) setClient(dir reassembly.Dir) bool {
	if c.rolesKnown {
		return dir == c.clientDir()
	}
	if dir != c.clientDir() {
		c.swapped = !c.swapped
		c.client, c.server = c.server, c.client
	}
	c.rolesKnown = true
	return true
}

// off stops decoding the connection.
func (c *conn) off() {
	c.mode = modeOff
	c.h = nil
}

// Data implements reassembly.Conn.
func (c *conn) Data(dir reassembly.Dir, b []byte, t time.Time) {
	if len(b) == 0 {
		return
	}
	switch c.mode {
	case modeHTTP:
		c.httpData(dir, b, t)
	case modeProbe:
		c.probe(dir, b, t)
	case modeWS:
		c.dirs[c.side(dir)].feed(b, t)
	}
}

// Gap implements reassembly.Conn.
func (c *conn) Gap(dir reassembly.Dir, n int, t time.Time) {
	switch c.mode {
	case modeHTTP:
		c.httpGap(dir, n, t)
	case modeWS:
		side := c.side(dir)
		e := c.newEvent(KindGap, side == 0, t)
		e.Bytes = max(n, -1)
		c.emit(e)
		c.dirs[side].gap(t)
	}
	// modeProbe tests every Data call anyway; modeOff ignores everything.
}

// End implements reassembly.Conn.
func (c *conn) End(reason reassembly.EndReason, t time.Time) {
	if c.ended {
		return
	}
	c.ended = true
	if c.mode == modeHTTP && c.h.polling {
		c.pollEnd(t)
	}
	if c.mode != modeWS && c.shown {
		// A TLS connection shown undecrypted: its end is shown too.
		c.emit(c.newEvent(KindClose, false, t))
	}
	if c.mode == modeWS {
		for side := range c.dirs {
			c.dirs[side].end(t)
		}
		c.emit(c.newEvent(KindClose, false, t))
		for side := range c.dirs {
			c.dirs[side].release()
		}
	}
	c.off()
}

// TLS implements tlsdecrypt.Conn. A connection that can be decrypted is
// decoded like any other, its open event carrying info; one that cannot
// is shown by an open event with info alone, then its close.
func (c *conn) TLS(info tlsdecrypt.Info, t time.Time) {
	c.tls = &info
	if info.Decrypted || c.mode == modeOff {
		return
	}
	e := c.newEvent(KindOpen, false, t)
	e.TLS = c.tls
	c.emit(e)
	c.shown = true
	c.off()
}

// TLSError implements tlsdecrypt.Conn: a problem of the TLS layer is an
// error event of the direction it concerns.
func (c *conn) TLSError(dir reassembly.Dir, msg string, t time.Time) {
	if c.mode == modeOff && !c.shown {
		return
	}
	c.emitError(c.side(dir) == 0, t, "TLS: "+msg)
}

// httpData reads HTTP heads until the upgrade. Bodies of requests and
// responses before it (keep-alive) are passed over without being kept.
func (c *conn) httpData(dir reassembly.Dir, b []byte, t time.Time) {
	h := c.h
	whole := b
	for len(b) > 0 && c.mode == modeHTTP {
		hd := &h.dirs[dir]
		hd.seen = true
		if h.up != nil && dir == c.clientDir() {
			// A client waits for the answer to its upgrade request.
			if len(h.stash)+len(b) > maxStash {
				c.off()
				return
			}
			h.stash = append(h.stash, b...)
			h.stashEnds = append(h.stashEnds, len(h.stash))
			return
		}
		switch {
		case hd.poll != nil:
			rest, ok := c.pollData(dir, b, t)
			if !ok {
				c.off()
				return
			}
			b = rest
			continue
		case hd.skip > 0:
			n := min(uint64(len(b)), hd.skip)
			hd.skip -= n
			b = b[n:]
			continue
		case hd.chunked:
			n, done, ok := hd.chunk.feed(b, nil)
			if !ok {
				c.off()
				return
			}
			b = b[n:]
			hd.chunked = !done
			continue
		}
		if len(hd.head.buf) == 0 && (b[0] == '\r' || b[0] == '\n') {
			// Empty lines before a head are ignored (RFC 7230 section
			// 3.5): some clients end a body with an extra CRLF.
			b = b[1:]
			continue
		}
		head, rest, tooLong := hd.head.feed(b)
		if head == nil {
			switch {
			case !looksLikeHead(hd.head.buf):
				c.notHTTP(dir, whole, t)
			case tooLong:
				c.headTooLong(dir, whole, t)
			}
			return
		}
		b = rest
		hh, ok := parseHead(head)
		if !ok {
			c.notHTTP(dir, whole, t)
			return
		}
		h.started = true
		if hh.request {
			c.request(dir, &hh, t)
			continue
		}
		c.response(dir, &hh, t)
		if c.mode == modeWS {
			// Frames may follow the 101 in the same segment.
			c.dirs[1].feed(b, t)
			return
		}
	}
}

// request handles a request head from dir.
func (c *conn) request(dir reassembly.Dir, hh *httpHead, t time.Time) {
	h := c.h
	// The side that sends the request is the client, whatever reassembly
	// guessed; a request from the side already taken for the server is
	// not an exchange this decoder follows.
	if !c.setClient(dir) {
		c.off()
		return
	}
	if hh.isUpgrade() {
		origin := hh.get("Origin")
		if origin == "" {
			origin = hh.get("Sec-WebSocket-Origin") // drafts before RFC 6455
		}
		h.up = &upgradeRequest{
			path:      hh.target,
			host:      hh.get("Host"),
			origin:    origin,
			userAgent: hh.get("User-Agent"),
			key:       hh.get("Sec-WebSocket-Key"),
			hs: Handshake{
				Method: hh.method, Target: hh.target, Proto: hh.proto,
				Request: hh.fields, RequestSize: hh.size,
			},
		}
		return
	}
	if len(h.pending) >= maxPending {
		c.off()
		return
	}
	if isPollingTarget(hh.target) {
		// Long-polling: followed for as long as it goes on.
		c.startPolling(hh, t)
		req := &pollRequest{method: hh.method, target: hh.target}
		h.pending = append(h.pending, pendingRequest{head: hh.method == "HEAD", poll: req})
		if !c.collectBody(dir, hh, req, false) {
			c.skipBody(dir, hh, false, t)
		}
		return
	}
	h.skipped++
	if h.skipped > maxSkippedHTTP {
		c.off()
		return
	}
	h.pending = append(h.pending, pendingRequest{head: hh.method == "HEAD"})
	c.skipBody(dir, hh, false, t)
}

// response handles a response head from dir.
func (c *conn) response(dir reassembly.Dir, hh *httpHead, t time.Time) {
	h := c.h
	if !c.setClient(dir ^ 1) {
		c.off()
		return
	}
	if hh.status == 101 {
		// 101 switches to the protocol of its Upgrade header: another one
		// (h2c) is not followed. The reason text is not looked at.
		if hh.has("Upgrade") && !hh.hasToken("Upgrade", "websocket") {
			c.off()
			return
		}
		c.startWS(hh, t)
		return
	}
	if hh.status < 200 {
		return // 100 Continue and the like: the real response follows
	}
	headRequest := false
	var replay []byte
	var poll *pollRequest
	switch {
	case len(h.pending) > 0:
		headRequest, poll = h.pending[0].head, h.pending[0].poll
		h.pending = h.pending[1:]
	case h.up != nil:
		// The upgrade was refused (400, 403, 426...): what the client sent
		// since is HTTP again.
		c.rejected(hh, t)
		h.up = nil
		replay, h.stash, h.stashEnds = h.stash, nil, nil
	}
	if poll == nil || !c.collectBody(dir, hh, poll, headRequest) {
		c.skipBody(dir, hh, headRequest, t)
	}
	if len(replay) > 0 && c.mode == modeHTTP {
		c.httpData(c.clientDir(), replay, t)
	}
}

// rejected reports an upgrade request answered with another status than
// 101.
func (c *conn) rejected(hh *httpHead, t time.Time) {
	up := c.h.up
	c.d.stats.Rejected++
	e := c.newEvent(KindRejected, false, t)
	e.Path, e.Host, e.Origin, e.UserAgent = up.path, up.host, up.origin, up.userAgent
	e.Status, e.StatusText = hh.status, hh.reason
	up.hs.setResponse(hh)
	e.Handshake = &up.hs
	c.emit(e)
}

// skipBody sets dir up to pass over the body that follows hh.
func (c *conn) skipBody(dir reassembly.Dir, hh *httpHead, headRequest bool, t time.Time) {
	hd := &c.h.dirs[dir]
	switch kind, n := hh.body(headRequest); kind {
	case bodyNone:
	case bodyLength:
		hd.skip = n
	case bodyChunked:
		hd.chunked = true
	case bodyInvalid:
		if c.h.polling {
			c.emitError(hh.request, t, "HTTP body length unreadable; the long-polling exchange is not followed past it")
		}
		c.off()
	default:
		// A body read until the connection closes: no upgrade can come
		// after it.
		c.off()
	}
}

// headTooLong handles a head that reached MaxHead. It is an error when the
// head was part of an upgrade (a request with a Sec-WebSocket-Key, or the
// answer to an upgrade request); other HTTP connections are left silently,
// as they are never reported.
func (c *conn) headTooLong(dir reassembly.Dir, whole []byte, t time.Time) {
	buf := c.h.dirs[dir].head.buf
	if c.h.polling {
		c.emitError(c.side(dir) == 0, t, "HTTP head over "+strconv.Itoa(MaxHead)+" bytes; the long-polling exchange is not followed past it")
		c.off()
		return
	}
	switch {
	case bytes.HasPrefix(buf, []byte("HTTP/")):
		if c.h.up != nil && c.setClient(dir^1) {
			c.emitError(false, t, "HTTP response head over "+strconv.Itoa(MaxHead)+" bytes")
			c.off()
			return
		}
	case containsFold(buf, "sec-websocket-key") && c.setClient(dir):
		c.emitError(true, t, "HTTP request head over "+strconv.Itoa(MaxHead)+" bytes")
		c.off()
		return
	}
	c.notHTTP(dir, whole, t)
}

// containsFold reports whether b contains the lower-case ASCII s, ignoring case.
func containsFold(b []byte, s string) bool {
	return bytes.Contains(bytes.ToLower(b), []byte(s))
}

// notHTTP handles bytes that are not an HTTP head. Before any head was
// read, with Config.Midstream, they may be frames of a WebSocket whose
// upgrade was not captured (text in a frame can look like the start of a
// request line for a while).
func (c *conn) notHTTP(dir reassembly.Dir, whole []byte, t time.Time) {
	if c.h.polling {
		// A long-polling connection was shown: why it is no longer
		// followed is shown too.
		c.emitError(c.side(dir) == 0, t, "not HTTP where a head should start; the long-polling exchange is not followed past it")
		c.off()
		return
	}
	if !c.h.started && c.d.cfg.Midstream {
		c.mode, c.h = modeProbe, nil
		c.probe(dir, whole, t)
		return
	}
	c.off()
}

// httpGap handles bytes lost before the upgrade was complete. HTTP cannot
// be followed past a gap; but when the upgrade request was seen, the lost
// bytes probably held the 101, and with Config.Midstream the connection is
// searched for frames (so is one where no head was read yet).
func (c *conn) httpGap(dir reassembly.Dir, n int, t time.Time) {
	h := c.h
	if h.polling {
		// A long-polling connection was shown: its loss is too, and the
		// HTTP exchange cannot be followed past it.
		e := c.newEvent(KindGap, c.side(dir) == 0, t)
		e.Bytes = max(n, -1)
		c.emit(e)
		c.off()
		return
	}
	switch {
	case h.up != nil && dir == c.clientDir():
		// Client bytes after the upgrade request: frames, if the 101
		// comes. They are decoded from the next frame start then.
		h.stash, h.stashEnds = h.stash[:0], h.stashEnds[:0]
		h.clientGap = append(h.clientGap, max(n, -1))
		return
	case h.up == nil && !h.dirs[dir].seen:
		return // nothing of this direction was read: the next Data decides
	}
	if h.up != nil && !c.d.cfg.Midstream {
		// The 101 was probably lost: the frames after it cannot be
		// told from other bytes without being asked to look for them.
		c.emitError(false, t, "the answer to the upgrade request was lost in a gap; -p with this port decodes the frames that follow")
		c.off()
		return
	}
	if (h.up != nil || !h.started) && c.d.cfg.Midstream {
		stash, ends := h.stash, h.stashEnds
		c.mode, c.h = modeProbe, nil
		start := 0
		for _, end := range ends {
			c.Data(c.clientDir(), stash[start:end], t)
			start = end
		}
		return
	}
	c.off()
}

// probe looks for frames in a connection without a handshake (midstream).
// Each Data call starts at a segment boundary, where a frame often starts:
// once one direction's bytes there are plausible frames the connection is
// taken for a WebSocket, and the other direction is looked at the same way.
// Which side masks tells which side is the client when no SYN said so.
func (c *conn) probe(dir reassembly.Dir, b []byte, t time.Time) {
	side := c.side(dir)
	mask := maskEither
	if c.rolesKnown || c.sawSYN {
		mask = maskNo
		if side == 0 {
			mask = maskYes
		}
	}
	ok, masked := c.d.plausible(b, mask, true)
	if !ok {
		return
	}
	if mask == maskEither {
		if masked {
			c.setClient(dir)
		} else {
			c.setClient(dir ^ 1)
		}
		side = c.side(dir)
	}
	c.mode, c.h = modeWS, nil
	c.midstream = true
	c.d.stats.WebSockets++
	c.initDirs(pmdParams{})
	e := c.newEvent(KindOpen, false, t)
	e.TLS = c.tls
	c.emit(e)
	c.dirs[side].state = stHeader
	c.dirs[side].feed(b, t)
}

// startWS switches to frames after a 101 response and reports the open.
func (c *conn) startWS(hh *httpHead, t time.Time) {
	h := c.h
	up := h.up
	clientSeen := h.dirs[c.clientDir()].seen
	stash, stashEnds, clientGap := h.stash, h.stashEnds, h.clientGap
	c.mode, c.h = modeWS, nil
	c.d.stats.WebSockets++

	ext := hh.list("Sec-WebSocket-Extensions")
	c.initDirs(parseExtensions(ext))

	e := c.newEvent(KindOpen, false, t)
	e.TLS = c.tls
	e.Extensions = ext
	e.Subprotocol = hh.list("Sec-WebSocket-Protocol")
	accept := hh.get("Sec-WebSocket-Accept")
	switch {
	case up == nil:
		e.Err = "upgrade request not captured"
	case accept == "":
		e.Err = "Sec-WebSocket-Accept missing"
	case accept != acceptKey(up.key):
		e.Err = "Sec-WebSocket-Accept mismatch"
	default:
		e.AcceptOK = true
	}
	if up != nil {
		e.Path, e.Host, e.Origin, e.UserAgent = up.path, up.host, up.origin, up.userAgent
		// Only with the request: a Handshake of a response alone would
		// leave its consumers (the HAR export) guessing a request line.
		up.hs.setResponse(hh)
		e.Handshake = &up.hs
	}
	msg := e.Err
	c.emit(e)
	if msg != "" {
		c.emitError(false, t, msg)
	}
	if up == nil && clientSeen {
		// Whatever the client sent is not known to end at a frame.
		c.dirs[0].state = stResync
	}
	for _, n := range clientGap {
		g := c.newEvent(KindGap, true, t)
		g.Bytes = n
		c.emit(g)
		c.dirs[0].state = stResync
		c.dirs[0].windowLost = true
	}
	start := 0
	for _, end := range stashEnds {
		c.dirs[0].feed(stash[start:end], t)
		start = end
	}
}

// initDirs readies both directions for frames.
func (c *conn) initDirs(pmd pmdParams) {
	for side := range c.dirs {
		w := &c.dirs[side]
		*w = wsDir{c: c, fromClient: side == 0, maskedLast: side == 0}
		switch {
		case c.midstream:
			// What was negotiated is unknown: RSV1 is taken to mean
			// deflate, and the window is kept in case of context takeover.
			w.deflate, w.takeover = true, true
			w.state = stResync
			w.windowLost = true
		case side == 0:
			w.deflate, w.takeover = pmd.enabled, !pmd.clientNoTakeover
		default:
			w.deflate, w.takeover = pmd.enabled, !pmd.serverNoTakeover
		}
	}
}
