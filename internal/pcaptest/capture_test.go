package pcaptest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func mustParse(t testing.TB, b []byte) *Capture {
	t.Helper()
	c, err := Parse(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

// TestParseCaptures reads every real capture and writes it back as pcap:
// the link type, the packets and their timestamps survive.
func TestParseCaptures(t *testing.T) {
	for _, rc := range Captures {
		t.Run(rc.Name, func(t *testing.T) {
			in := Load(t, rc.Name)
			if got := bytes.HasPrefix(in, pcapngMagic); got != rc.PcapNG {
				t.Errorf("pcapng = %v, want %v", got, rc.PcapNG)
			}
			c := mustParse(t, in)
			if c.LinkType != rc.LinkType {
				t.Errorf("link type = %v, want %v", c.LinkType, rc.LinkType)
			}
			if len(c.Packets) == 0 {
				t.Fatal("no packets")
			}
			out, err := c.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			back := mustParse(t, out)
			if back.LinkType != c.LinkType || back.Snaplen != c.Snaplen || len(back.Packets) != len(c.Packets) {
				t.Fatalf("round trip: link %v snaplen %d packets %d, want %v %d %d",
					back.LinkType, back.Snaplen, len(back.Packets), c.LinkType, c.Snaplen, len(c.Packets))
			}
			for i := range c.Packets {
				p, q := c.Packets[i], back.Packets[i]
				if !p.CI.Timestamp.Equal(q.CI.Timestamp) || p.CI.Length != q.CI.Length || !bytes.Equal(p.Data, q.Data) {
					t.Fatalf("packet %d changed in the round trip", i+1)
				}
			}
			a := analyze(c)
			upgraded, ipv6 := 0, false
			for _, k := range a.order {
				if a.conns[k].upgraded() {
					upgraded++
				}
				ipv6 = ipv6 || k.a.Addr().Is6()
			}
			if upgraded != rc.Conns {
				t.Errorf("upgraded connections = %d, want %d", upgraded, rc.Conns)
			}
			if ipv6 != rc.IPv6 {
				t.Errorf("IPv6 = %v, want %v", ipv6, rc.IPv6)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	good := Load(t, "uid-plain-any.pcap")
	tests := []struct {
		name string
		in   []byte
		is   error // the error must wrap this, when set
	}{
		{"empty", nil, nil},
		{"not a capture", []byte("GET / HTTP/1.1\r\n\r\n the end of it"), nil},
		{"cut in a record header", good[:pcapFileHeaderLen+5], io.ErrUnexpectedEOF},
		{"cut in packet data", good[:pcapFileHeaderLen+pcapRecordHeaderLen+3], io.ErrUnexpectedEOF},
		{"pcapng magic only", pcapngMagic, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestTestdataDir(t *testing.T) {
	dir := TestdataDir(t)
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Fatalf("testdata/README.md: %v", err)
	}
	for _, rc := range Captures {
		if _, err := os.Stat(Path(t, rc.Name)); err != nil {
			t.Errorf("%s: %v", rc.Name, err)
		}
	}
}

func TestRecordOffsets(t *testing.T) {
	b, err := mustParse(t, Load(t, "room-plain-sll6.pcap")).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	offs, err := recordOffsets(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(mustParse(t, b).Packets); len(offs) != want {
		t.Fatalf("%d records, want %d", len(offs), want)
	}
	for _, bad := range [][]byte{b[:10], b[:len(b)-1], append([]byte{1, 2, 3, 4}, b[4:]...)} {
		if _, err := recordOffsets(bad); err == nil {
			t.Errorf("no error for %d bytes starting %x", len(bad), bad[:4])
		}
	}
}
