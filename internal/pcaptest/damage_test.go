package pcaptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// streamKey names one direction of one connection.
type streamKey struct {
	conn connKey
	side Side
}

// streams rebuilds each direction's bytes from a capture by sequence
// number, independently of the transforms' own bookkeeping. covered counts
// the bytes some segment carried; overlapping segments must agree.
func streams(t *testing.T, c *Capture) (data map[streamKey][]byte, covered map[streamKey]int) {
	t.Helper()
	a := analyze(c)
	isn := map[streamKey]uint32{}
	for _, s := range a.segs {
		if s != nil && s.syn {
			cn := a.conns[keyOf(s)]
			isn[streamKey{keyOf(s), a.sideOf(cn, s)}] = s.seq + 1
		}
	}
	data, covered = map[streamKey][]byte{}, map[streamKey]int{}
	seen := map[streamKey][]bool{}
	for _, s := range a.segs {
		if s == nil || len(s.payload) == 0 {
			continue
		}
		cn := a.conns[keyOf(s)]
		k := streamKey{keyOf(s), a.sideOf(cn, s)}
		base, ok := isn[k]
		if !ok {
			t.Fatalf("packet %d: no SYN for its stream", s.index+1)
		}
		off := int(s.seq - base)
		end := off + len(s.payload)
		for len(data[k]) < end {
			data[k] = append(data[k], 0)
			seen[k] = append(seen[k], false)
		}
		for i, b := range s.payload {
			if seen[k][off+i] && data[k][off+i] != b {
				t.Fatalf("packet %d: byte %d of %v disagrees with an earlier segment", s.index+1, off+i, k.side)
			}
			if !seen[k][off+i] {
				covered[k]++
			}
			data[k][off+i], seen[k][off+i] = b, true
		}
	}
	return data, covered
}

// sameStreams checks that two captures carry the same bytes in every
// direction.
func sameStreams(t *testing.T, got, want *Capture) {
	t.Helper()
	g, _ := streams(t, got)
	w, _ := streams(t, want)
	if len(g) != len(w) {
		t.Fatalf("%d streams, want %d", len(g), len(w))
	}
	for k, b := range w {
		if !bytes.Equal(g[k], b) {
			t.Errorf("%v stream of %v: %d bytes differ from the original %d", k.side, k.conn, len(g[k]), len(b))
		}
	}
}

// sameTshark checks that tshark sees the same messages, in the same order
// per direction of each connection, in two captures (frame numbers aside).
func sameTshark(t *testing.T, got, want []byte, port int) {
	t.Helper()
	perDir := func(b []byte, name string) map[string][]Message {
		out := map[string][]Message{}
		for _, m := range TsharkMessages(t, TempFile(t, name, b), port) {
			k := fmt.Sprintf("stream %d client %v", m.Stream, m.FromClient)
			m.Frame = 0
			out[k] = append(out[k], m)
		}
		return out
	}
	g, w := perDir(got, "got.pcap"), perDir(want, "want.pcap")
	for k, wm := range w {
		gm := g[k]
		if len(gm) != len(wm) {
			t.Errorf("tshark: %s: %d messages, want %d", k, len(gm), len(wm))
			continue
		}
		for i := range wm {
			if gm[i] != wm[i] {
				t.Errorf("tshark: %s: message %d = %+v, want %+v", k, i, gm[i], wm[i])
			}
		}
	}
}

func dataSegments(a *analysis, minLen int) int {
	n := 0
	for _, s := range a.segs {
		if s != nil && len(s.payload) >= minLen && !s.truncated {
			n++
		}
	}
	return n
}

