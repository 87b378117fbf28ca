package decode

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
)

// The HTTP/1.1 heads before the upgrade are parsed here by hand rather than
// with net/http: http.ReadRequest refuses what a sniffer must still show
// (an HTTP/1.1 request without Host, header names net/http deems invalid,
// bare LF line ends), and it wants a blocking reader while the bytes come
// in pushed pieces. The parser only splits lines and fields; it never
// allocates more than the head (bounded by MaxHead) it was given.

// headReader collects one HTTP head, which may arrive in many pieces.
type headReader struct {
	buf []byte
}

// feed adds b to the head. When the head is complete (its blank line seen)
// it returns it, valid until the next feed, and the bytes of b after it;
// otherwise head is nil and all of b was taken. tooLong reports a head that
// reached MaxHead without ending.
func (r *headReader) feed(b []byte) (head, rest []byte, tooLong bool) {
	old := len(r.buf)
	take := min(len(b), MaxHead-old)
	r.buf = append(r.buf, b[:take]...)
	// The blank line may straddle the pieces: look from a little before
	// the new bytes.
	end := headEnd(r.buf, max(0, old-3))
	if end < 0 {
		return nil, nil, len(r.buf) >= MaxHead
	}
	head = r.buf[:end]
	r.buf = r.buf[:0]
	return head, b[end-old:], false
}

// headEnd returns the index just past the blank line ending a head in b,
// looking from from, or -1. Bare LF line ends are accepted, as browsers'
// and Wireshark's parsers accept them.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
	return -1
}

// httpStart says whether b can be the start of an HTTP head: a request line
// (a method of capital letters and a space) or a status line ("HTTP/").
// undecided means b is too short to tell.
func httpStart(b []byte) (ok, undecided bool) {
	const status = "HTTP/"
	if n := min(len(b), len(status)); string(b[:n]) == status[:n] {
		return n == len(status), n < len(status)
	}
	// Methods are tokens; the registered ones are capital letters, and the
	// longest is 17 ("UPDATEREDIRECTREF"); a little more is allowed.
	for i, c := range b {
		switch {
		case c == ' ':
			return i > 0, false
		case i >= 24:
			return false, false
		case 'A' <= c && c <= 'Z', c == '-', c == '_':
		default:
			return false, false
		}
	}
	return false, true
}

// httpHead is a parsed request or response head.
type httpHead struct {
	request bool
	method  string // request
	target  string // request: the request target, as sent
	status  int    // response
	reason  string // response: the reason phrase
	proto   string // the HTTP version, e.g. HTTP/1.1
	size    int    // bytes of the head, its blank line included
	// fields are the header lines in order, names as written. They are
	// Event's Header type so that an upgrade's Handshake takes the slice
	// as it is, without a copy; the strings share the head's one copy.
	fields []Header
}

// parseHead parses a head that headEnd delimited. ok is false when its first
// line is neither a request line nor a status line.
func parseHead(b []byte) (h httpHead, ok bool) {
	s := string(b)
	h.size = len(b)
	line, s := nextLine(s)
	if !h.startLine(line) {
		return h, false
	}
	for s != "" {
		line, s = nextLine(s)
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h.fields) > 0 {
			// obs-fold (RFC 7230 section 3.2.4): a continuation line.
			f := &h.fields[len(h.fields)-1]
			f.Value = strings.TrimSpace(f.Value + " " + strings.TrimSpace(line))
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if !found {
			// Not a header line: skipped, as a lenient reader would.
			continue
		}
		h.fields = append(h.fields, Header{strings.TrimSpace(name), strings.TrimSpace(value)})
	}
	return h, true
}

// startLine reads a request line ("GET /path HTTP/1.1") or a status line
// ("HTTP/1.1 101 Switching Protocols") into h, and reports whether it is one.
func (h *httpHead) startLine(line string) bool {
	if strings.HasPrefix(line, "HTTP/") {
		// The reason text is free (workerman 5 writes "Switching
		// Protocol") and is not looked at.
		proto, rest, _ := strings.Cut(line, " ")
		code, reason, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
		n, err := strconv.Atoi(code)
		if err != nil || len(code) != 3 || n < 100 {
			return false
		}
		h.status, h.reason, h.proto = n, strings.TrimSpace(reason), proto
		return true
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(strings.TrimLeft(rest, " "), " ")
	if !ok1 || !ok2 || target == "" || !strings.HasPrefix(strings.TrimSpace(proto), "HTTP/") {
		return false
	}
	if start, _ := httpStart([]byte(method + " ")); !start {
		return false
	}
	h.request, h.method, h.target, h.proto = true, method, target, strings.TrimSpace(proto)
	return true
}

// looksLikeHead reports whether the start of a head collected so far can
// be HTTP: its first bytes, and its first line once it is complete.
func looksLikeHead(buf []byte) bool {
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		var h httpHead
		return h.startLine(strings.TrimSuffix(string(buf[:i]), "\r"))
	}
	ok, undecided := httpStart(buf)
	return ok || undecided
}

// nextLine splits off the first line of s, without its CRLF or LF.
func nextLine(s string) (line, rest string) {
	line, rest, _ = strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r"), rest
}

