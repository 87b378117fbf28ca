package socketio

import (
	"bytes"
	"encoding/json"
	"testing"
)

var fuzzPayloads = []string{
	"96:" + v3Open + "2:40",
	"6:4hello2:4€10:b4AQIDBA==",
	"3:4😀2:40",
	"42[\"hello\"]\x1e42[\"world\"]",
	"451-[\"upload\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBA==",
	"\x00\x04\xff4€\x01\x05\xff\x04\x01\x02\x03\x04",
	"9999999999:4",
	"6",
	"ok",
}

func FuzzEnginePayload(f *testing.F) {
	for _, p := range fuzzPayloads {
		for _, eio := range []uint8{0, 3, 4} {
			f.Add([]byte(p), false, eio)
			f.Add([]byte(p), true, eio)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, binary bool, eio uint8) {
		ps, err := DecodePayload(body, binary, int(eio%5))
		total := 0
		for _, p := range ps {
			total += len(p.Data)
			if p.Type > EngineNoop {
				t.Fatalf("type %d without an error", p.Type)
			}
		}
		if total > len(body) {
			t.Fatalf("%d bytes of packets from a %d-byte body", total, len(body))
		}
		// A v4 text payload without base64 is its packets joined by 0x1e.
		if err == nil && !binary && eio%5 == 4 {
			var re []byte
			plain := true
			for i, p := range ps {
				plain = plain && !p.Binary
				if i > 0 {
					re = append(re, recordSeparator)
				}
				re = append(append(re, '0'+byte(p.Type)), p.Data...)
			}
			if plain && !bytes.Equal(re, body) {
				t.Fatalf("re-encoded %q from %q", re, body)
			}
		}
		if _, err := DecodeEnginePacket(body, binary, int(eio%5)); err == nil && len(body) == 0 && !binary {
			t.Fatal("empty packet without an error")
		}
	})
}

var fuzzPackets = []string{
	`0`, `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, `4{"message":"Not authorized"}`, `2["foo"]`,
	`2/admin,["bar"]`, `51-["baz",{"_placeholder":true,"num":0}]`, `212["foo"]`, `3/admin,13["bar"]`,
	`61-15["bar",{"_placeholder":true,"num":0}]`, `1/admin,`, `0/chat?token=abc,`, `4"Not authorized"`,
	`2[{"nested":[1,{"a":"]"}]},"x"]`, `2["new message",{"username":"alice","message":"hi"}]`,
}

func FuzzPacket(f *testing.F) {
	for _, p := range fuzzPackets {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		p, err := ParsePacket(s)
		if err != nil {
			return
		}
		if p.Namespace == "" || p.Namespace[0] != '/' {
			t.Fatalf("namespace %q", p.Namespace)
		}
		for _, a := range p.Args {
			if !json.Valid(a) {
				t.Fatalf("argument %q is not JSON", a)
			}
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("data %q", p.Data)
		}
		// The same text read by a Reader, both ways.
		for _, client := range []bool{true, false} {
			r := NewReader()
			for _, m := range r.Read(&Input{Conn: 1, FromClient: client, Payload: append([]byte("4"), s...)}) {
				checkLine(t, m.Line)
			}
		}
	})
}

func checkLine(t *testing.T, l string) {
	t.Helper()
	if needsEscape([]byte(l)) {
		t.Fatalf("line with control characters or invalid UTF-8: %q", l)
	}
	if len(l) > MaxLine+len("…") {
		t.Fatalf("line of %d bytes", len(l))
	}
}

var fuzzPaths = []string{
	"",
	"/socket.io/?EIO=4&transport=websocket",
	"/socket.io/?EIO=4&transport=websocket&sid=a",
	"/socket.io/?EIO=4&transport=polling&sid=a",
	"/socket.io/?EIO=3&transport=polling",
	"/socket.io/?EIO=3&transport=polling&sid=b",
	"/socket.io/?EIO=3&transport=websocket&sid=b",
	"/x?EIO=4&transport=polling",
}

// FuzzReader reads random Inputs: each is a flags byte (connection, who
// sends, polling, binary, close after), a path byte, a length byte and the
// payload.
func FuzzReader(f *testing.F) {
	seed := func(ins ...[]byte) []byte { return bytes.Join(ins, nil) }
	in := func(flags, path byte, payload string) []byte {
		return append([]byte{flags, path, byte(len(payload))}, payload...)
	}
	f.Add(seed(
		in(0x04, 7, `0{"sid":"a","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`),
		in(0x0d, 3, "40\x1e451-[\"up\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID"),
		in(0x01, 2, "2probe"), in(0x00, 2, "3probe"), in(0x01, 2, "5"),
		in(0x01, 2, `42["add user","alice"]`), in(0x01, 2, `42["new message","hi"]`),
		in(0x00, 2, `451-3["f",{"_placeholder":true,"num":0}]`), in(0x08, 2, "bin"),
		in(0x11, 2, `433["ok"]`),
	))
	f.Add(seed(
		in(0x04, 4, "96:"+v3Open[:90]),
		in(0x0c, 5, "\x00\x04\xff4€\x01\x05\xff\x04\x01\x02\x03\x04"),
		in(0x03, 6, "2"), in(0x02, 6, "3"), in(0x0b, 6, "\x04hi"),
	))
	f.Add(seed(in(0x01, 0, "2"), in(0x00, 0, "3"), in(0x00, 0, `42["user joined",{"username":"bob","numUsers":2}]`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader()
		for len(data) >= 3 {
			flags, path, n := data[0], data[1], int(data[2])
			data = data[3:]
			if n > len(data) {
				n = len(data)
			}
			in := &Input{
				Conn:       uint64(flags & 3),
				FromClient: flags&1 != 0,
				Polling:    flags&4 != 0,
				Binary:     flags&8 != 0,
				Path:       fuzzPaths[int(path)%len(fuzzPaths)],
				Payload:    data[:n],
			}
			if in.Polling {
				in.Method = "GET"
				if in.FromClient {
					in.Method = "POST"
				} else {
					in.Status = 200
					if path&0x80 != 0 {
						in.Status = 500
					}
				}
			}
			data = data[n:]
			for i, m := range r.Read(in) {
				checkLine(t, m.Line)
				if m.Line == "" {
					t.Fatalf("message %d without a line: %+v", i, m)
				}
				c := m.Clone()
				if !bytes.Equal(c.Data, m.Data) {
					t.Fatal("clone")
				}
				if m.IO != nil && m.IO.Complete {
					for _, a := range m.IO.Args {
						if !json.Valid(a) {
							t.Fatalf("completed argument %q", a)
						}
					}
				}
			}
			if flags&0x10 != 0 {
				r.Close(in.Conn)
			}
			if r.held < 0 || r.held > maxHeldTotal || len(r.sessions) > maxSessions || len(r.conns) > maxConns {
				t.Fatalf("held %d, %d sessions, %d conns", r.held, len(r.sessions), len(r.conns))
			}
		}
		for c := uint64(0); c < 4; c++ {
			r.Close(c)
		}
		held := 0
		for _, s := range r.sessions {
			held += s.held
		}
		if held != r.held {
			t.Fatalf("held %d, sessions hold %d", r.held, held)
		}
	})
}