// TestLosslessTransforms: reordered, duplicated and overlapping segments
// still carry the same bytes, and tshark still finds the same messages.
func TestLosslessTransforms(t *testing.T) {
	tests := []struct {
		name  string
		f     func([]byte) ([]byte, error)
		added func(a *analysis) int // packets more than the input
		check func(t *testing.T, in, out *Capture)
	}{
		{
			name:  "Reorder",
			f:     Reorder,
			added: func(*analysis) int { return 0 },
			check: func(t *testing.T, in, out *Capture) {
				moved := 0
				for i := range in.Packets {
					if !bytes.Equal(in.Packets[i].Data, out.Packets[i].Data) {
						moved++
					}
					if !in.Packets[i].CI.Timestamp.Equal(out.Packets[i].CI.Timestamp) {
						t.Fatalf("packet %d: timestamp moved", i+1)
					}
				}
				if moved == 0 {
					t.Error("no packet moved")
				}
			},
		},
		{
			name:  "Duplicate",
			f:     Duplicate,
			added: func(a *analysis) int { return dataSegments(a, 1) },
			check: func(t *testing.T, in, out *Capture) {
				for i := 1; i < len(out.Packets); i++ {
					if out.Packets[i].CI.Timestamp.Before(out.Packets[i-1].CI.Timestamp) {
						t.Fatalf("packet %d goes back in time", i+1)
					}
				}
			},
		},
		{
			name:  "Overlap",
			f:     Overlap,
			added: func(a *analysis) int { return dataSegments(a, 3) },
			check: func(t *testing.T, in, out *Capture) {
				for i, p := range out.Packets {
					if p.CI.CaptureLength != len(p.Data) || p.CI.Length != len(p.Data) {
						t.Fatalf("packet %d: lengths %d/%d for %d bytes", i+1, p.CI.CaptureLength, p.CI.Length, len(p.Data))
					}
				}
			},
		},
	}
	for _, tt := range tests {
		for _, rc := range Captures {
			t.Run(tt.name+"/"+rc.Name, func(t *testing.T) {
				raw := Load(t, rc.Name)
				in := mustParse(t, raw)
				b, err := tt.f(raw)
				if err != nil {
					t.Fatal(err)
				}
				out := mustParse(t, b)
				if out.LinkType != in.LinkType {
					t.Errorf("link type %v, want %v", out.LinkType, in.LinkType)
				}
				if want := len(in.Packets) + tt.added(analyze(in)); len(out.Packets) != want {
					t.Errorf("%d packets, want %d", len(out.Packets), want)
				}
				tt.check(t, in, out)
				sameStreams(t, out, in)
				orig, err := in.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				sameTshark(t, b, orig, rc.Port)
			})
		}
	}
}

func TestDropSegment(t *testing.T) {
	for _, rc := range Captures {
		raw := Load(t, rc.Name)
		in := mustParse(t, raw)
		_, inCovered := streams(t, in)
		for _, side := range []Side{Client, Server} {
			n, err := FrameSegments(raw, side)
			if err != nil {
				t.Fatal(err)
			}
			if n < 2 {
				t.Fatalf("%s: %d %v frame segments", rc.Name, n, side)
			}
			for _, i := range []int{0, n / 2, n - 1} {
				t.Run(fmt.Sprintf("%s/%v/%d", rc.Name, side, i), func(t *testing.T) {
					dropped := analyze(in).frameSegments(side)[i]
					b, err := DropSegment(raw, side, i)
					if err != nil {
						t.Fatal(err)
					}
					out := mustParse(t, b)
					if len(out.Packets) != len(in.Packets)-1 {
						t.Fatalf("%d packets, want %d", len(out.Packets), len(in.Packets)-1)
					}
					_, outCovered := streams(t, out)
					k := streamKey{keyOf(dropped), side}
					if got, want := outCovered[k], inCovered[k]-len(dropped.payload); got != want {
						t.Errorf("%v stream covers %d bytes, want %d", side, got, want)
					}
				})
			}
			if _, err := DropSegment(raw, side, n); !errors.Is(err, ErrNoSuchSegment) {
				t.Errorf("%s: drop segment %d of %d: %v, want ErrNoSuchSegment", rc.Name, n, n, err)
			}
			if _, err := DropSegment(raw, side, -1); !errors.Is(err, ErrNoSuchSegment) {
				t.Errorf("%s: drop segment -1: %v, want ErrNoSuchSegment", rc.Name, err)
			}
		}
	}
}

