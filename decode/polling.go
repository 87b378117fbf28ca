package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/reassembly"
)

// Engine.IO's HTTP long-polling (Socket.IO's first transport, and its
// only one when WebSocket is blocked) is plain HTTP: a client GETs the
// server's packets and POSTs its own, each request on a target with
// transport=polling in its query. A connection carrying such requests
// never upgrades, so the HTTP exchange is followed past them: its first
// polling request is an open event (Polling set), and each body of a
// polling request or of its response is one message event, de-chunked and
// with its Content-Encoding undone, for the app stage (package app) to
// split into Engine.IO packets. Other requests' bodies are passed over
// unread as before.

// maxPending bounds the requests of a connection awaiting their answers:
// a client may pipeline, but not without end.
const maxPending = 64

// pendingRequest is a request awaiting its response.
type pendingRequest struct {
	head bool // a HEAD, whose response has no body
	// poll is set for an Engine.IO polling request: what its response's
	// body event carries.
	poll *pollRequest
}

// pollRequest names the request a polling body belongs to.
type pollRequest struct {
	method, target string
}

// isPollingTarget reports whether a request target is Engine.IO
// long-polling's: a query with EIO= and transport=polling.
func isPollingTarget(target string) bool {
	_, query, ok := strings.Cut(target, "?")
	if !ok {
		return false
	}
	eio, polling := false, false
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		switch {
		case strings.HasPrefix(kv, "EIO="):
			eio = true
		case kv == "transport=polling":
			polling = true
		}
	}
	return eio && polling
}

// pollBody collects one polling body as it arrives.
type pollBody struct {
	req        *pollRequest
	fromClient bool
	status     int
	binary     bool   // Content-Type application/octet-stream
	encoding   string // Content-Encoding, lower case ("" for none)
	chunked    bool
	tillClose  bool   // a response that ends with the connection
	left       uint64 // Content-Length bytes still to come
	chunk      chunkSkipper
	buf        []byte // up to the message cap
	total      uint64 // body bytes seen, past the cap too
}

// startPolling reports the connection's first polling request as its
// open event.
func (c *conn) startPolling(hh *httpHead, t time.Time) {
	h := c.h
	if h.polling {
		return
	}
	h.polling = true
	c.shown = true // its End reports the close
	c.d.stats.Polling++
	e := c.newEvent(KindOpen, true, t)
	e.Polling = true
	e.Path, e.Host, e.Origin, e.UserAgent = hh.target, hh.get("Host"), hh.get("Origin"), hh.get("User-Agent")
	c.emit(e)
}

// collectBody sets dir up to collect the body after hh, of a polling
// request or response. It reports false when hh has no body to collect
// (the caller then passes over whatever there is).
func (c *conn) collectBody(dir reassembly.Dir, hh *httpHead, req *pollRequest, headRequest bool) bool {
	kind, n := hh.body(headRequest)
	switch kind {
	case bodyLength:
		if n == 0 {
			return true
		}
	case bodyChunked, bodyTillClose: // only responses end with the connection
	default:
		return false
	}
	pb := &pollBody{req: req, fromClient: hh.request, status: hh.status, left: n,
		chunked: kind == bodyChunked, tillClose: kind == bodyTillClose}
	if mt, _, err := mime.ParseMediaType(hh.get("Content-Type")); err == nil && mt == "application/octet-stream" {
		pb.binary = true
	}
	pb.encoding = strings.ToLower(strings.TrimSpace(hh.list("Content-Encoding")))
	if pb.encoding == "identity" {
		pb.encoding = ""
	}
	c.h.dirs[dir].poll = pb
	return true
}

