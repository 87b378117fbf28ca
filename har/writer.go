package har

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/netip"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/decode"
)

// Limits on what is held for the connections still open: a capture may
// hold any number of connections that never close, each with any number of
// messages, and the HAR's entries can only be written whole.
const (
	// MaxHeld bounds the bytes held across all open connections: message
	// payloads, headers and a fixed overhead per message
	// (heldOverhead). A message past it is not kept, and counted in its
	// entry's comment; a connection opened past it keeps no headers.
	MaxHeld = 256 << 20

	// MaxMessageKept bounds one message's payload in the HAR: a longer one
	// is cut there and marked truncated, with its full length. It is the
	// decoder's default message cap, so it only bites with --max-message.
	MaxMessageKept = decode.DefaultMaxMessage

	// heldOverhead is what a held message costs beside its payload (its
	// struct and slice slot), counted so that floods of empty messages are
	// bounded too.
	heldOverhead = 64
)

// Writer writes a HAR file of the WebSocket connections whose events it is
// given. It is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	err     error // the first write error; nothing is written after it
	started bool  // the document's head was written
	entries int   // entries written
	closed  bool
	conns   map[uint64]*conn
	seq     int   // connections opened, for Close's order
	held    int64 // bytes held, within maxHeld
	maxHeld int64 // MaxHeld; tests lower it
	buf     bytes.Buffer
	enc     *json.Encoder
}

// conn is an open connection's entry, written at its close.
type conn struct {
	seq     int
	e       entry
	open    time.Time
	first   time.Time // the first message's time; zero before it
	msgs    []held
	held    int64 // bytes of w.held that are this connection's
	dropped int   // messages not kept: over MaxHeld
	gaps    int   // gap events
	errors  int   // error events
	noHdrs  bool  // headers not kept: over MaxHeld
}

// held is a message kept until its connection's entry is written.
type held struct {
	t          time.Time
	fromClient bool
	op         decode.Opcode
	text       bool // the decoder found the payload to be text
	truncated  bool
	length     int
	data       []byte
}

// NewWriter returns a Writer of a HAR file to w. Nothing is written before
// the first entry is complete, or Close.
func NewWriter(w io.Writer) *Writer {
	hw := &Writer{w: w, conns: map[uint64]*conn{}, maxHeld: MaxHeld}
	hw.enc = json.NewEncoder(&hw.buf)
	// Payloads are shown as sent: "<" stays "<" (still valid JSON).
	hw.enc.SetEscapeHTML(false)
	hw.enc.SetIndent("      ", "  ")
	return hw
}

// Event implements decode.Sink. The events of connections that are not
// WebSocket (Engine.IO long-polling, TLS not decrypted) are passed over;
// a rejected upgrade is an entry of its own at once, with the server's
// status and no messages, as Chrome lists a WebSocket that failed.
func (w *Writer) Event(e *decode.Event) {
	if w.closed || e == nil {
		return
	}
	switch e.Kind {
	case decode.KindOpen:
		if e.Polling || e.TLS != nil && !e.TLS.Decrypted {
			return
		}
		if old := w.conns[e.ConnID]; old != nil {
			w.finish(e.ConnID, old) // cannot happen: one open per connection
		}
		w.seq++
		c := &conn{seq: w.seq, open: e.Time}
		cost := int64(0)
		if hs := e.Handshake; hs != nil {
			cost = max(0, int64(hs.RequestSize+hs.ResponseSize+heldOverhead*(len(hs.Request)+len(hs.Response))))
		}
		if w.held+cost > w.maxHeld {
			c.noHdrs, cost = true, 0
		}
		c.e = newEntry(e, c.noHdrs)
		c.held = cost
		w.held += cost
		w.conns[e.ConnID] = c
	case decode.KindRejected:
		en := newEntry(e, false)
		en.Response.Status, en.Response.StatusText = e.Status, e.StatusText
		en.Comment = "upgrade rejected"
		w.write(&en)
	case decode.KindMessage:
		if c := w.conns[e.ConnID]; c != nil {
			w.message(c, e)
		}
	case decode.KindGap:
		if c := w.conns[e.ConnID]; c != nil {
			c.gaps++
		}
	case decode.KindError:
		if c := w.conns[e.ConnID]; c != nil {
			c.errors++
		}
	case decode.KindClose:
		if c := w.conns[e.ConnID]; c != nil {
			w.finish(e.ConnID, c)
		}
	}
}

