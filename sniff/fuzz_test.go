package sniff

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/internal/pcaptest"
	"github.com/chatsniff/chatsniff/render"
)

// fuzzDeadline bounds one input's runs. The real captures take milliseconds;
// this is far above what any input of the fuzzer's sizes needs (even under
// -race), so exceeding it means a loop that does not end.
const fuzzDeadline = 20 * time.Second

// FuzzReadFile feeds the bytes of a file through the whole pipeline, as
// `chatsniff read` does: capture → reassembly → decode → NDJSON, with and
// without -p (which adds midstream decoding) and with a small message cap,
// and once through --explain. No input may panic or hang; every NDJSON line
// must be a JSON object; the counts must match the summary.
//
// The seeds are every capture under testdata/, one gzipped, and small
// damaged copies of the smallest (lost segment, reordering, cut handshake,
// snap length, cut mid-record). The large seeds make the fuzzer's
// minimisation of a new input slow (it counts no execs meanwhile): run it as
//
//	go test ./sniff -run '^$' -fuzz FuzzReadFile -fuzztime 10s -fuzzminimizetime 2s
func FuzzReadFile(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join(pcaptest.TestdataDir(f), "*.pcap*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no captures in testdata/: %v", err)
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	small := pcaptest.Load(f, "uid-plain-any.pcap")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(small)
	zw.Close()
	f.Add(gz.Bytes())
	for _, tr := range []func([]byte) ([]byte, error){
		func(b []byte) ([]byte, error) { return pcaptest.DropSegment(b, pcaptest.Server, 2) },
		func(b []byte) ([]byte, error) { return pcaptest.DropSegment(b, pcaptest.Client, 1) },
		pcaptest.Reorder,
		pcaptest.Overlap,
		pcaptest.CutHandshake,
		func(b []byte) ([]byte, error) { return pcaptest.Snaplen(b, 96) },
		pcaptest.CutMidRecord,
	} {
		b, err := tr(small)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			fuzzRuns(t, data)
		}()
		select {
		case <-done:
		case <-time.After(fuzzDeadline):
			t.Fatalf("no end after %v on %d bytes of input", fuzzDeadline, len(data))
		}
	})
}

// fuzzRuns runs the pipeline on data in each of the fuzz target's ways.
func fuzzRuns(t *testing.T, data []byte) {
	runs := []struct {
		opts   Options
		counts bool // the summary's counts must match the lines
	}{
		{Options{}, true},
		{Options{Ports: []uint16{7272, 80}, MaxMessage: 4 << 10}, true},
		{Options{Ports: []uint16{7272}, MaxMessages: 3}, false},
	}
	for _, run := range runs {
		var out bytes.Buffer
		sum, err := fuzzRun(data, run.opts, render.NewNDJSON(&out))
		if err != nil {
			// Errors are for the user: one line (Command.Execute adds
			// the source's name to those that lack it).
			if msg := err.Error(); strings.Contains(msg, "\n") || msg == "" {
				t.Errorf("error %q: want one line", msg)
			}
			continue
		}
		evs, perr := parseNDJSON(out.Bytes())
		if perr != nil {
			t.Fatalf("options %+v: %v", run.opts, perr)
		}
		if run.opts.MaxMessages > 0 {
			n := 0
			for _, e := range evs {
				if e.Event == "message" {
					n++
				}
			}
			if n > run.opts.MaxMessages {
				t.Errorf("-c %d: %d messages", run.opts.MaxMessages, n)
			}
		}
		if run.counts {
			if got := tally(evs); got != fmt.Sprint(sum.Messages, sum.Gaps, sum.Errors) {
				t.Errorf("options %+v: lines count messages, gaps, errors %s; summary %v %d %d", run.opts, got, sum.Messages, sum.Gaps, sum.Errors)
			}
		}
	}
	// --explain has no JSON to check; it must not panic.
	var out bytes.Buffer
	opts := Options{Ports: []uint16{7272}, Explain: render.NewExplain(&out, render.NewScheme(false))}
	fuzzRun(data, opts, nil)
}

// fuzzRun opens data as `chatsniff read -` would and runs the pipeline.
func fuzzRun(data []byte, opts Options, out Output) (Summary, error) {
	src, err := capture.NewReader(bytes.NewReader(data), "fuzz")
	if err != nil {
		return Summary{}, err
	}
	defer src.Close()
	return Run(context.Background(), src, opts, out)
}

// tally counts message events by direction, gaps and errors, formatted as
// the summary's fields would be.
func tally(evs []ndEvent) string {
	var msgs [2]uint64
	var gaps, errs uint64
	for _, e := range evs {
		switch e.Event {
		case "message":
			if e.From == "client" {
				msgs[0]++
			} else {
				msgs[1]++
			}
		case "gap":
			gaps++
		case "error":
			errs++
		}
	}
	return fmt.Sprint(msgs, gaps, errs)
}

// TestFuzzSeedsDecode makes sure the fuzz seeds are not all rejected early:
// each real capture decodes to messages through fuzzRun.
func TestFuzzSeedsDecode(t *testing.T) {
	for _, path := range captures(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := fuzzRun(b, Options{KeyLog: keyLogFor(t, path)}, render.NewNDJSON(io.Discard))
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
		if sum.Messages[0] == 0 || sum.Messages[1] == 0 {
			t.Errorf("%s: %v", filepath.Base(path), sum)
		}
	}
}
