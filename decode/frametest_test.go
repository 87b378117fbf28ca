package decode

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

// This file builds test traffic: frames (masked or not, fragmented,
// compressed), handshakes, and a harness that feeds them to a Conn and
// records the events as one line each.

// testKey is the masking key of client frames unless a test picks another.
var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frameSpec describes one frame to build.
type frameSpec struct {
	op      Opcode
	notFin  bool // FIN clear: more fragments follow
	rsv     byte // RSV bits as in the first byte (rsv1, rsv2, rsv3)
	masked  bool
	key     [4]byte
	payload []byte
	// lenForm forces the length encoding: 7, 16 or 64 bits (0: the minimal one).
	lenForm int
	// claim, when non-zero, is the length written in the header instead of
	// len(payload): for headers that lie.
	claim uint64
}

// build writes the frame's bytes.
func (f frameSpec) build() []byte {
	b0 := byte(f.op&0x0f) | f.rsv
	if !f.notFin {
		b0 |= 0x80
	}
	n := uint64(len(f.payload))
	if f.claim != 0 {
		n = f.claim
	}
	form := f.lenForm
	if form == 0 {
		switch {
		case n <= 125:
			form = 7
		case n <= 0xffff:
			form = 16
		default:
			form = 64
		}
	}
	var m byte
	if f.masked {
		m = 0x80
	}
	out := []byte{b0}
	switch form {
	case 7:
		out = append(out, m|byte(n))
	case 16:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, n)
	}
	if f.masked {
		out = append(out, f.key[:]...)
	}
	start := len(out)
	out = append(out, f.payload...)
	if f.masked {
		maskRef(f.key, 0, out[start:])
	}
	return out
}

