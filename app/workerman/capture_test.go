package workerman

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

	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/reassembly"
)

// The real captures of workerman-chat traffic in testdata/ run through
// reassembly and the decoder, then the chat layer.

// workermanCaptures are the plaintext captures of the workerman-chat
// protocols (the wss:// ones come through package tlsdecrypt and are
// tested by package sniff).
func workermanCaptures(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"uid-*.pcap*", "room-*.pcap*"} {
		m, _ := filepath.Glob(filepath.Join("../../testdata", pattern))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no workerman-chat captures in ../../testdata")
	}
	return files
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// decodeCapture feeds a capture to a Decoder whose events go through
// via, and returns copies of them.
func decodeCapture(t *testing.T, path string, via func(decode.Sink) decode.Sink) []decode.Event {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var src packetSource
	if strings.HasSuffix(path, ".pcapng") {
		src, err = pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(bytes.NewReader(raw))
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rec := new(recorder)
	d := decode.NewDecoder(decode.Config{}, via(rec))
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
	return rec.events
}

// TestCaptures: every chat message of the real captures reads as a line,
// and the work split as package sniff splits it (two Parsers taking
// turns, then Line) fills the events exactly as Reader.Event does, with
// and without lines.
func TestCaptures(t *testing.T) {
	for _, path := range workermanCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := decodeCapture(t, path, func(s decode.Sink) decode.Sink { return NewReader(s, Options{}) })
			chats := 0
			for i := range want {
				if e := &want[i]; e.Chat != nil {
					chats++
					if e.ChatLine == "" {
						t.Errorf("chat message without a line: %s", e.Chat)
					}
					if e.Talk.Type == "" {
						t.Errorf("chat message without its type in Talk: %s", e.Chat)
					}
				}
			}
			if chats == 0 {
				t.Fatal("no chat message in the capture")
			}
			for _, tc := range []struct {
				name  string
				lines bool
				via   func(decode.Sink) decode.Sink
			}{
				{"no lines", false, func(s decode.Sink) decode.Sink { return NewReader(s, Options{NoLines: true}) }},
				{"parsers and Line", true, func(s decode.Sink) decode.Sink { return splitReader(s, Options{}) }},
				{"parsers without lines", false, func(s decode.Sink) decode.Sink { return splitReader(s, Options{NoLines: true}) }},
			} {
				lines := tc.lines
				got := decodeCapture(t, path, tc.via)
				if len(got) != len(want) {
					t.Fatalf("%s: %d events, want %d", tc.name, len(got), len(want))
				}
				for i := range want {
					w := want[i]
					if !lines {
						// Talk comes with the lines: it is read from the
						// same decoded fields.
						w.ChatLine, w.Talk = "", decode.Talk{}
					}
					if !reflect.DeepEqual(got[i], w) {
						t.Errorf("%s: event %d\n got %+v\nwant %+v", tc.name, i, got[i], w)
					}
				}
			}
		})
	}
}

// splitReader is a Reader's work split as sniff splits it: two Parsers
// taking turns, then Line.
func splitReader(next decode.Sink, opts Options) decode.Sink {
	r := NewReader(nil, opts)
	parsers := []*Parser{NewParser(opts), NewParser(opts)}
	var pc Parsed
	n := 0
	return decode.SinkFunc(func(e *decode.Event) {
		parsers[n%2].Parse(e, &pc)
		n++
		r.Line(e, &pc)
		next.Event(e)
	})
}

// FuzzReader feeds random text as chat messages from both sides: Chat is
// always a JSON object, and nothing panics.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		`{"type":"login","name":"mynick"}`,
		`{"type":"user_list","user_list":[{"uid":783654164,"name":"\u732a\u732a"},{"uid":783700053,"name":"mynick"}]}`,
		`{"type":"login","uid":783700053,"name":"mynick","time":"2014-08-12 17:50:30"}`,
		`{"type":"say","from_uid":783700053,"to_uid":"all","content":"hi, all !","time":"2014-08-12 :51:02"}`,
		`{"type":"login","client_id":"7f00000108fc00000001","client_name":"bob","time":"t","client_list":{"a":"alice","b":"bob"}}`,
		`{"type":"say","from_client_id":"a","from_client_name":"alice","to_client_id":"b","content":"x","time":"t"}`,
		`{"type":"logout","from_client_id":"a","from_client_name":"alice","time":"t"}`,
		`{"type":"say","to_client_id":"all","to_client_name":"all","content":"hi"}`,
		`{"type":"ping"}`, `{"type":"logout","uid":"7"}`, `{"type":"login","client_list":{"a":1}}`, `[1]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		h := newHarness(t)
		for _, lines := range []bool{true, false} {
			h.r = NewReader(h.rec, Options{NoLines: !lines, MaxContent: 8})
			h.server(sf(OpText, string(js)))
			h.client(cf(OpText, string(js)))
		}
		for _, e := range h.rec.events {
			if e.Chat != nil && (!jsonObject(e.Chat)) {
				t.Fatalf("Chat is not a JSON object: %q", e.Chat)
			}
		}
	})
}
