package har_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/chatsniff/chatsniff/internal/golden"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/har"
	"github.com/chatsniff/chatsniff/sniff"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// tee is a decode.Sink that hands every event to the HAR writer and keeps
// what the test compares it with.
type tee struct {
	w     *har.Writer
	conns map[uint64]*wantConn // by ConnID, the latest upgrade of each
	order []*wantConn          // every upgrade, open or rejected, in event order
}

// wantConn is what the decoder gave for one connection.
type wantConn struct {
	id        uint64
	open      time.Time
	client    string // port
	handshake *decode.Handshake
	rejected  bool
	msgs      []wantMsg
}

type wantMsg struct {
	fromClient bool
	op         decode.Opcode
	payload    []byte
	t          time.Time
}

func (o *tee) Event(e *decode.Event) {
	switch {
	case e.Kind == decode.KindOpen && !e.Polling && (e.TLS == nil || e.TLS.Decrypted),
		e.Kind == decode.KindRejected:
		c := &wantConn{id: e.ConnID, open: e.Time, client: strconv.Itoa(int(e.Client.Port())),
			handshake: e.Handshake, rejected: e.Kind == decode.KindRejected}
		o.conns[e.ConnID] = c
		o.order = append(o.order, c)
	case e.Kind == decode.KindMessage:
		if c := o.conns[e.ConnID]; c != nil && !c.rejected {
			c.msgs = append(c.msgs, wantMsg{e.FromClient, e.Opcode, bytes.Clone(e.Payload), e.Time})
		}
	}
	o.w.Event(e)
}

// runHAR runs the pipeline on a capture as `chatsniff read --har` does,
// with the key log beside it, and returns the HAR and what the decoder gave.
func runHAR(t *testing.T, path string) ([]byte, *tee) {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	keys := tlsdecrypt.NewKeyLog()
	if k := strings.TrimSuffix(path, filepath.Ext(path)) + ".keys"; fileExists(k) {
		if err := keys.ReadFile(k); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	o := &tee{w: har.NewWriter(&out), conns: map[uint64]*wantConn{}}
	if _, err := sniff.Run(context.Background(), src, sniff.Options{KeyLog: keys}, sniff.SinkOutput{Sink: o}); err != nil {
		t.Fatal(err)
	}
	if err := o.w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), o
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func captures(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no captures in testdata/")
	}
	return files
}

// The parts of the HAR the test reads back.
type harFile struct {
	Log struct {
		Version string
		Entries []struct {
			StartedDateTime string
			ConnectionID    string `json:"_connectionId"`
			Request         struct {
				Method, URL string
				Headers     []struct{ Name, Value string }
			}
			Response struct {
				Status  int
				Headers []struct{ Name, Value string }
			}
			ResourceType string `json:"_resourceType"`
			Messages     []struct {
				Type     string
				Time     json.Number
				Opcode   int
				Data     string
				Encoding string
			} `json:"_webSocketMessages"`
		}
	}
}

