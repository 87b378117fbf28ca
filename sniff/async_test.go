package sniff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/chatsniff/chatsniff/app/workerman"
	"hash/crc32"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/render"
)

// TestAsyncSameOutput checks that reading a file with the reader and render
// goroutines writes exactly what the synchronous path (Live) writes.
func TestAsyncSameOutput(t *testing.T) {
	for _, path := range captures(t) {
		for _, format := range []Format{FormatText, FormatNDJSON} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(path), format), func(t *testing.T) {
				var outs [2]string
				var sums [2]Summary
				for i, live := range []bool{false, true} {
					src, err := capture.OpenFile(path)
					if err != nil {
						t.Fatal(err)
					}
					var buf bytes.Buffer
					// The writer and options the CLI would use.
					c := &Command{Format: format, Color: render.ColorAlways, Stdout: &buf}
					opts := Options{Live: live, KeyLog: keyLogFor(t, path)}
					out := c.output(&opts)
					sums[i], err = Run(context.Background(), src, opts, out)
					src.Close()
					if err != nil && !errors.Is(err, capture.ErrTruncated) {
						t.Fatal(err)
					}
					outs[i] = buf.String()
				}
				sums[1].Live = false
				if outs[0] != outs[1] {
					t.Errorf("output differs: %d bytes with goroutines, %d without", len(outs[0]), len(outs[1]))
				}
				if sums[0] != sums[1] {
					t.Errorf("summary differs: %v with goroutines, %v without", sums[0], sums[1])
				}
			})
		}
	}
}

// fakeSource returns packets of the given sizes, then err.
type fakeSource struct {
	sizes []int
	err   error
	n     int
	buf   []byte
}

func (f *fakeSource) Next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if f.n == len(f.sizes) {
		err := f.err
		f.err = io.EOF
		return nil, gopacket.CaptureInfo{}, 0, err
	}
	size := f.sizes[f.n]
	f.n++
	f.buf = f.buf[:0]
	for i := range size {
		f.buf = append(f.buf, byte(f.n+i))
	}
	return f.buf, gopacket.CaptureInfo{CaptureLength: size, Length: f.n}, layers.LinkTypeEthernet, nil
}
func (f *fakeSource) Stats() capture.Stats { return capture.Stats{Packets: uint64(f.n)} }
func (f *fakeSource) Close() error         { return nil }

// TestPrefetchSource checks that the read-ahead source returns every
// packet intact and in order, then the source's error once and io.EOF.
func TestPrefetchSource(t *testing.T) {
	big := prefetchBytes + 100 // a packet above a batch's arena
	many := make([]int, 3*prefetchPackets+7)
	for i := range many {
		many[i] = i % 1500
	}
	cut := errors.New("cut off")
	for _, tc := range []struct {
		name  string
		sizes []int
		err   error
		stop  int // halt after this many packets (0: read to the end)
	}{
		{"empty", nil, io.EOF, 0},
		{"one", []int{60}, io.EOF, 0},
		{"many", many, io.EOF, 0},
		{"huge packets", []int{10, big, 20, big, big, 30}, io.EOF, 0},
		{"error at the end", []int{60, 70}, cut, 0},
		{"stopped early", many, io.EOF, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := &fakeSource{sizes: tc.sizes}
			p := newPrefetchSource(&fakeSource{sizes: tc.sizes, err: tc.err})
			defer p.Close()
			for i := range tc.sizes {
				if tc.stop > 0 && i == tc.stop {
					p.halt()
					return
				}
				want, wci, _, _ := ref.Next()
				got, ci, link, err := p.Next()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if !bytes.Equal(got, want) || ci.CaptureLength != wci.CaptureLength || ci.Length != wci.Length || link != layers.LinkTypeEthernet {
					t.Fatalf("packet %d: got %d bytes %v, want %d bytes %v", i, len(got), ci, len(want), wci)
				}
			}
			if _, _, _, err := p.Next(); err != tc.err {
				t.Fatalf("after the packets: %v, want %v", err, tc.err)
			}
			if _, _, _, err := p.Next(); err != io.EOF {
				t.Fatalf("after the error: %v, want io.EOF", err)
			}
			if got := p.Stats().Packets; got != uint64(len(tc.sizes)) {
				t.Fatalf("Stats: %d packets, want %d", got, len(tc.sizes))
			}
		})
	}
}

// eventLog is a batchOutput that keeps a line per event, in order.
type eventLog struct {
	got     []string
	flushes int
	partial []byte
}

// eventLine is eventLog's render.Formatter.
type eventLine struct{}