// TestDropSegmentTshark: tshark loses at least the message whose frame was
// in the dropped segment.
func TestDropSegmentTshark(t *testing.T) {
	rc := Captures[0]
	raw := Load(t, rc.Name)
	want := len(TsharkMessages(t, Path(t, rc.Name), rc.Port))
	b, err := DropSegment(raw, Server, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(TsharkMessages(t, TempFile(t, "dropped.pcap", b), rc.Port)); got >= want {
		t.Errorf("tshark sees %d messages after the drop, want fewer than %d", got, want)
	}
}

func TestCutHandshake(t *testing.T) {
	for _, rc := range Captures {
		t.Run(rc.Name, func(t *testing.T) {
			raw := Load(t, rc.Name)
			b, err := CutHandshake(raw)
			if err != nil {
				t.Fatal(err)
			}
			out := mustParse(t, b)
			a := analyze(out)
			// Connections that never upgrade (Engine.IO long-polling) are
			// left as they were.
			upgraded := map[connKey]bool{}
			for k, cn := range analyze(mustParse(t, raw)).conns {
				upgraded[k] = cn.upgraded()
			}
			for _, s := range a.segs {
				if s == nil || !upgraded[keyOf(s)] {
					continue
				}
				if s.syn {
					t.Errorf("packet %d: a SYN is left", s.index+1)
				}
				if bytes.HasPrefix(s.payload, []byte("GET ")) || bytes.HasPrefix(s.payload, []byte("HTTP/1.1 101")) {
					t.Errorf("packet %d: handshake bytes are left: %.20q", s.index+1, s.payload)
				}
			}
			// Every WebSocket segment is still there, now seen mid-stream.
			for _, side := range []Side{Client, Server} {
				before, err := FrameSegments(raw, side)
				if err != nil {
					t.Fatal(err)
				}
				after, err := FrameSegments(b, side)
				if err != nil {
					t.Fatal(err)
				}
				if after != before {
					t.Errorf("%v frame segments: %d, want %d", side, after, before)
				}
			}
			n := 0
			for k := range a.conns {
				if upgraded[k] {
					n++
				}
			}
			if n != rc.Conns {
				t.Errorf("%d upgraded connections, want %d", n, rc.Conns)
			}
			if _, err := CutHandshake(b); err == nil {
				t.Error("cutting twice: no error")
			}
		})
	}
}

func TestSnaplen(t *testing.T) {
	const n = 96
	for _, rc := range Captures {
		t.Run(rc.Name, func(t *testing.T) {
			in := mustParse(t, Load(t, rc.Name))
			b, err := Snaplen(Load(t, rc.Name), n)
			if err != nil {
				t.Fatal(err)
			}
			r, err := pcapgo.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if r.Snaplen() != n {
				t.Errorf("header snaplen %d, want %d", r.Snaplen(), n)
			}
			out := mustParse(t, b)
			if len(out.Packets) != len(in.Packets) {
				t.Fatalf("%d packets, want %d", len(out.Packets), len(in.Packets))
			}
			cut := 0
			for i, p := range out.Packets {
				orig := in.Packets[i]
				if p.CI.Length != orig.CI.Length || len(p.Data) != min(n, len(orig.Data)) || !bytes.HasPrefix(orig.Data, p.Data) {
					t.Fatalf("packet %d: %d of %d bytes, want %d of %d", i+1, len(p.Data), p.CI.Length, min(n, len(orig.Data)), orig.CI.Length)
				}
				if len(p.Data) < p.CI.Length {
					cut++
				}
			}
			if cut == 0 {
				t.Error("no packet was cut")
			}
		})
	}
	if _, err := Snaplen(Load(t, Captures[0].Name), 0); err == nil {
		t.Error("snaplen 0: no error")
	}
}

func TestCutMidRecord(t *testing.T) {
	for _, rc := range Captures {
		t.Run(rc.Name, func(t *testing.T) {
			in := mustParse(t, Load(t, rc.Name))
			b, err := CutMidRecord(Load(t, rc.Name))
			if err != nil {
				t.Fatal(err)
			}
			r, err := pcapgo.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			read := 0
			for {
				_, _, err := r.ReadPacketData()
				if err == nil {
					read++
					continue
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("after %d packets: %v, want io.ErrUnexpectedEOF", read, err)
				}
				break
			}
			if read == 0 || read >= len(in.Packets) {
				t.Errorf("%d whole packets before the cut, want some of %d", read, len(in.Packets))
			}
			if _, err := Parse(b); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("parse: %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// FuzzTransforms: no input makes a transform panic; whatever a transform
// returns reads back.
func FuzzTransforms(f *testing.F) {
	for _, name := range []string{"uid-plain-any.pcap", "room-plain-sll6.pcap"} {
		dir, err := testdataDir()
		if err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		transforms := map[string]func([]byte) ([]byte, error){
			"reorder":   Reorder,
			"duplicate": Duplicate,
			"overlap":   Overlap,
			"cut":       CutHandshake,
			"drop":      func(b []byte) ([]byte, error) { return DropSegment(b, Server, 0) },
			"snaplen":   func(b []byte) ([]byte, error) { return Snaplen(b, 60) },
		}
		for name, tf := range transforms {
			out, err := tf(b)
			if err != nil {
				continue
			}
			if _, err := Parse(out); err != nil {
				t.Fatalf("%s: output does not read back: %v", name, err)
			}
		}
		if out, err := CutMidRecord(b); err == nil {
			if _, err := Parse(out); err == nil {
				t.Fatal("cut mid-record: output reads back whole")
			}
		}
	})
}