// pollData feeds body bytes; it returns the bytes of b after the body, and
// false when the body is not well formed (the connection is then off).
func (c *conn) pollData(dir reassembly.Dir, b []byte, t time.Time) ([]byte, bool) {
	hd := &c.h.dirs[dir]
	pb := hd.poll
	limit := c.d.cfg.MaxMessage
	keep := func(p []byte) {
		pb.total += uint64(len(p))
		if room := limit - len(pb.buf); room > 0 {
			p = p[:min(len(p), room)]
			// Grown as bytes arrive, never past the cap, whatever a
			// Content-Length or chunk size claims.
			pb.buf = append(c.d.growBuf(pb.buf, len(p), limit), p...)
		}
	}
	done := false
	switch {
	case pb.chunked:
		n, end, ok := pb.chunk.feed(b, keep)
		if !ok {
			hd.poll = nil
			c.d.putBuf(pb.buf)
			c.emitError(pb.fromClient, t, "HTTP body: chunked coding broken; the long-polling exchange is not followed past it")
			return nil, false
		}
		b, done = b[n:], end
	case pb.tillClose:
		keep(b)
		b = nil
	default:
		n := min(uint64(len(b)), pb.left)
		keep(b[:n])
		pb.left -= n
		b, done = b[n:], pb.left == 0
	}
	if done {
		hd.poll = nil
		c.pollEvent(pb, t)
		c.d.putBuf(pb.buf)
	}
	return b, true
}

// pollEnd finishes the polling bodies still being read when the
// connection ends: a response delimited by the close is whole; any other
// was cut short, which is an error, as a WebSocket message is.
func (c *conn) pollEnd(t time.Time) {
	for dir := range c.h.dirs {
		pb := c.h.dirs[dir].poll
		if pb == nil {
			continue
		}
		c.h.dirs[dir].poll = nil
		if pb.tillClose {
			c.pollEvent(pb, t)
		} else {
			c.emitError(pb.fromClient, t, "HTTP body incomplete at end of stream")
		}
		c.d.putBuf(pb.buf)
	}
}

// pollEvent reports a whole polling body.
func (c *conn) pollEvent(pb *pollBody, t time.Time) {
	if pb.total == 0 {
		return
	}
	limit := c.d.cfg.MaxMessage
	payload, length := pb.buf, clampInt(pb.total)
	truncated := pb.total > uint64(len(pb.buf))
	compressed, problem := false, ""
	if pb.encoding != "" {
		// A body cut at the cap is inflated as far as its bytes go.
		out, total, err := decodeContent(pb.encoding, pb.buf, limit, truncated)
		switch {
		case err != nil:
			problem = "HTTP body: " + pb.encoding + ": " + err.Error()
		case truncated:
			payload, length, compressed = out, max(total, len(out)+1), true
		default:
			payload, length, compressed = out, total, true
			truncated = total > len(out)
		}
	}
	if problem != "" {
		c.emitError(pb.fromClient, t, problem)
	}
	e := c.newEvent(KindMessage, pb.fromClient, t)
	e.Polling = true
	e.Method, e.Path = pb.req.method, pb.req.target
	if !pb.fromClient {
		e.Status = pb.status
	}
	e.Opcode = OpText
	if pb.binary {
		e.Opcode = OpBinary
	}
	e.Compressed = compressed
	e.Truncated = truncated
	e.Fragments = 1
	e.Length = length
	e.Payload = payload
	e.PayloadIsText = !pb.binary && (utf8.Valid(payload) || truncated && validUTF8Prefix(payload))
	c.emit(e)
}

// decodeContent undoes a Content-Encoding, keeping at most limit bytes
// of the output: a bomb stops there. It returns the output and its
// length (limit+1 when there was more). A partial body (cut at the cap)
// gives what its bytes inflate to.
func decodeContent(encoding string, body []byte, limit int, partial bool) ([]byte, int, error) {
	var r io.Reader
	var err error
	switch encoding {
	case "gzip", "x-gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		// HTTP's deflate is zlib (RFC 9110 section 8.4.1.2); some servers
		// send raw DEFLATE, which browsers accept too.
		r, err = zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			r, err = flate.NewReader(bytes.NewReader(body)), nil
		}
	default:
		return nil, 0, errUnknownEncoding
	}
	if err != nil {
		return nil, 0, err
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil && !(partial && errors.Is(err, io.ErrUnexpectedEOF)) {
		return nil, 0, err
	}
	if len(out) > limit {
		return out[:limit], limit + 1, nil
	}
	return out, len(out), nil
}

var errUnknownEncoding = errorString("content coding not supported")

type errorString string

func (e errorString) Error() string { return string(e) }