func (eventLine) AppendEvent(dst []byte, e *decode.Event) []byte {
	return fmt.Appendf(dst, "%d %d/%08x %d/%08x %t %t %q %d\n", e.ConnID, len(e.Payload), crc32.ChecksumIEEE(e.Payload),
		len(e.Chat), crc32.ChecksumIEEE(e.Chat), e.Payload == nil, e.Chat == nil, e.ChatLine, e.ChatLineLen)
}

func (r *eventLog) Formatter() render.Formatter { return eventLine{} }

func (r *eventLog) Event(e *decode.Event) { r.Write(eventLine{}.AppendEvent(nil, e)) }

func (r *eventLog) Write(p []byte) (int, error) {
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		r.got = append(r.got, string(r.partial[:i]))
		r.partial = r.partial[i+1:]
	}
}

func (r *eventLog) Flush() error { r.flushes++; return nil }

// TestAsyncOutputOrder hands events of every size (above a batch's arena
// too), chat JSON among them, to the stages and checks they are written
// whole and in order, as a workerman.Reader in front of the output writes them.
func TestAsyncOutputOrder(t *testing.T) {
	var direct, async eventLog
	opts := workerman.Options{MaxContent: 50}
	chat := workerman.NewReader(&direct, opts)
	a := newAsyncOutput(&async, opts, false, nil)
	sizes := []int{0, 1, 100, batchBytes - 1, batchBytes, batchBytes + 1, 3 * batchBytes, 5, 0}
	server := netip.MustParseAddrPort("127.0.0.1:7272")
	for i := range 2 * batchEvents {
		n := sizes[i%len(sizes)]
		e := &decode.Event{Kind: decode.KindMessage, ConnID: uint64(i % 5), Server: server, Opcode: decode.OpText, FromClient: true,
			PayloadIsText: true, Payload: bytes.Repeat([]byte{'a' + byte(i%26)}, n)}
		switch i % 4 {
		case 0: // compact JSON: Chat is the payload itself
			e.Payload = fmt.Appendf(nil, `{"type":"login","client_name":"u%d","room_id":"1"}`, i)
		case 1: // JSON to compact
			e.Payload = fmt.Appendf(nil, `{ "type": "say", "to_client_id": "all", "content": "%s" }`, e.Payload)
		}
		if i%7 == 0 {
			e.Payload = nil
		}
		chat.Event(e)
		e.Chat, e.ChatLine = nil, ""
		a.Event(e)
		clear(e.Payload) // the decoder reuses its buffers
		if i == batchEvents/2 {
			if err := a.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	a.close()
	if len(async.got) != len(direct.got) {
		t.Fatalf("%d events written, want %d", len(async.got), len(direct.got))
	}
	chats := 0
	for i := range direct.got {
		if async.got[i] != direct.got[i] {
			t.Fatalf("event %d differs:\n got %s\nwant %s", i, async.got[i], direct.got[i])
		}
		if !strings.Contains(direct.got[i], ` "" `) {
			chats++
		}
	}
	if chats < batchEvents/2 {
		t.Fatalf("only %d events with a chat line", chats)
	}
	if async.flushes != 2 {
		t.Fatalf("%d flushes, want 2", async.flushes)
	}
}

// TestCutLinesSameText checks that the conversation view is the same
// whether the chat layer decodes long lines whole or only as far as the
// view shows them (Options.ChatContentMax), with the cut falling in every
// kind of character.
func TestCutLinesSameText(t *testing.T) {
	server := netip.MustParseAddrPort("127.0.0.1:7272")
	to := render.TextOptions{Scheme: render.NewScheme(true)}
	pieces := []string{`a`, `\u00e9`, `\u732a`, `\ud83d\ude00`, `é`, `猪`, `😀`, `\"`, `\\`, `\n`, `\ud83d`, `\u202e`}
	for _, p := range pieces {
		for pad := range 8 {
			content := strings.Repeat("x", pad) + strings.Repeat(p, 2*render.MaxShownText/len(p)+3)
			payload := []byte(`{"type":"say","from_client_id":"1","from_client_name":"alice","to_client_id":"all","content":"` + content + `"}`)
			var outs [2]string
			for i, max := range []int{0, render.MaxShownText} {
				var got []byte
				r := workerman.NewReader(decode.SinkFunc(func(e *decode.Event) { got = render.AppendText(got, e, to) }),
					workerman.Options{MaxContent: max})
				r.Event(&decode.Event{Kind: decode.KindMessage, ConnID: 1, Server: server, Opcode: decode.OpText,
					PayloadIsText: true, Payload: payload, Length: len(payload)})
				outs[i] = string(got)
			}
			if outs[0] != outs[1] {
				t.Fatalf("%q after %d bytes: whole line\n%q\ncut line\n%q", p, pad, outs[0], outs[1])
			}
			if !strings.Contains(outs[0], "alice → all: ") {
				t.Fatalf("no chat line: %q", outs[0])
			}
		}
	}
}

// TestAsyncOutputBoundsBigMessages hands over messages of several MB, up
// to the message cap: they are written whole and in order, while the
// payload bytes in flight stay within maxInFlightBytes (or one message,
// when a single one is larger).
func TestAsyncOutputBoundsBigMessages(t *testing.T) {
	// A stage waiting for bytes that are never given back hangs: crash
	// with every goroutine's stack rather than wait for go test's timeout.
	stuck := time.AfterFunc(2*time.Minute, func() { panic("the stages are stuck") })
	defer stuck.Stop()
	var direct, async eventLog
	a := newAsyncOutput(&async, workerman.Options{}, false, nil)
	sizes := []int{3 << 20, 100, 5 << 20, decode.DefaultMaxMessage, 1 << 20, 10, 7 << 20}
	for i := range 3 * len(sizes) {
		n := sizes[i%len(sizes)]
		e := &decode.Event{Kind: decode.KindMessage, ConnID: uint64(i), Opcode: decode.OpBinary, Payload: bytes.Repeat([]byte{byte(i)}, n)}
		direct.Event(e)
		a.Event(e)
		a.mu.Lock()
		inFlight := a.inFlight
		a.mu.Unlock()
		if inFlight > max(maxInFlightBytes, n) {
			t.Fatalf("after a %d-byte message: %d bytes in flight", n, inFlight)
		}
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	a.close()
	if len(async.got) != len(direct.got) {
		t.Fatalf("%d events written, want %d", len(async.got), len(direct.got))
	}
	for i := range direct.got {
		if async.got[i] != direct.got[i] {
			t.Fatalf("event %d differs", i)
		}
	}
}

// secretsSource is a fakeSource that is a capture.SecretsReader: before
// packet i (and, for i = -1, as SetSecrets is called, like a pcapng reader
// that read ahead) it hands out the block at[i].
type secretsSource struct {
	fakeSource
	at map[int]string
	fn func(kind uint32, data []byte)
}

func (s *secretsSource) SetSecrets(fn func(kind uint32, data []byte)) {
	s.fn = fn
	if blk, ok := s.at[-1]; ok {
		fn(capture.SecretsTLSKeyLog, []byte(blk))
	}
}

func (s *secretsSource) Next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if blk, ok := s.at[s.n]; ok && s.fn != nil {
		data := []byte(blk)
		s.fn(capture.SecretsTLSKeyLog, data)
		clear(data) // the function may not keep data
	}
	return s.fakeSource.Next()
}

// TestPrefetchSecrets: the read-ahead source passes the Decryption
// Secrets Blocks on, on the goroutine calling Next (the race detector
// checks it), each before the packets read after it.
func TestPrefetchSecrets(t *testing.T) {
	sizes := make([]int, 3*prefetchPackets)
	for i := range sizes {
		sizes[i] = 60
	}
	at := map[int]string{-1: "early", 0: "first", 1500: "middle", len(sizes) - 1: "last"}
	p := newPrefetchSource(&secretsSource{fakeSource: fakeSource{sizes: sizes, err: io.EOF}, at: at})
	defer p.Close()
	var got []string
	read := 0
	p.SetSecrets(func(kind uint32, data []byte) {
		if kind != capture.SecretsTLSKeyLog {
			t.Errorf("kind %x", kind)
		}
		got = append(got, fmt.Sprintf("%s before packet %d", data, read))
	})
	for {
		if _, _, _, err := p.Next(); err != nil {
			break
		}
		read++
	}
	// Each block came, in order, before the packet after it (sooner is
	// allowed: the reader reads ahead).
	want := []struct {
		name   string
		before int
	}{{"early", 0}, {"first", 0}, {"middle", 1500}, {"last", len(sizes) - 1}}
	if len(got) != len(want) {
		t.Fatalf("secrets %q, want %d blocks", got, len(want))
	}
	for i, w := range want {
		var name string
		var before int
		if _, err := fmt.Sscanf(got[i], "%s before packet %d", &name, &before); err != nil || name != w.name || before > w.before {
			t.Errorf("block %d: %q, want %s before packet %d at the latest", i, got[i], w.name, w.before)
		}
	}
}
