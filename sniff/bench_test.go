package sniff

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/render"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// benchCapture is the capture BenchmarkRead reads: $CHATSNIFF_BENCH_PCAP
// when set (scripts/bench's big one, say), otherwise a 20 MB one generated
// once per test binary by testdata/gen. The generator is a main package, so
// it is run with the go command rather than imported.
var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

func benchCapture(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("CHATSNIFF_BENCH_PCAP"); p != "" {
		return p
	}
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chatsniff-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchPath = filepath.Join(dir, "bench.pcap")
		cmd := exec.Command("go", "run", "../testdata/gen", "-o", benchPath, "-size", "20MB")
		cmd.Stderr = os.Stderr
		benchErr = cmd.Run()
	})
	if benchErr != nil {
		b.Skipf("cannot generate a capture (set CHATSNIFF_BENCH_PCAP): %v", benchErr)
	}
	return benchPath
}

// BenchmarkRead runs the whole read path on one capture, as `chatsniff read`
// does with its output thrown away: profile it with
//
//	go test ./sniff -run '^$' -bench Read -benchmem -cpuprofile cpu.out
//
// It reports packets/s and MB/s of capture file. CHATSNIFF_BENCH_PCAP
// names another capture; a key log beside it (FILE.keys, as gen -tls
// writes) is used.
func BenchmarkRead(b *testing.B) {
	for _, bc := range []struct {
		name   string
		format Format
	}{
		{"ndjson", FormatNDJSON},
		{"text", FormatText},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := benchCapture(b)
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			var packets uint64
			for b.Loop() {
				c := &Command{
					Open:   func() (capture.Source, error) { return capture.OpenFile(path) },
					Name:   "bench",
					Format: bc.format,
					Color:  render.ColorAlways,
					Stdout: io.Discard,
					Stderr: io.Discard,
				}
				if _, err := os.Stat(path + ".keys"); err == nil {
					c.KeyLogPath = path + ".keys" // gen -tls's key log
				}
				sum, err := runSummary(c)
				if err != nil {
					b.Fatal(err)
				}
				packets = sum.Packets
			}
			b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// runSummary is Command.Execute keeping the summary, which the benchmark
// reports from.
func runSummary(c *Command) (Summary, error) {
	src, err := c.Open()
	if err != nil {
		return Summary{}, err
	}
	defer src.Close()
	opts := c.Options
	if c.KeyLogPath != "" {
		opts.KeyLog = tlsdecrypt.NewKeyLog()
		if err := opts.KeyLog.ReadFile(c.KeyLogPath); err != nil {
			return Summary{}, err
		}
	}
	out := c.output(&opts)
	return Run(context.Background(), src, opts, out)
}