// maskRef is the byte-by-byte reference for Mask.
func maskRef(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// cf builds an unfragmented masked client frame; sf a server frame.
func cf(op Opcode, payload string) []byte {
	return frameSpec{op: op, masked: true, key: testKey, payload: []byte(payload)}.build()
}

func sf(op Opcode, payload string) []byte {
	return frameSpec{op: op, payload: []byte(payload)}.build()
}

// fragments splits payload into n frames of op (the rest continuations).
func fragments(op Opcode, payload []byte, n int, masked bool, rsv byte) [][]byte {
	var out [][]byte
	size := (len(payload) + n - 1) / max(n, 1)
	for i := 0; i < n; i++ {
		lo, hi := min(i*size, len(payload)), min((i+1)*size, len(payload))
		f := frameSpec{op: OpContinuation, notFin: i < n-1, masked: masked, key: testKey, payload: payload[lo:hi]}
		if i == 0 {
			f.op, f.rsv = op, rsv
		}
		out = append(out, f.build())
	}
	return out
}

// deflater compresses messages as a permessage-deflate sender does: one
// flate stream per direction, flushed at each message's end with the
// trailing 00 00 ff ff removed; reset per message without context takeover.
type deflater struct {
	takeover bool
	buf      bytes.Buffer
	w        *flate.Writer
}

func newDeflater(takeover bool) *deflater {
	d := &deflater{takeover: takeover}
	d.w, _ = flate.NewWriter(&d.buf, flate.DefaultCompression)
	return d
}

func (d *deflater) compress(msg []byte) []byte {
	d.buf.Reset()
	if !d.takeover {
		d.w.Reset(&d.buf)
	}
	d.w.Write(msg)
	d.w.Flush()
	out := bytes.Clone(d.buf.Bytes())
	if !bytes.HasSuffix(out, tail[:]) {
		panic("flush did not end with an empty stored block")
	}
	return out[:len(out)-4]
}

// The handshake of RFC 6455 section 1.3.
const (
	rfcKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	rfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// upgradeReq builds an upgrade request; extra header lines are appended.
func upgradeReq(path string, extra ...string) string {
	s := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:7272\r\nUser-Agent: test-agent\r\n" +
		"Origin: http://127.0.0.1:55151\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + rfcKey + "\r\n"
	for _, l := range extra {
		s += l + "\r\n"
	}
	return s + "\r\n"
}

// upgradeResp builds a 101 response with the right accept key.
func upgradeResp(extra ...string) string {
	s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + rfcAccept + "\r\n"
	for _, l := range extra {
		s += l + "\r\n"
	}
	return s + "\r\n"
}

// Addresses of the test connection.
var (
	testClient = netip.MustParseAddrPort("10.0.0.1:50123")
	testServer = netip.MustParseAddrPort("10.0.0.2:7272")
	testT0     = time.Date(2026, 11, 24, 18, 42, 0, 0, time.UTC)
)

// recorder is a Sink that keeps each event as a line (describe) and checks
// the invariants every event must hold.
type recorder struct {
	tb       testing.TB
	max      int // the message cap
	lines    []string
	events   []Event
	keepFull bool
}

func (r *recorder) Event(e *Event) {
	checkEvent(r.tb, e, r.max)
	r.lines = append(r.lines, describe(e))
	if r.keepFull {
		c := *e
		c.Payload = bytes.Clone(e.Payload)
		c.Chat = bytes.Clone(e.Chat)
		r.events = append(r.events, c)
	}
}

// checkEvent fails the test when e breaks the Event contract.
func checkEvent(tb testing.TB, e *Event, max int) {
	tb.Helper()
	if e.ConnID == 0 || e.Time.IsZero() || !e.Client.IsValid() || !e.Server.IsValid() {
		tb.Fatalf("event without connection, time or addresses: %+v", e)
	}
	if e.Length < len(e.Payload) {
		tb.Fatalf("Length %d < len(Payload) %d: %s", e.Length, len(e.Payload), describe(e))
	}
	if len(e.Payload) > max {
		tb.Fatalf("Payload of %d bytes over the cap %d", len(e.Payload), max)
	}
	if e.Kind == KindMessage && e.Fragments < 1 {
		tb.Fatalf("message with %d fragments", e.Fragments)
	}
	if e.Kind == KindError && e.Err == "" {
		tb.Fatalf("error event without Err")
	}
	if e.Kind != KindMessage && (len(e.Payload) > 0 || len(e.Chat) > 0) {
		tb.Fatalf("%s event with a payload", e.Kind)
	}
}

// describe writes an event as one line for comparisons.
func describe(e *Event) string {
	who := "server"
	if e.FromClient {
		who = "client"
	}
	var s string
	switch e.Kind {
	case KindOpen:
		s = "open " + e.Path
		if e.Polling {
			s = "open polling " + e.Path
		}
		if e.Extensions != "" {
			s += " ext=" + e.Extensions
		}
		if e.Subprotocol != "" {
			s += " proto=" + e.Subprotocol
		}
		if !e.AcceptOK && !e.Polling {
			s += " accept=bad"
		}
		if e.Err != "" {
			s += " err=" + e.Err
		}
		if e.TLS != nil {
			s += fmt.Sprintf(" tls=%s/%s/%s/decrypted=%v", e.TLS.VersionName(), e.TLS.SNI, e.TLS.ALPN, e.TLS.Decrypted)
			if e.TLS.Reason != "" {
				s += " (" + e.TLS.Reason + ")"
			}
		}
	case KindMessage:
		s = who + " " + e.Opcode.String()
		switch {
		case e.Opcode == OpClose && e.CloseCode != 0:
			s += fmt.Sprintf(" %d %q", e.CloseCode, e.CloseReason)
		case e.PayloadIsText:
			s += " " + strconv.Quote(string(e.Payload))
		case len(e.Payload) > 32:
			s += fmt.Sprintf(" <%d bytes>", len(e.Payload))
		case len(e.Payload) > 0:
			s += " " + hex.EncodeToString(e.Payload)
		}
		if e.Fragments != 1 {
			s += fmt.Sprintf(" frags=%d", e.Fragments)
		}
		if e.Length != len(e.Payload) {
			s += fmt.Sprintf(" len=%d", e.Length)
		}
		if e.Truncated {
			s += " truncated"
		}
		if e.Compressed {
			s += " deflate"
		}
		if e.ChatLine != "" {
			s += " | " + e.ChatLine
		}
		if e.Violations != 0 {
			s += " viol=" + strings.Join(e.Violations.Names(), ",")
		}
		if e.Polling {
			s += fmt.Sprintf(" [polling %s %s %d]", e.Method, e.Path, e.Status)
		}
	case KindError:
		s = "error " + who + ": " + e.Err
	case KindGap:
		s = fmt.Sprintf("gap %s %d", who, e.Bytes)
	case KindRejected:
		s = fmt.Sprintf("rejected %s %d %q", e.Path, e.Status, e.StatusText)
	case KindClose:
		s = "close"
	}
	if e.Midstream {
		s += " [midstream]"
	}
	return s
}

// harness feeds one connection.
type harness struct {
	tb  testing.TB
	d   *Decoder
	rec *recorder
	c   reassembly.Conn
	t   time.Time
}

func newHarness(tb testing.TB, cfg Config) *harness {
	return newHarnessInfo(tb, cfg, reassembly.ConnInfo{ID: 1, Client: testClient, Server: testServer, SawSYN: true, Time: testT0})
}

func newHarnessInfo(tb testing.TB, cfg Config, info reassembly.ConnInfo) *harness {
	max := cfg.MaxMessage
	if max <= 0 {
		max = DefaultMaxMessage
	}
	rec := &recorder{tb: tb, max: max}
	d := NewDecoder(cfg, rec)
	return &harness{tb: tb, d: d, rec: rec, c: d.NewConn(info), t: testT0}
}

func (h *harness) tick() time.Time {
	h.t = h.t.Add(time.Millisecond)
	return h.t
}

// client and server deliver each argument as one Data call.
func (h *harness) client(bs ...[]byte) {
	for _, b := range bs {
		h.c.Data(reassembly.ClientToServer, b, h.tick())
	}
}

func (h *harness) server(bs ...[]byte) {
	for _, b := range bs {
		h.c.Data(reassembly.ServerToClient, b, h.tick())
	}
}

func (h *harness) gap(dir reassembly.Dir, n int) { h.c.Gap(dir, n, h.tick()) }
func (h *harness) end()                          { h.c.End(reassembly.EndFIN, h.tick()) }

// open runs a handshake whose response carries the given extra lines.
func (h *harness) open(respExtra ...string) {
	h.client([]byte(upgradeReq("/")))
	h.server([]byte(upgradeResp(respExtra...)))
}

// take returns the lines recorded since the last take, without the open.
func (h *harness) take() []string {
	var out []string
	for _, l := range h.rec.lines {
		if !strings.HasPrefix(l, "open ") {
			out = append(out, l)
		}
	}
	h.rec.lines = nil
	return out
}

// cat joins byte slices.
func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// equalLines compares event lines and reports the difference readably.
func equalLines(tb testing.TB, got, want []string) {
	tb.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		tb.Errorf("events:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}
