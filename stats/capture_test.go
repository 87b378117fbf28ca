package stats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/sniff"
	"github.com/chatsniff/chatsniff/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	// The tables show times of day; make them the same on every machine.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// output hands the pipeline's events to a Collector, as --stats does.
type output struct{ c *stats.Collector }

func (o output) Event(e *decode.Event) { o.c.Event(e) }
func (o output) Flush() error          { return nil }

// TestCaptures runs real captures through the pipeline into a Collector:
// its totals agree with the pipeline's summary, and its table and JSON
// with the goldens in testdata/ (rewritten with -update, reviewed like
// code).
func TestCaptures(t *testing.T) {
	for _, name := range []string{"room-deflate-lo.pcap", "uid-plain-any.pcap", "socketio-ws-any.pcap", "socketio-polling-lo.pcap", "violations-client-lo.pcap", "violations-handshake-any.pcap"} {
		t.Run(name, func(t *testing.T) {
			src, err := capture.OpenFile(filepath.Join("..", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			c := stats.New()
			sum, err := sniff.Run(context.Background(), src, sniff.Options{}, output{c})
			if err != nil {
				t.Fatal(err)
			}
			r := c.Report()
			tot := r.Totals
			if tot.ClientToServer.Messages != sum.Messages[0] || tot.ServerToClient.Messages != sum.Messages[1] {
				t.Errorf("messages %d, %d; the summary says %d, %d", tot.ClientToServer.Messages, tot.ServerToClient.Messages, sum.Messages[0], sum.Messages[1])
			}
			if uint64(tot.WebSockets) != sum.WebSockets || tot.Gaps != sum.Gaps || tot.Errors != sum.Errors || tot.Rejected != sum.Rejected {
				t.Errorf("totals %+v; the summary says %+v", tot, sum)
			}
			var up, down uint64
			for _, k := range r.Connections {
				up += k.ClientToServer.Messages
				down += k.ServerToClient.Messages
			}
			if up != tot.ClientToServer.Messages || down != tot.ServerToClient.Messages {
				t.Errorf("connections add up to %d, %d messages", up, down)
			}
			for _, f := range r.Fanout {
				if f.Messages != f.Unicasts+f.Copies {
					t.Errorf("fan-out of %s: %d messages, %d unicasts + %d copies", f.Server, f.Messages, f.Unicasts, f.Copies)
				}
			}

			var text, js bytes.Buffer
			if err := c.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back stats.Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Errorf("JSON does not parse: %v", err)
			}
			golden(t, name+".stats.txt", text.String())
			golden(t, name+".stats.json", js.String())
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./stats -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./stats -update rewrites it; review the diff):\n%s", path, firstDiff(got, string(want)))
	}
}

// firstDiff shows the first differing line of two outputs.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}
