package workerman

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/decode"
)

// The chat layer's tests hand it message events as the decoder makes
// them; decode's own tests cover how frames become those events.

const (
	OpText   = decode.OpText
	OpBinary = decode.OpBinary
)

var (
	testClient = netip.MustParseAddrPort("10.0.0.1:50123")
	testServer = netip.MustParseAddrPort("10.0.0.2:7272")
	testT0     = time.Date(2026, 11, 24, 18, 42, 0, 0, time.UTC)
)

// testMsg is one whole message of one side.
type testMsg struct {
	op         decode.Opcode
	payload    string
	fromClient bool
}

// cf and sf are a client's and a server's message.
func cf(op decode.Opcode, payload string) testMsg { return testMsg{op, payload, true} }
func sf(op decode.Opcode, payload string) testMsg { return testMsg{op, payload, false} }

// recorder keeps copies of the events it is handed.
type recorder struct{ events []decode.Event }

func (r *recorder) Event(e *decode.Event) {
	c := *e
	c.Payload = bytes.Clone(e.Payload)
	c.Chat = bytes.Clone(e.Chat)
	r.events = append(r.events, c)
}

// harness feeds message events of one connection at a time (conn, to
// srv) through a Reader.
type harness struct {
	r    *Reader
	rec  *recorder
	conn uint64
	srv  netip.AddrPort
	t    time.Time
}

func newHarness(tb testing.TB) *harness {
	rec := new(recorder)
	return &harness{r: NewReader(rec, Options{}), rec: rec, conn: 1, srv: testServer, t: testT0}
}

func (h *harness) send(ms []testMsg) {
	for _, m := range ms {
		h.t = h.t.Add(time.Millisecond)
		p := []byte(m.payload)
		e := decode.Event{
			Kind: decode.KindMessage, Time: h.t, ConnID: h.conn, Client: testClient, Server: h.srv,
			FromClient: m.fromClient, Opcode: m.op, Masked: m.fromClient, Fragments: 1,
			Length: len(p), Payload: p, PayloadIsText: m.op == OpText,
		}
		h.r.Event(&e)
	}
}

func (h *harness) client(ms ...testMsg) { h.send(ms) }
func (h *harness) server(ms ...testMsg) { h.send(ms) }

func equalLines(tb testing.TB, got, want []string) {
	tb.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		tb.Errorf("events:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func jsonObject(b []byte) bool { return json.Valid(b) && len(b) > 0 && b[0] == '{' }