// message keeps a message of c, copied, if MaxHeld allows.
func (w *Writer) message(c *conn, e *decode.Event) {
	if c.first.IsZero() {
		c.first = e.Time
	}
	p := e.Payload
	m := held{t: e.Time, fromClient: e.FromClient, op: e.Opcode, text: e.PayloadIsText,
		truncated: e.Truncated, length: max(e.Length, len(p))}
	if len(p) > MaxMessageKept {
		p, m.truncated = p[:MaxMessageKept], true
	}
	cost := int64(len(p) + heldOverhead)
	if w.held+cost > w.maxHeld {
		c.dropped++
		return
	}
	w.held += cost
	c.held += cost
	m.data = bytes.Clone(p)
	c.msgs = append(c.msgs, m)
}

// finish writes c's entry and forgets it.
func (w *Writer) finish(id uint64, c *conn) {
	delete(w.conns, id)
	w.held -= c.held
	en := &c.e
	if !c.first.IsZero() {
		// HAR's time is the sum of the timings; a WebSocket's only
		// measurable one is the wait for its first message.
		en.Timings.Wait = max(0, ms(c.first.Sub(c.open)))
		en.Time = en.Timings.Wait
	}
	en.Messages = make([]message, 0, len(c.msgs))
	for i := range c.msgs {
		en.Messages = append(en.Messages, c.msgs[i].har())
	}
	var notes []string
	if en.Comment != "" {
		notes = append(notes, en.Comment)
	}
	if c.noHdrs {
		notes = append(notes, "headers not kept: over the HAR's memory cap")
	}
	if c.dropped > 0 {
		notes = append(notes, plural(c.dropped, "message")+" not kept: over the HAR's memory cap")
	}
	if c.gaps > 0 {
		notes = append(notes, plural(c.gaps, "gap")+" in the capture")
	}
	if c.errors > 0 {
		notes = append(notes, plural(c.errors, "decoding error")+" (chatsniff read shows them)")
	}
	en.Comment = strings.Join(notes, "; ")
	w.write(en)
	c.msgs = nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// ms converts a duration to HAR's milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// har converts a held message to Chrome's form.
func (m *held) har() message {
	out := message{Type: "receive", Opcode: int(m.op), Time: epoch(m.t)}
	if m.fromClient {
		out.Type = "send"
	}
	if m.truncated {
		out.Truncated, out.Length = true, &m.length
	}
	p := m.data
	switch {
	case m.op == decode.OpBinary:
		out.Data = base64.StdEncoding.EncodeToString(p)
	case utf8.Valid(p):
		out.Data = string(p)
	case m.text && m.truncated && utf8.Valid(trimRune(p)):
		// Cut inside a character: the text up to it.
		out.Data = string(trimRune(p))
	default:
		out.Data, out.Encoding = base64.StdEncoding.EncodeToString(p), "base64"
	}
	return out
}

// trimRune drops an incomplete UTF-8 sequence at the end of p.
func trimRune(p []byte) []byte {
	for i := 1; i <= 3 && i <= len(p); i++ {
		if utf8.RuneStart(p[len(p)-i]) {
			if !utf8.FullRune(p[len(p)-i:]) {
				return p[:len(p)-i]
			}
			break
		}
	}
	return p
}

// epoch writes t as Chrome's message time: seconds since 1970 with
// microseconds.
func epoch(t time.Time) json.Number {
	us := t.UnixMicro()
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	frac := strconv.FormatInt(us%1e6+1e6, 10)[1:]
	return json.Number(sign + strconv.FormatInt(us/1e6, 10) + "." + frac)
}

// newEntry starts the entry of an open or rejected event: its request and
// response from the Handshake, or made up from what the event has when the
// upgrade was not captured (midstream, a 101 alone).
func newEntry(e *decode.Event, noHeaders bool) entry {
	en := entry{
		StartedDateTime: e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Timings:         timings{Blocked: -1, DNS: -1, Connect: -1, SSL: -1},
		ResourceType:    "websocket",
		Messages:        []message{},
	}
	if e.Server.IsValid() {
		// Chrome writes the server's address without brackets and its
		// port as "connection" (and reads the port back from there).
		en.ServerIPAddress = e.Server.Addr().WithZone("").Unmap().String()
		en.Connection = strconv.Itoa(int(e.Server.Port()))
	}
	if e.Client.IsValid() {
		// Chrome's _connectionId is its socket's id; the client port
		// names the connection in a capture.
		en.ConnectionID = strconv.Itoa(int(e.Client.Port()))
	}
	req := request{Method: "GET", HTTPVersion: "HTTP/1.1", HeadersSize: -1}
	resp := response{Status: 101, StatusText: "Switching Protocols", HTTPVersion: "HTTP/1.1",
		Content: content{MimeType: "x-unknown"}, HeadersSize: -1}
	target, host := e.Path, e.Host
	if hs := e.Handshake; hs != nil {
		req.Method, req.HTTPVersion, req.HeadersSize = hs.Method, hs.Proto, hs.RequestSize
		resp.Status, resp.StatusText, resp.HTTPVersion, resp.HeadersSize = hs.Status, hs.StatusText, hs.ResponseProto, hs.ResponseSize
		target = hs.Target
		for _, h := range hs.Request {
			if strings.EqualFold(h.Name, "Host") {
				host = h.Value
				break
			}
		}
		if !noHeaders {
			req.Headers, resp.Headers = headers(hs.Request), headers(hs.Response)
		}
	} else {
		// Only what the event shows: no request was captured.
		for _, h := range [...]nameValue{{"Host", e.Host}, {"Origin", e.Origin}, {"User-Agent", e.UserAgent}} {
			if h.Value != "" {
				req.Headers = append(req.Headers, h)
			}
		}
		for _, h := range [...]nameValue{{"Sec-WebSocket-Extensions", e.Extensions}, {"Sec-WebSocket-Protocol", e.Subprotocol}} {
			if h.Value != "" {
				resp.Headers = append(resp.Headers, h)
			}
		}
		en.Comment = "upgrade not captured: request and response made up from what was seen"
		if e.Midstream {
			en.Comment = "midstream: the upgrade was not captured; request and response made up"
		}
	}
	if req.Headers == nil {
		req.Headers = []nameValue{}
	}
	if resp.Headers == nil {
		resp.Headers = []nameValue{}
	}
	if !validHost(host) {
		// No Host (midstream, HTTP/1.0), or one no URL can hold (it is
		// still in the headers): the address the connection went to.
		host = ""
		if e.Server.IsValid() {
			host = netip.AddrPortFrom(e.Server.Addr().WithZone(""), e.Server.Port()).String()
		}
	}
	req.URL = wsURL(e.TLS != nil, host, target)
	req.QueryString = queryString(target)
	req.Cookies = requestCookies(req.Headers)
	resp.Cookies = responseCookies(resp.Headers)
	en.Request, en.Response = req, resp
	return en
}

func headers(hs []decode.Header) []nameValue {
	out := make([]nameValue, len(hs))
	for i, h := range hs {
		out[i] = nameValue(h)
	}
	return out
}

// write writes an entry, and the document's head before the first.
func (w *Writer) write(en *entry) {
	if w.err != nil {
		return
	}
	w.buf.Reset()
	w.head()
	if w.entries > 0 {
		w.buf.WriteString(",\n")
	}
	w.entries++
	w.buf.WriteString("      ")
	if err := w.enc.Encode(en); err != nil {
		// Cannot happen: every value is a string, number or bool that
		// encoding/json writes (invalid UTF-8 becomes U+FFFD).
		w.err = err
		return
	}
	w.buf.Truncate(w.buf.Len() - 1) // Encode's newline
	w.flush()
}

// head writes the document up to the first entry, once.
func (w *Writer) head() {
	if w.started {
		return
	}
	w.started = true
	v, _ := json.Marshal(version())
	w.buf.WriteString(`{
  "log": {
    "version": "1.2",
    "creator": {
      "name": "chatsniff",
      "version": ` + string(v) + `
    },
    "pages": [],
    "entries": [
`)
}

func (w *Writer) flush() {
	if w.err != nil {
		return
	}
	_, w.err = w.w.Write(w.buf.Bytes())
	w.buf.Reset()
}

// Close writes the entries of the connections still open, in the order
// they opened, and the end of the document. It returns the first write
// error. Events after it are ignored.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	open := make([]uint64, 0, len(w.conns))
	for id := range w.conns {
		open = append(open, id)
	}
	slices.SortFunc(open, func(a, b uint64) int { return w.conns[a].seq - w.conns[b].seq })
	for _, id := range open {
		w.finish(id, w.conns[id])
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	w.buf.Reset()
	w.head()
	if w.entries > 0 {
		w.buf.WriteString("\n")
	}
	w.buf.WriteString("    ]\n  }\n}\n")
	w.flush()
	return w.err
}

// version is chatsniff's module version as built, "devel" when unknown.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
