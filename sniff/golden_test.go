package sniff

import (
	"bytes"
	"context"
	"github.com/chatsniff/chatsniff/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/render"
)

func TestMain(m *testing.M) {
	// Goldens show times of day; make them the same on every machine.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// captures lists the real captures under testdata/ (see testdata/README.md).
func captures(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
		m, err := filepath.Glob(filepath.Join("..", "testdata", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no captures in testdata/")
	}
	return files
}

// keysFor returns the TLS key log kept beside a capture (x.pcap: x.keys),
// or "" when there is none.
func keysFor(path string) string {
	keys := strings.TrimSuffix(path, filepath.Ext(path)) + ".keys"
	if _, err := os.Stat(keys); err != nil {
		return ""
	}
	return keys
}

// runFile runs the pipeline on a file as `chatsniff read` would, with the
// key log beside it.
func runFile(t *testing.T, path string, format Format, ports []uint16) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &Command{
		Open:       func() (capture.Source, error) { return capture.OpenFile(path) },
		Name:       filepath.Base(path),
		Format:     format,
		Color:      render.ColorNever,
		Stdout:     &out,
		Stderr:     &errOut,
		Options:    Options{Ports: ports},
		KeyLogPath: keysFor(path),
	}
	err = c.Execute(context.Background())
	return out.String(), errOut.String(), err
}

// TestGolden decodes every real capture and compares the conversation view,
// the NDJSON and the walkthrough with the files under testdata/golden,
// rewritten with -update and reviewed like code.
func TestGolden(t *testing.T) {
	for _, path := range captures(t) {
		name := filepath.Base(path)
		for _, f := range []struct {
			format Format
			ext    string
		}{{FormatText, ".txt"}, {FormatNDJSON, ".ndjson"}, {FormatExplain, ".explain.txt"}} {
			t.Run(name+f.ext, func(t *testing.T) {
				out, stderr, err := runFile(t, path, f.format, nil)
				if err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				if strings.TrimSpace(out) == "" {
					t.Fatal("no output")
				}
				golden.Check(t, filepath.Join("..", "testdata", "golden", name+f.ext), out)
			})
		}
	}
}

// firstDiff shows the first differing line of two outputs.
func firstDiff(got, want string) string { return golden.FirstDiff(got, want) }
