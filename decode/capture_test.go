package decode

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/chatsniff/chatsniff/reassembly"
)

// The real captures in testdata/ (browsers' traffic recorded by
// testdata/make/captures.sh) run through reassembly and the decoder. The
// files are read with gopacket directly so that this test depends on no
// package of the pipeline but reassembly.

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

func openCapture(t *testing.T, path string) packetSource {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".pcapng") {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return r
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// testCaptures returns the captures in ../testdata whose names match
// pattern, skipping the test when there are none. The wss:// captures
// (their names say "tls") are left out: what the decoder gets of them
// comes through package tlsdecrypt, and package sniff tests them.
func testCaptures(t *testing.T, pattern string) []string {
	t.Helper()
	all, _ := filepath.Glob(filepath.Join("../testdata", pattern))
	var files []string
	for _, f := range all {
		if !strings.Contains(filepath.Base(f), "tls") {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Skipf("no %s in ../testdata", pattern)
	}
	return files
}

// decodeCapture feeds a capture file to a Decoder and returns its events.
func decodeCapture(t *testing.T, path string, cfg Config) ([]Event, Stats) {
	return decodeCaptureVia(t, path, cfg, nil)
}

// decodeCaptureVia is decodeCapture with the decoder's events passed
// through via(recorder) when via is not nil.
func decodeCaptureVia(t *testing.T, path string, cfg Config, via func(Sink) Sink) ([]Event, Stats) {
	src := openCapture(t, path)
	rec := &recorder{tb: t, max: DefaultMaxMessage, keepFull: true}
	var sink Sink = rec
	if via != nil {
		sink = via(rec)
	}
	d := NewDecoder(cfg, sink)
	asm := reassembly.New(d, reassembly.Options{ServerPorts: []uint16{7272}})
	for {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p := gopacket.NewPacket(data, src.LinkType(), gopacket.DecodeOptions{NoCopy: true, Lazy: true})
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || p.NetworkLayer() == nil {
			continue
		}
		asm.Feed(p.NetworkLayer().NetworkFlow(), tcp, ci)
	}
	asm.Close()
	return rec.events, d.Stats()
}

// captureMessages are the message counts (client to server, server to
// client) that testdata/README.md gives for each capture.
var captureMessages = map[string][2]uint64{
	"uid-plain-any.pcap":        {6, 11},
	"room-deflate-lo.pcap":      {18, 32},
	"room-nocontext-lo6.pcapng": {10, 16},
	"room-plain-sll6.pcap":      {9, 12},
}

// TestCaptures decodes every capture of RFC-abiding traffic without an
// error: each WebSocket opens, every text message is valid, compressed ones
// inflate (package app/workerman reads their chat).
func TestCaptures(t *testing.T) {
	for _, path := range testCaptures(t, "*.pcap*") {
		if strings.HasPrefix(filepath.Base(path), "violations-") {
			continue // TestViolationCaptures
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			events, st := decodeCapture(t, path, Config{})
			var opens, closes, compressed int
			for i := range events {
				e := &events[i]
				t.Log(describe(e))
				switch e.Kind {
				case KindOpen:
					opens++
					if (!e.AcceptOK && !e.Polling) || e.Path == "" || e.Host == "" {
						t.Errorf("open: %+v", e)
					}
				case KindClose:
					closes++
				case KindError, KindGap:
					t.Errorf("unexpected %s", describe(e))
				case KindMessage:
					if e.Compressed {
						compressed++
					}
					if e.Opcode == OpText && !e.PayloadIsText {
						t.Errorf("text message not shown as text: %s", describe(e))
					}
				}
			}
			if opens == 0 || opens != closes || uint64(opens) != st.WebSockets+st.Polling {
				t.Errorf("%d opens, %d closes, stats %+v", opens, closes, st)
			}
			if want, ok := captureMessages[filepath.Base(path)]; ok && st.Messages != want {
				t.Errorf("messages by direction %v, testdata/README.md says %v", st.Messages, want)
			}
			if strings.Contains(path, "deflate") || strings.Contains(path, "nocontext") {
				if compressed == 0 {
					t.Error("no compressed message in a deflate capture")
				}
			}
		})
	}
}

// TestViolationCaptures decodes the captures of traffic that breaks RFC
// 6455 on purpose (testdata/make/violations, one scenario a connection,
// named by its path): each violation is reported and flagged on its
// message, and what follows is decoded, as testdata/README.md describes.
func TestViolationCaptures(t *testing.T) {
	type want struct {
		flagged  []string  // the violations flagged on messages, in order
		errors   []string  // the error events, in order
		messages [2]uint64 // client, server
	}
	say := []string(nil)
	wants := map[string]want{
		"/unmasked-client":          {[]string{"unmasked client frame", "unmasked client frame", "unmasked client frame"}, []string{"unmasked client frame", "unmasked client frame", "unmasked client frame"}, [2]uint64{3, 1}},
		"/fragmented-ping":          {[]string{"control frame fragmented"}, []string{"control frame fragmented"}, [2]uint64{3, 2}},
		"/rsv1-no-extension":        {[]string{"RSV1 set without permessage-deflate"}, []string{"RSV1 set without permessage-deflate"}, [2]uint64{3, 2}},
		"/invalid-utf8":             {[]string{"invalid UTF-8 in text message"}, []string{"invalid UTF-8 in text message"}, [2]uint64{4, 1}},
		"/orphan-continuation":      {[]string{"continuation without a message"}, []string{"continuation without a message"}, [2]uint64{3, 1}},
		"/text-inside-fragmented":   {[]string{"new message inside a fragmented message"}, []string{"new message inside a fragmented message"}, [2]uint64{3, 1}},
		"/close-1-byte":             {[]string{"close frame with a 1-byte payload"}, []string{"close frame with a 1-byte payload"}, [2]uint64{2, 1}},
		"/close-1005":               {[]string{"invalid close code"}, []string{"invalid close code 1005"}, [2]uint64{2, 1}},
		"/framing-lost-client":      {say, []string{"frame length with the most significant bit set"}, [2]uint64{4, 2}},
		"/ping-200-bytes":           {[]string{"control frame longer than 125 bytes"}, []string{"control frame longer than 125 bytes"}, [2]uint64{3, 1}},
		"/forbidden-then-101/retry": {say, say, [2]uint64{2, 2}},
		"/wrong-accept":             {say, []string{"Sec-WebSocket-Accept mismatch"}, [2]uint64{2, 2}},
		"/close-126-bytes":          {[]string{"control frame longer than 125 bytes"}, []string{"control frame longer than 125 bytes"}, [2]uint64{2, 2}},
		"/close-999":                {[]string{"invalid close code"}, []string{"invalid close code 999"}, [2]uint64{2, 2}},
		"/masked-server":            {[]string{"masked server frame"}, []string{"masked server frame"}, [2]uint64{2, 4}},
		"/reserved-opcode":          {[]string{"reserved opcode"}, []string{"reserved opcode 0x3"}, [2]uint64{2, 4}},
		"/framing-lost-server":      {say, []string{"frame length with the most significant bit set"}, [2]uint64{2, 4}},
	}
	rejected := map[string]int{"/forbidden-then-101": 403, "/upgrade-required": 426}
	seen := map[string]bool{}
	for _, path := range testCaptures(t, "violations-*.pcap*") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			events, _ := decodeCapture(t, path, Config{})
			byConn := map[uint64]*want{}
			paths := map[uint64]string{}
			for i := range events {
				e := &events[i]
				t.Log(describe(e))
				switch e.Kind {
				case KindRejected:
					if rejected[e.Path] != e.Status {
						t.Errorf("rejected %s with %d", e.Path, e.Status)
					}
					seen[e.Path] = true
				case KindOpen:
					paths[e.ConnID] = e.Path
					byConn[e.ConnID] = &want{}
				case KindError:
					if g := byConn[e.ConnID]; g != nil {
						g.errors = append(g.errors, e.Err)
					}
				case KindMessage:
					g := byConn[e.ConnID]
					g.flagged = append(g.flagged, e.Violations.Names()...)
					if e.FromClient {
						g.messages[0]++
					} else {
						g.messages[1]++
					}
				}
			}
			for id, got := range byConn {
				p := paths[id]
				seen[p] = true
				w, ok := wants[p]
				if !ok {
					t.Errorf("connection %s has no expectation", p)
					continue
				}
				if !reflect.DeepEqual(got.flagged, w.flagged) || !reflect.DeepEqual(got.errors, w.errors) || got.messages != w.messages {
					t.Errorf("%s:\n got flags %q errors %q messages %v\nwant flags %q errors %q messages %v",
						p, got.flagged, got.errors, got.messages, w.flagged, w.errors, w.messages)
				}
			}
		})
	}
	for p := range wants {
		if !seen[p] {
			t.Errorf("no connection %s in the captures", p)
		}
	}
	for p := range rejected {
		if !seen[p] {
			t.Errorf("no rejected upgrade %s in the captures", p)
		}
	}
}

