package render

import (
	"bufio"
	"io"
	"strconv"
	"unsafe"

	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// MaxShownText is how much of a text, a chat line or a JSON string the
// conversation and explain views print; NDJSON always carries all of it.
// The chat layer may be told to decode no more of a line than this
// (decode.ChatOptions.MaxContent).
const MaxShownText = 1024

// maxShownBinary is how many bytes of a binary payload are hex-dumped.
const maxShownBinary = 64

// TextOptions configures the conversation view.
type TextOptions struct {
	Scheme  *Scheme // colours; NewScheme(false) for none
	Compact bool    // JSON on the message's line instead of pretty-printed under it
}

// Text writes the conversation view: a header line when a WebSocket opens,
// then a line per message (time, connection, direction, the chat line) with
// its JSON under it.
type Text struct {
	w    *bufio.Writer
	opts TextOptions
	f    textFormatter // Event's
	buf  []byte
}

// NewText returns a conversation writer; call Flush at the end, or after
// each batch of events when output must appear at once (live capture).
func NewText(w io.Writer, opts TextOptions) *Text {
	if opts.Scheme == nil {
		opts.Scheme = NewScheme(false)
	}
	return &Text{w: bufio.NewWriterSize(w, 64<<10), opts: opts, f: textFormatter{opts: opts}}
}

// Formatter returns a new Formatter of events as Event writes them.
func (t *Text) Formatter() Formatter { return &textFormatter{opts: t.opts} }

type textFormatter struct {
	opts TextOptions
	mem  textMemory
}

// textMemory is what a text Formatter remembers: how it showed the chat
// lines and the JSON of recent messages (apart, since a chat line might
// read like a JSON message), and the last second of its clock.
type textMemory struct {
	lines recalled // escaped chat lines, by the line shown
	chats recalled // the JSON printed under a message, by the compacted JSON
	clock lastSecond
}

func (f *textFormatter) AppendEvent(dst []byte, e *decode.Event) []byte {
	return appendText(dst, e, f.opts, &f.mem)
}

// Write writes p, events formatted by a Formatter, after what was written
// before.
func (t *Text) Write(p []byte) (int, error) { return t.w.Write(p) }

// Flush writes out what is buffered.
func (t *Text) Flush() error { return t.w.Flush() }

// Event writes e.
func (t *Text) Event(e *decode.Event) {
	t.buf = t.f.AppendEvent(t.buf[:0], e)
	t.w.Write(t.buf)
}

// AppendText appends e as the conversation view shows it.
func AppendText(b []byte, e *decode.Event, o TextOptions) []byte { return appendText(b, e, o, nil) }

// appendText is AppendText taking how recent messages were shown from mem
// (which may be nil).
func appendText(b []byte, e *decode.Event, o TextOptions, mem *textMemory) []byte {
	var lines, chats *recalled
	var clock *lastSecond
	if mem != nil {
		lines, chats, clock = &mem.lines, &mem.chats, &mem.clock
	}
	sc := o.Scheme
	b = append(b, sc.Time.on...)
	b = appendClock(b, e.Time, clock)
	b = append(b, sc.Time.off...)
	b = append(b, ' ')
	cs := sc.conn(e.ConnID)
	b = append(b, cs.on...)
	b = append(b, '#')
	b = strconv.AppendUint(b, e.ConnID, 10)
	b = append(b, cs.off...)
	b = append(b, ' ')

	switch e.Kind {
	case decode.KindOpen:
		return appendOpen(b, e, sc)
	case decode.KindRejected:
		return appendRejected(b, e, sc)
	case decode.KindClose:
		b = append(b, sc.Dim.on...)
		b = append(b, "connection closed"...)
		b = append(b, sc.Dim.off...)
		return append(b, '\n')
	}

	b = appendDirection(b, e.FromClient, sc)
	switch e.Kind {
	case decode.KindGap:
		b = append(b, sc.Warn.on...)
		b = append(b, "gap: "...)
		if e.Bytes >= 0 {
			b = strconv.AppendInt(b, int64(e.Bytes), 10)
			b = append(b, " bytes"...)
		} else {
			b = append(b, "bytes"...)
		}
		b = append(b, " not captured, resynchronising"...)
		b = append(b, sc.Warn.off...)
		return append(b, '\n')
	case decode.KindError:
		b = append(b, sc.Error.on...)
		b = append(b, "error: "...)
		b = appendEscaped(b, e.Err)
		b = append(b, sc.Error.off...)
		return append(b, '\n')
	}
	return appendMessage(b, e, o, lines, chats)
}

func appendDirection(b []byte, fromClient bool, sc *Scheme) []byte {
	if fromClient {
		b = append(b, sc.Client.on...)
		b = append(b, "client → server"...)
		b = append(b, sc.Client.off...)
	} else {
		b = append(b, sc.Server.on...)
		b = append(b, "server → client"...)
		b = append(b, sc.Server.off...)
	}
	return append(b, "  "...)
}

func appendOpen(b []byte, e *decode.Event, sc *Scheme) []byte {
	b = append(b, e.Client.String()...)
	b = append(b, " → "...)
	b = append(b, e.Server.String()...)
	if e.TLS != nil && !e.TLS.Decrypted {
		return appendUndecrypted(b, e.TLS, sc)
	}
	if e.TLS != nil {
		b = append(b, " TLS "...)
		b = append(b, e.TLS.VersionName()...)
		b = append(b, sc.Dim.on...)
		b = appendTLSDetails(b, e.TLS)
		b = append(b, sc.Dim.off...)
	}
	if e.Midstream {
		b = append(b, " WebSocket (caught midstream: upgrade not captured)"...)
		return append(b, '\n')
	}
	if e.Polling {
		b = append(b, " HTTP long-polling "...)
		b = appendEscaped(b, e.Path)
		if e.Origin != "" {
			b = append(b, " origin "...)
			b = appendEscaped(b, e.Origin)
		}
		return append(b, '\n')
	}
	b = append(b, " WebSocket GET "...)
	b = appendEscaped(b, e.Path)
	if e.Origin != "" {
		b = append(b, " origin "...)
		b = appendEscaped(b, e.Origin)
	}
	if e.Subprotocol != "" {
		b = append(b, " subprotocol "...)
		b = appendEscaped(b, e.Subprotocol)
	}
	if e.Extensions != "" {
		b = append(b, sc.Dim.on...)
		b = append(b, " ["...)
		b = appendEscaped(b, e.Extensions)
		b = append(b, ']')
		b = append(b, sc.Dim.off...)
	}
	if !e.AcceptOK {
		b = append(b, sc.Error.on...)
		if e.Err != "" {
			b = append(b, ' ')
			b = appendEscaped(b, e.Err)
		} else {
			b = append(b, " Sec-WebSocket-Accept does not match the key"...)
		}
		b = append(b, sc.Error.off...)
	}
	return append(b, '\n')
}

// appendTLSDetails appends " (cipher, sni name, alpn proto)", with what
// is known of them.
func appendTLSDetails(b []byte, info *tlsdecrypt.Info) []byte {
	n := len(b)
	sep := func() {
		if len(b) == n {
			b = append(b, " ("...)
		} else {
			b = append(b, ", "...)
		}
	}
	if name := info.CipherName(); name != "" {
		sep()
		b = append(b, name...)
	}
	if info.SNI != "" {
		sep()
		b = append(b, "sni "...)
		b = appendEscaped(b, info.SNI)
	}
	if info.ALPN != "" {
		sep()
		b = append(b, "alpn "...)
		b = appendEscaped(b, info.ALPN)
	}
	if len(b) > n {
		b = append(b, ')')
	}
	return b
}

// appendUndecrypted shows a TLS connection whose bytes cannot be read.
func appendUndecrypted(b []byte, info *tlsdecrypt.Info, sc *Scheme) []byte {
	b = append(b, " TLS"...)
	if v := info.VersionName(); v != "" {
		b = append(b, ' ')
		b = append(b, v...)
	}
	b = appendTLSDetails(b, info)
	b = append(b, sc.Warn.on...)
	b = append(b, " not decrypted"...)
	if info.Reason != "" {
		b = append(b, ": "...)
		b = appendEscaped(b, info.Reason)
	}
	b = append(b, sc.Warn.off...)
	return append(b, '\n')
}

// appendRejected shows an upgrade request the server refused.
func appendRejected(b []byte, e *decode.Event, sc *Scheme) []byte {
	b = append(b, e.Client.String()...)
	b = append(b, " → "...)
	b = append(b, e.Server.String()...)
	b = append(b, " WebSocket GET "...)
	b = appendEscaped(b, e.Path)
	if e.Origin != "" {
		b = append(b, " origin "...)
		b = appendEscaped(b, e.Origin)
	}
	b = append(b, sc.Error.on...)
	b = append(b, " rejected: HTTP "...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	if e.StatusText != "" {
		b = append(b, ' ')
		b = appendEscaped(b, e.StatusText)
	}
	b = append(b, sc.Error.off...)
	return append(b, '\n')
}

func appendMessage(b []byte, e *decode.Event, o TextOptions, lines, chats *recalled) []byte {
	sc := o.Scheme
	switch {
	case e.ChatLine != "":
		line, cut := cutText(e.ChatLine, MaxShownText)
		style := &sc.Chat
		if e.Heartbeat {
			style = &sc.Dim
		}
		b = append(b, style.on...)
		// The bytes of the line, read only (the memory copies its keys).
		b = appendRecalled(b, unsafe.Slice(unsafe.StringData(line), len(line)), lines, appendEscaped[[]byte])
		b = append(b, style.off...)
		if whole := max(len(e.ChatLine), e.ChatLineLen); cut || whole > len(e.ChatLine) {
			b = appendCutMark(b, whole, sc)
		}
	case e.Opcode == decode.OpClose:
		b = append(b, "close"...)
		if e.CloseCode != 0 {
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(e.CloseCode), 10)
			if name := closeCodeName(e.CloseCode); name != "" {
				b = append(b, " ("...)
				b = append(b, name...)
				b = append(b, ')')
			}
		}
		if e.CloseReason != "" {
			b = append(b, ` "`...)
			b = appendEscaped(b, e.CloseReason)
			b = append(b, '"')
		}
	case e.Opcode == decode.OpPing || e.Opcode == decode.OpPong:
		b = append(b, e.Opcode.String()...)
		if len(e.Payload) > 0 {
			b = append(b, ' ')
			b = appendPayloadSummary(b, e, sc)
		}
	case len(e.Chat) > 0:
		b = append(b, "JSON"...)
	case e.Opcode.IsReserved() || e.Opcode == decode.OpContinuation:
		// A frame no RFC defines, or the fragments of a message whose
		// first frame (and so its opcode) was not seen.
		b = append(b, e.Opcode.String()...)
		if len(e.Payload) > 0 {
			b = append(b, ' ')
			b = appendPayloadSummary(b, e, sc)
		}
	default:
		b = appendPayloadSummary(b, e, sc)
	}
	b = appendFlags(b, e, sc)
	if e.Violations != 0 {
		b = append(b, sc.Error.on...)
		b = append(b, " [violation: "...)
		b = appendViolations(b, e.Violations)
		b = append(b, ']')
		b = append(b, sc.Error.off...)
	}
	if len(e.Chat) > 0 {
		prefix, indent := "    ", "  "
		if o.Compact {
			b = append(b, "  "...)
			prefix, indent = "", ""
		} else {
			b = append(b, "\n    "...)
		}
		b = appendRecalled(b, e.Chat, chats, func(b, js []byte) []byte {
			return appendJSON(b, js, sc, prefix, indent)
		})
	}
	return append(b, '\n')
}

// appendPayloadSummary shows text escaped (cut at MaxShownText) and binary
// as its length and a hex dump of its first bytes.
func appendPayloadSummary(b []byte, e *decode.Event, sc *Scheme) []byte {
	p := e.Payload
	if e.PayloadIsText {
		shown, cut := cutText(p, MaxShownText)
		b = append(b, sc.String.on...)
		b = appendEscaped(b, shown)
		b = append(b, sc.String.off...)
		if cut {
			b = appendCutMark(b, len(p), sc)
		}
		return b
	}
	if e.Opcode == decode.OpBinary {
		b = append(b, "binary "...)
		b = strconv.AppendInt(b, int64(e.Length), 10)
		b = append(b, " bytes"...)
	}
	if len(p) == 0 {
		return b
	}
	if e.Opcode == decode.OpBinary {
		b = append(b, ": "...)
	}
	n := min(len(p), maxShownBinary)
	b = append(b, sc.Number.on...)
	for i, c := range p[:n] {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	b = append(b, sc.Number.off...)
	if n < len(p) {
		b = append(b, " …"...)
	}
	return b
}

// appendFlags notes what shaped the message on the wire.
func appendFlags(b []byte, e *decode.Event, sc *Scheme) []byte {
	start := len(b)
	b = append(b, sc.Dim.on...)
	mark := len(b)
	if e.Fragments > 1 {
		b = append(b, " ["...)
		b = strconv.AppendInt(b, int64(e.Fragments), 10)
		b = append(b, " fragments]"...)
	}
	if e.Polling {
		b = append(b, " [polling "...)
		b = appendEscaped(b, e.Method)
		if e.Status != 0 && e.Status != 200 {
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(e.Status), 10)
		}
		b = append(b, ']')
	}
	if e.Compressed {
		if e.Polling {
			b = append(b, " [compressed]"...)
		} else {
			b = append(b, " [deflate]"...)
		}
	}
	if e.Midstream {
		b = append(b, " [midstream]"...)
	}
	if e.Truncated {
		b = append(b, " [truncated: "...)
		b = strconv.AppendInt(b, int64(e.Length), 10)
		b = append(b, " bytes]"...)
	}
	if len(b) == mark {
		return b[:start]
	}
	return append(b, sc.Dim.off...)
}

// appendViolations writes the names of v separated by commas.
func appendViolations(b []byte, v decode.Violations) []byte {
	for i, name := range v.Names() {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, name...)
	}
	return b
}

// closeCodeName names the status codes of RFC 6455 section 7.4.1.
func closeCodeName(code int) string {
	switch code {
	case 1000:
		return "normal closure"
	case 1001:
		return "going away"
	case 1002:
		return "protocol error"
	case 1003:
		return "unsupported data"
	case 1007:
		return "invalid payload data"
	case 1008:
		return "policy violation"
	case 1009:
		return "message too big"
	case 1010:
		return "mandatory extension"
	case 1011:
		return "internal error"
	case 1012:
		return "service restart"
	case 1013:
		return "try again later"
	case 1014:
		return "bad gateway"
	}
	return ""
}