// get returns the first value of the named header, or "".
func (h *httpHead) get(name string) string {
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// has reports whether the named header is present.
func (h *httpHead) has(name string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// list returns every value of the named header joined by ", ", which is
// what several lines of a list header mean (RFC 7230 section 3.2.2).
func (h *httpHead) list(name string) string {
	var out string
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) && f.Value != "" {
			if out != "" {
				out += ", "
			}
			out += f.Value
		}
	}
	return out
}

// hasToken reports whether the named list header holds token, compared
// case-insensitively: "Connection: keep-alive, Upgrade" holds "upgrade".
func (h *httpHead) hasToken(name, token string) bool {
	for t := range strings.SplitSeq(h.list(name), ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// isUpgrade reports whether a request head asks for a WebSocket (RFC 6455
// section 4.1): a GET with Upgrade: websocket, a Connection header naming
// upgrade, and a Sec-WebSocket-Key.
func (h *httpHead) isUpgrade() bool {
	return h.request && h.method == "GET" &&
		h.hasToken("Upgrade", "websocket") &&
		h.hasToken("Connection", "upgrade") &&
		h.get("Sec-WebSocket-Key") != ""
}

// bodyKind is how the body after a head is delimited.
type bodyKind uint8

const (
	bodyNone      bodyKind = iota
	bodyLength             // Content-Length bytes
	bodyChunked            // chunked transfer coding
	bodyTillClose          // a response read until the connection closes
	bodyInvalid            // a length that cannot be read
)

// body says how the body after h is delimited (RFC 7230 section 3.3.3).
// headRequest says the response answers a HEAD request.
func (h *httpHead) body(headRequest bool) (bodyKind, uint64) {
	if !h.request && (h.status < 200 || h.status == 204 || h.status == 304 || headRequest) {
		return bodyNone, 0
	}
	if te := h.list("Transfer-Encoding"); te != "" {
		codings := strings.Split(te, ",")
		if strings.EqualFold(strings.TrimSpace(codings[len(codings)-1]), "chunked") {
			return bodyChunked, 0
		}
		if h.request {
			return bodyInvalid, 0
		}
		return bodyTillClose, 0
	}
	if cl := h.list("Content-Length"); cl != "" {
		// Repeated equal values ("5, 5") are allowed; differing ones are not.
		var n uint64
		for i, v := range strings.Split(cl, ",") {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 10, 63)
			if err != nil || (i > 0 && m != n) {
				return bodyInvalid, 0
			}
			n = m
		}
		return bodyLength, n
	}
	if h.request {
		return bodyNone, 0
	}
	return bodyTillClose, 0
}

// websocketGUID is the magic string of RFC 6455 section 1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey returns the Sec-WebSocket-Accept a server must answer key with:
// base64(SHA-1(key + GUID)).
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// chunkSkipper passes over a chunked body (RFC 7230 section 4.1) as its
// bytes arrive, keeping no more than a counter: chunk sizes, extensions
// and trailers are read only to find where the body ends.
type chunkSkipper struct {
	state  uint8
	size   uint64 // bytes left in the chunk
	digits int    // hex digits of the size read so far
	line   int    // bytes of the current line (extension or trailer)
	total  int    // trailer bytes so far
}

const (
	chunkSize    = iota // reading a chunk-size line
	chunkData           // inside a chunk
	chunkDataEnd        // the CRLF after a chunk
	chunkTrailer        // trailer lines after the last chunk
)

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4096

// feed consumes bytes of the body from b, handing the chunks' data to
// keep when it is not nil. It returns how many it used, and done when the
// body ended there; ok is false when the bytes are not a chunked body.
func (c *chunkSkipper) feed(b []byte, keep func([]byte)) (used int, done, ok bool) {
	for i := 0; i < len(b); {
		switch c.state {
		case chunkSize:
			ch := b[i]
			i++
			c.line++
			if c.line > maxChunkLine {
				return i, false, false
			}
			switch {
			case ch == '\n':
				if c.digits == 0 {
					return i, false, false
				}
				c.state, c.line, c.digits = chunkData, 0, 0
				if c.size == 0 {
					c.state = chunkTrailer
				}
			case c.line-1 == c.digits && hexVal(ch) >= 0:
				if c.digits == 15 {
					return i, false, false // over 2^60 bytes: not a real chunk
				}
				c.size = c.size<<4 | uint64(hexVal(ch))
				c.digits++
			case c.digits == 0:
				return i, false, false
			}
			// Anything else after the digits is an extension or the CR.
		case chunkData:
			n := uint64(len(b) - i)
			if n > c.size {
				n = c.size
			}
			if keep != nil {
				keep(b[i : i+int(n)])
			}
			c.size -= n
			i += int(n)
			if c.size == 0 {
				c.state = chunkDataEnd
			}
		case chunkDataEnd:
			ch := b[i]
			i++
			switch ch {
			case '\r':
			case '\n':
				c.state = chunkSize
			default:
				return i, false, false
			}
		case chunkTrailer:
			ch := b[i]
			i++
			c.total++
			if c.total > MaxHead {
				return i, false, false
			}
			switch ch {
			case '\r':
			case '\n':
				if c.line == 0 {
					*c = chunkSkipper{}
					return i, true, true
				}
				c.line = 0
			default:
				c.line++
			}
		}
	}
	return len(b), false, true
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
