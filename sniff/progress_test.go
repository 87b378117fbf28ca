package sniff

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/chatsniff/chatsniff/capture"
)

// fakePosition is a Positioner whose figures the test sets.
type fakePosition struct {
	read atomic.Int64
	size int64
}

func (f *fakePosition) Position() (int64, int64) { return f.read.Load(), f.size }

// positionedSource is a Source that is also a Positioner.
type positionedSource struct {
	capture.Source
	*fakePosition
}

// lockedBuffer is written by the bar's goroutine while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestProgressDraw(t *testing.T) {
	var out bytes.Buffer
	pos := &fakePosition{size: 100_000_000}
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { return now }
	p := newProgress(&out, pos, func() int { return 160 }, time.Hour, clock)
	p.begin()

	// 10,240 packets a second (a multiple of progressPublish), 7
	// messages, a quarter of the file.
	for range 3 {
		now = now.Add(200 * time.Millisecond)
		for range 2048 {
			p.Packet()
		}
		pos.read.Add(25_000_000 / 3)
	}
	pos.read.Store(25_000_000)
	for range 7 {
		p.Message()
	}
	out.Reset()
	p.draw()
	line := out.String()
	t.Logf("%q", line)
	for _, want := range []string{"25%", "25/100 MB", "10.2k packets/s", "7 messages", "\r"} {
		if !strings.Contains(line, want) {
			t.Errorf("the bar %q does not show %q", line, want)
		}
	}
	// The ETA, after the elapsed time: [0s:1s].
	if !regexp.MustCompile(`\[\d+s:\d+s\]`).MatchString(line) {
		t.Errorf("the bar %q shows no [elapsed:left] time", line)
	}
	// The line is drawn over itself, without a newline.
	if strings.Contains(line, "\n") {
		t.Errorf("the bar %q has a newline", line)
	}

	// The rate is over the last second (progressRateWindow redraws): a
	// second of nothing brings it to 0.
	for range progressRateWindow {
		now = now.Add(200 * time.Millisecond)
		out.Reset()
		p.draw()
	}
	if line := out.String(); !strings.Contains(line, " 0 packets/s") {
		t.Errorf("after a second of nothing, the bar %q still shows packets a second", line)
	}

	// A warning while the bar runs takes the bar's line, and the bar comes
	// back below it at the next tick; a Stop then has no line of its own to clear.
	out.Reset()
	fmt.Fprint(p.Writer(nil), "chatsniff: warning: x.pcapng: interface 1 skipped\n")
	if got, want := out.String(), clearLine+"chatsniff: warning: x.pcapng: interface 1 skipped\n"; got != want {
		t.Errorf("a warning while the bar runs wrote %q, want %q", got, want)
	}

	// Past the size, as a file still being written grows: full, no error.
	pos.read.Store(pos.size + 1000)
	out.Reset()
	p.draw()
	if line := out.String(); !strings.Contains(line, "100%") {
		t.Errorf("past the size, the bar %q is not full", line)
	}

	out.Reset()
	p.Stop()
	if got := out.String(); got != clearLine {
		t.Errorf("Stop wrote %q, want the line cleared: %q", got, clearLine)
	}
}

// On a narrow terminal the line would wrap, and a wrapped line cannot be
// redrawn in place: the packet and message figures go.
func TestProgressNarrow(t *testing.T) {
	var out bytes.Buffer
	pos := &fakePosition{size: 1000}
	p := newProgress(&out, pos, func() int { return 70 }, time.Hour, time.Now)
	p.begin()
	pos.read.Store(500)
	p.draw()
	if line := out.String(); strings.Contains(line, "messages") || !strings.Contains(line, "50%") {
		t.Errorf("the bar on 70 columns is %q, want the percentage without the figures", line)
	}
}

// The goroutine of Start redraws until Stop, which leaves the line clear.
func TestProgressStartStop(t *testing.T) {
	var out lockedBuffer
	pos := &fakePosition{size: 1 << 20}
	pos.read.Store(1 << 19)
	p := newProgress(&out, pos, func() int { return 160 }, 2*time.Millisecond, time.Now)
	p.Start()
	p.Start() // once
	for range 100 {
		p.Packet()
	}
	p.Message()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "1 message") {
		if time.Now().After(deadline) {
			t.Fatalf("no bar drawn after 10 s: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.Stop()
	got := out.String()
	if !strings.HasSuffix(got, clearLine) {
		t.Errorf("the output ends with %q, want the line cleared (%q)", got[max(0, len(got)-40):], clearLine)
	}
	p.Stop()  // idempotent
	p.Start() // after Stop: nothing
	time.Sleep(10 * time.Millisecond)
	if again := out.String(); again != got {
		t.Errorf("a second Stop or a Start after Stop wrote %q", again[len(got):])
	}

	// Stop without Start writes nothing.
	var quiet bytes.Buffer
	newProgress(&quiet, pos, func() int { return 0 }, time.Millisecond, time.Now).Stop()
	if quiet.Len() > 0 {
		t.Errorf("Stop without Start wrote %q", quiet.String())
	}
}

// Run calls the methods whether or not there is a bar.
func TestProgressNil(t *testing.T) {
	var p *Progress
	var stderr bytes.Buffer
	if w := p.Writer(&stderr); w != &stderr {
		t.Errorf("Writer of no bar is %v, want stderr itself", w)
	}
	p.Packet()
	p.Message()
	p.Start()
	p.Stop()
	p.Stop()
}

func TestNewProgressNone(t *testing.T) {
	file := progressFile(t)
	open := func() capture.Source {
		src, err := capture.OpenFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	regular, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	stdin, err := capture.NewReader(bytes.NewReader(progressPcap()), "stdin")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		stderr any
		src    capture.Source
		quiet  bool
	}{
		{"a buffer", &bytes.Buffer{}, open(), false},
		{"a pipe", pw, open(), false},
		{"a regular file", regular, open(), false},
		{"quiet", pw, open(), true},
		{"stdin", pw, stdin, false},
		{"no Positioner", pw, struct{ capture.Source }{open()}, false},
		{"size unknown", pw, positionedSource{open(), &fakePosition{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.stderr.(interface{ Write([]byte) (int, error) })
			if p := NewProgress(w, tc.src, tc.quiet); p != nil {
				t.Errorf("NewProgress gave a bar")
			}
		})
	}
}

// progressPcap is a capture of one packet.
func progressPcap() []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, uint32(layers.LinkTypeEthernet))
	data := make([]byte, 60)
	b = binary.LittleEndian.AppendUint32(b, 1700000000)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

func progressFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(path, progressPcap(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Packet is on the main loop's path, once a packet.
func BenchmarkProgressPacket(b *testing.B) {
	b.Run("bar", func(b *testing.B) {
		p := newProgress(&bytes.Buffer{}, &fakePosition{size: 1}, func() int { return 0 }, time.Hour, time.Now)
		for b.Loop() {
			p.Packet()
		}
	})
	b.Run("nil", func(b *testing.B) {
		var p *Progress
		for b.Loop() {
			p.Packet()
		}
	})
}