// TestCaptures writes the HAR of every real capture, validates it against
// the HAR 1.2 schema and Chrome's WebSocket extension, and checks it
// against what the decoder gave: an entry per connection, its headers,
// every message's direction, opcode, time and payload.
func TestCaptures(t *testing.T) {
	sch := schemas(t)
	for _, path := range captures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, o := runHAR(t, path)
			validate(t, sch, out)
			var f harFile
			if err := json.Unmarshal(out, &f); err != nil {
				t.Fatal(err)
			}
			if len(f.Log.Entries) != len(o.order) {
				t.Fatalf("%d entries, want %d", len(f.Log.Entries), len(o.order))
			}
			// Entries are in close order: found by start and client port.
			byKey := map[string]int{}
			for i, en := range f.Log.Entries {
				byKey[en.StartedDateTime+" "+en.ConnectionID] = i
			}
			msgs := 0
			for _, c := range o.order {
				id := c.id
				i, ok := byKey[c.open.UTC().Format("2006-01-02T15:04:05.000Z07:00")+" "+c.client]
				if !ok {
					t.Fatalf("connection %d: no entry", id)
				}
				en := f.Log.Entries[i]
				if en.ResourceType != "websocket" || en.Request.Method != "GET" || !strings.HasPrefix(en.Request.URL, "ws") {
					t.Errorf("connection %d: entry %+v", id, en.Request)
				}
				if hs := c.handshake; hs != nil {
					if len(en.Request.Headers) != len(hs.Request) || len(en.Response.Headers) != len(hs.Response) || en.Response.Status != hs.Status {
						t.Errorf("connection %d: headers %d/%d, want %d/%d", id, len(en.Request.Headers), len(en.Response.Headers), len(hs.Request), len(hs.Response))
					}
					for j, h := range hs.Request {
						if j < len(en.Request.Headers) && (en.Request.Headers[j].Name != h.Name || en.Request.Headers[j].Value != h.Value) {
							t.Errorf("connection %d: header %d %v, want %v", id, j, en.Request.Headers[j], h)
						}
					}
				}
				if len(en.Messages) != len(c.msgs) {
					t.Fatalf("connection %d: %d messages, want %d", id, len(en.Messages), len(c.msgs))
				}
				for j, m := range c.msgs {
					got := en.Messages[j]
					data := []byte(got.Data)
					if got.Opcode == 2 || got.Encoding == "base64" {
						var err error
						if data, err = base64.StdEncoding.DecodeString(got.Data); err != nil {
							t.Fatalf("connection %d message %d: %v", id, j, err)
						}
					}
					typ := map[bool]string{true: "send", false: "receive"}[m.fromClient]
					tm := fmt.Sprintf("%d.%06d", m.t.Unix(), m.t.Nanosecond()/1000)
					if got.Type != typ || got.Opcode != int(m.op) || !bytes.Equal(data, m.payload) || string(got.Time) != tm {
						t.Errorf("connection %d message %d: %s %d %s %q, want %s %d %s %q", id, j,
							got.Type, got.Opcode, got.Time, data, typ, m.op, tm, m.payload)
					}
				}
				msgs += len(c.msgs)
			}
			t.Logf("%d entries, %d messages", len(f.Log.Entries), msgs)
		})
	}
}

// TestHandshakeOnRealCapture: the open events of a real browser capture
// carry the upgrade's headers as Chromium sent them.
func TestHandshakeOnRealCapture(t *testing.T) {
	_, o := runHAR(t, filepath.Join("..", "testdata", "room-deflate-lo.pcap"))
	if len(o.order) == 0 {
		t.Fatal("no connection")
	}
	for _, c := range o.order {
		id, hs := c.id, c.handshake
		if hs == nil {
			t.Fatalf("connection %d: no Handshake", id)
		}
		names := map[string]bool{}
		for _, h := range hs.Request {
			names[h.Name] = true
		}
		for _, want := range []string{"Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions"} {
			if !names[want] {
				t.Errorf("connection %d: request without %s: %v", id, want, hs.Request)
			}
		}
		if hs.Method != "GET" || hs.Proto != "HTTP/1.1" || hs.Status != 101 || hs.RequestSize <= 0 || hs.ResponseSize <= 0 || len(hs.Response) == 0 {
			t.Errorf("connection %d: %+v", id, hs)
		}
	}
}

// TestGolden compares the HAR of one real capture with the file beside
// the tests, rewritten with -update and reviewed like code.
func TestGolden(t *testing.T) {
	out, _ := runHAR(t, filepath.Join("..", "testdata", "room-deflate-lo.pcap"))
	golden.Check(t, filepath.Join("testdata", "room-deflate-lo.har.golden"), string(out))
}

// schemas compiles the HAR 1.2 schema (har-schema 2.0.0, the one
// har-validator checks with, in testdata/har-schema) and the schema of
// Chrome's WebSocket entries (testdata/websocket-entry.json).
func schemas(t *testing.T) []*jsonschema.Schema {
	t.Helper()
	var out []*jsonschema.Schema
	for _, loc := range []string{"testdata/har-schema/har.json", "testdata/websocket-entry.json"} {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		abs, err := filepath.Abs(loc)
		if err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile(abs)
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		out = append(out, sch)
	}
	return out
}

// validate fails the test when doc is not valid JSON or breaks a schema.
func validate(t *testing.T, schemas []*jsonschema.Schema, doc []byte) {
	t.Helper()
	if err := validateErr(t, schemas, doc); err != nil {
		t.Fatalf("%v\n%s", err, firstLines(doc, 60))
	}
}

// validateErr says why doc is not valid JSON or breaks a schema.
func validateErr(t *testing.T, schemas []*jsonschema.Schema, doc []byte) error {
	t.Helper()
	if !json.Valid(doc) {
		return errors.New("not valid JSON")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	for _, sch := range schemas {
		if err := sch.Validate(v); err != nil {
			return err
		}
	}
	return nil
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
