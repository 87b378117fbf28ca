package stats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/chatsniff/chatsniff/internal/golden"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/sniff"
	"github.com/chatsniff/chatsniff/stats"
)

func TestMain(m *testing.M) {
	// The tables show times of day; make them the same on every machine.
	time.Local = time.UTC
	os.Exit(m.Run())
}

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
			sum, err := sniff.Run(context.Background(), src, sniff.Options{}, sniff.SinkOutput{Sink: c})
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
			checkGolden(t, name+".stats.txt", text.String())
			checkGolden(t, name+".stats.json", js.String())
		})
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}
