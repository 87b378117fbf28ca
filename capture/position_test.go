package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// positionFile is a capture of several read buffers, so that Position has
// more than one step to show.
func positionFile(t *testing.T) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var seed [32]byte
	fill := rand.NewChaCha8(seed)
	pkts := make([]testPkt, 3000)
	for i := range pkts {
		// Random bytes, so that the gzipped file is several buffers too.
		data := make([]byte, 200+rng.IntN(1200))
		fill.Read(data)
		pkts[i] = testPkt{ts: time.Unix(1700000000, int64(i)*1000), data: data}
	}
	return pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
}

// readWatched reads src to its end while another goroutine asks for its
// Position, as the progress bar does, and returns the positions seen and
// the last one.
func readWatched(t *testing.T, src Source) (seen []int64, last, size int64) {
	t.Helper()
	pos, ok := src.(Positioner)
	if !ok {
		t.Fatalf("%T is not a Positioner", src)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r, _ := pos.Position()
			seen = append(seen, r)
			time.Sleep(50 * time.Microsecond)
		}
	}()
	n := 0
	for {
		_, _, _, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	close(stop)
	wg.Wait()
	if n != 3000 {
		t.Fatalf("read %d packets, want 3000", n)
	}
	last, size = pos.Position()
	return seen, last, size
}

func checkMonotonic(t *testing.T, seen []int64, limit int64) {
	t.Helper()
	for i, r := range seen {
		if r < 0 || r > limit || (i > 0 && r < seen[i-1]) {
			t.Fatalf("position %d is %d after %v, want a count that grows up to %d", i, r, seen[max(0, i-1)], limit)
		}
	}
}

func TestPositionFile(t *testing.T) {
	raw := positionFile(t)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"x.pcap", raw},
		// The size and the count are of the file as stored: gzipped.
		{"x.pcap.gz", gzipped(t, raw)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, tc.name, tc.data)
			src, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if r, size := src.(Positioner).Position(); size != int64(len(tc.data)) || r <= 0 || r >= size {
				t.Fatalf("before the first packet: Position = %d, %d; want a part of the header's buffer of %d", r, size, len(tc.data))
			}
			seen, last, size := readWatched(t, src)
			if size != int64(len(tc.data)) || last != size {
				t.Errorf("at the end: Position = %d, %d; want %d, %d", last, size, len(tc.data), len(tc.data))
			}
			checkMonotonic(t, seen, size)
		})
	}
}

// Standard input, a pipe and a reader given to NewReader have no size: no
// bar, but the count still runs.
func TestPositionUnknownSize(t *testing.T) {
	raw := positionFile(t)
	src, err := NewReader(bytes.NewReader(raw), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	seen, last, size := readWatched(t, src)
	if size != 0 || last != int64(len(raw)) {
		t.Errorf("NewReader: Position = %d, %d; want %d, 0", last, size, len(raw))
	}
	checkMonotonic(t, seen, int64(len(raw)))

	// A path that is not a regular file, as a process substitution gives.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(raw)
		w.Close()
	}()
	defer r.Close()
	src, err = OpenFile(filepath.Join("/dev/fd", strconv.Itoa(int(r.Fd()))))
	if err != nil {
		t.Skipf("no /dev/fd: %v", err)
	}
	defer src.Close()
	_, last, size = readWatched(t, src)
	if size != 0 || last != int64(len(raw)) {
		t.Errorf("a pipe by its path: Position = %d, %d; want %d, 0", last, size, len(raw))
	}
}