// TestCapturesMidstream decodes the captures with their first packets cut
// off (the handshake not captured) and Config.Midstream set: the frames
// after the cut are still found.
func TestCapturesMidstream(t *testing.T) {
	for _, path := range testCaptures(t, "*plain*.pcap*") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			full, _ := decodeCapture(t, path, Config{})
			var want int
			for _, e := range full {
				if e.Kind == KindMessage {
					want++
				}
			}
			// Replace the capture's first 12 packets (handshakes) by nothing.
			src := openCapture(t, path)
			rec := &recorder{tb: t, max: DefaultMaxMessage, keepFull: true}
			d := NewDecoder(Config{Midstream: true}, rec)
			asm := reassembly.New(d, reassembly.Options{ServerPorts: []uint16{7272}})
			for i := 0; ; i++ {
				data, ci, err := src.ReadPacketData()
				if err != nil {
					break
				}
				p := gopacket.NewPacket(data, src.LinkType(), gopacket.DecodeOptions{NoCopy: true, Lazy: true})
				tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil || p.NetworkLayer() == nil || i < 12 {
					continue
				}
				asm.Feed(p.NetworkLayer().NetworkFlow(), tcp, ci)
			}
			asm.Close()
			var got, errs int
			for i := range rec.events {
				e := &rec.events[i]
				t.Log(describe(e))
				if !e.Midstream && e.Kind != KindOpen {
					continue
				}
				switch e.Kind {
				case KindMessage:
					got++
				case KindError:
					errs++
				}
			}
			if got == 0 || got > want || errs > 0 {
				t.Errorf("midstream: %d messages of %d, %d errors", got, want, errs)
			}
		})
	}
}
