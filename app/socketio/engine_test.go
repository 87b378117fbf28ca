package socketio

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// pk writes packets for comparison: type, b for binary, and the data quoted.
func pk(ps []EnginePacket) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(p.Type.String())
		if p.Binary {
			b.WriteString(" b")
		}
		fmt.Fprintf(&b, " %q", p.Data)
	}
	return b.String()
}

// The v3 open packet of the engine.io-protocol v3 README; its length, 96,
// counts characters.
const v3Open = `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}`

func TestDecodePayload(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		binary bool
		eio    int
		want   string
		err    string
	}{
		// v4: packets separated by 0x1e, binary as "b"+base64.
		{name: "v4 one", body: `42["hey","Jude"]`, eio: 4, want: `message "2[\"hey\",\"Jude\"]"`},
		{name: "v4 two", body: "42[\"hello\"]\x1e42[\"world\"]", eio: 4, want: `message "2[\"hello\"]" | message "2[\"world\"]"`},
		{name: "v4 open", body: `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}`, eio: 4,
			want: `open "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":5000,\"maxPayload\":1000000}"`},
		{name: "v4 base64", body: "451-[\"upload\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBA==", eio: 4,
			want: `message "51-[\"upload\",{\"_placeholder\":true,\"num\":0}]" | message b "\x01\x02\x03\x04"`},
		{name: "v4 base64 unpadded", body: "bAQIDBA", eio: 4, want: `message b "\x01\x02\x03\x04"`},
		{name: "v4 noop", body: "6", eio: 4, want: `noop ""`},
		{name: "v4 ping", body: "2\x1e2", eio: 4, want: `ping "" | ping ""`},
		{name: "v4 unknown type", body: "4a\x1ex", eio: 4, want: `message "a"`, err: `unknown packet type 'x'`},
		{name: "v4 trailing separator", body: "4a\x1e", eio: 4, want: `message "a"`, err: "empty packet"},
		{name: "v4 bad base64", body: "b!!!!", eio: 4, err: "invalid base64"},

		// v3 string payloads: lengths in UTF-16 code units.
		{name: "v3 open", body: "96:" + v3Open + "2:40", eio: 3, want: `open "` + strings.ReplaceAll(v3Open[1:], `"`, `\"`) + `" | message "0"`},
		{name: "v3 two", body: "6:4hello6:4world", eio: 3, want: `message "hello" | message "world"`},
		{name: "v3 euro", body: "6:4hello2:4€", eio: 3, want: `message "hello" | message "€"`},
		{name: "v3 non-BMP counts 2", body: "3:4😀2:40", eio: 3, want: `message "😀" | message "0"`},
		{name: "v3 non-BMP split", body: "2:4😀", eio: 3, err: "ends inside a character"},
		{name: "v3 past end", body: "4:4😀", eio: 3, err: "past the end"},
		{name: "v3 huge length", body: "9999999999:4hi", eio: 3, err: "past the end"},
		{name: "v3 too many digits", body: "99999999999:4hi", eio: 3, err: "bad packet length"},
		{name: "v3 no colon", body: "6:4hello6", eio: 3, want: `message "hello"`, err: "bad packet length"},
		{name: "v3 empty packet skipped", body: "0:1:6", eio: 3, want: `noop ""`},
		{name: "v3 base64", body: "2:4€10:b4AQIDBA==", eio: 3, want: `message "€" | message b "\x01\x02\x03\x04"`},
		{name: "v3 base64 without type", body: "1:b", eio: 3, err: "base64 packet without a type"},
		{name: "v3 guessed", body: "6:4hello", eio: 0, want: `message "hello"`},
		{name: "v4 guessed", body: `42["a:b"]`, eio: 0, want: `message "2[\"a:b\"]"`},

		// v3 binary payloads (application/octet-stream).
		{name: "v3 binary", binary: true, body: "\x00\x04\xff4€\x01\x05\xff\x04\x01\x02\x03\x04", eio: 3,
			want: `message "€" | message b "\x01\x02\x03\x04"`},
		{name: "v3 binary long", binary: true, body: "\x00\x01\x06\xff42[\"a\",\"bcdefg\"]", eio: 3, want: `message "2[\"a\",\"bcdefg\"]"`},
		{name: "v3 binary any eio", binary: true, body: "\x00\x01\xff6", eio: 4, want: `noop ""`},
		{name: "v3 binary bad kind", binary: true, body: "\x02\x01\xff6", eio: 3, err: "kind"},
		{name: "v3 binary bad digit", binary: true, body: "\x00\x0a\xff6", eio: 3, err: "bad packet length"},
		{name: "v3 binary no separator", binary: true, body: "\x00\x01\x01", eio: 3, err: "bad packet length"},
		{name: "v3 binary no digits", binary: true, body: "\x00\xff6", eio: 3, err: "bad packet length"},
		{name: "v3 binary past end", binary: true, body: "\x01\x09\x09\x09\x09\x09\x09\xff\x04", eio: 3, err: "past the end"},
		{name: "v3 binary empty binary packet", binary: true, body: "\x01\x00\xff", eio: 3, err: "empty packet"},
		{name: "v3 binary bad type", binary: true, body: "\x01\x01\xff\x09", eio: 3, err: "unknown type 9"},

		{name: "empty", body: "", eio: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := DecodePayload([]byte(tc.body), tc.binary, tc.eio)
			if got := pk(ps); got != tc.want {
				t.Errorf("packets\n got %s\nwant %s", got, tc.want)
			}
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestV3OpenLength(t *testing.T) {
	// The README's 96 is the open packet's length: all ASCII here.
	if len(v3Open) != 96 {
		t.Fatalf("len %d", len(v3Open))
	}
}

func TestDecodeEnginePacket(t *testing.T) {
	for _, tc := range []struct {
		p      string
		binary bool
		eio    int
		want   string
		err    bool
	}{
		{p: "2probe", eio: 4, want: `ping "probe"`},
		{p: "3probe", eio: 3, want: `pong "probe"`},
		{p: "5", eio: 4, want: `upgrade ""`},
		{p: `42["chat message","hi"]`, eio: 4, want: `message "2[\"chat message\",\"hi\"]"`},
		{p: "hello", binary: true, eio: 4, want: `message b "hello"`},
		{p: "hello", binary: true, eio: 0, want: `message b "hello"`},
		{p: "\x04hello", binary: true, eio: 3, want: `message b "hello"`},
		{p: "\x09hello", binary: true, eio: 3, err: true},
		{p: "", binary: true, eio: 3, err: true},
		{p: "", eio: 4, err: true},
		{p: "{\"type\":\"say\"}", eio: 4, err: true},
		{p: "b4AQID", eio: 3, want: `message b "\x01\x02\x03"`},
	} {
		got, err := DecodeEnginePacket([]byte(tc.p), tc.binary, tc.eio)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v", tc.p, err)
			continue
		}
		if err == nil && pk([]EnginePacket{got}) != tc.want {
			t.Errorf("%q: got %s, want %s", tc.p, pk([]EnginePacket{got}), tc.want)
		}
	}
}

func TestEngineTypeString(t *testing.T) {
	want := []string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}
	for i, w := range want {
		if got := EngineType(i).String(); got != w {
			t.Errorf("%d: %s", i, got)
		}
	}
	if EngineError.String() != "error" || !strings.Contains(EngineType(9).String(), "9") {
		t.Error(EngineError.String(), EngineType(9).String())
	}
	pw := []string{"connect", "disconnect", "event", "ack", "connect_error", "binary_event", "binary_ack"}
	for i, w := range pw {
		if got := PacketType(i).String(); got != w {
			t.Errorf("%d: %s", i, got)
		}
	}
}

// A payload's base64 decodes into the caller's buffer without disturbing
// the packets already decoded into it.
func TestPayloadBase64Buffer(t *testing.T) {
	var buf []byte
	body := []byte("bAQ==\x1ebAgM=\x1ebBAUG")
	ps, err := decodePayload(nil, body, false, 4, &buf)
	if err != nil || len(ps) != 3 {
		t.Fatal(ps, err)
	}
	for i, want := range [][]byte{{1}, {2, 3}, {4, 5, 6}} {
		if !bytes.Equal(ps[i].Data, want) {
			t.Errorf("%d: %x", i, ps[i].Data)
		}
	}
}
