package pcaptest

import (
	"strings"
	"testing"
)

// TestTsharkCaptures checks each real capture against what testdata/README.md
// says it holds, as seen by Wireshark's dissector.
func TestTsharkCaptures(t *testing.T) {
	for _, rc := range Captures {
		t.Run(rc.Name, func(t *testing.T) {
			msgs := TsharkMessages(t, Path(t, rc.Name), rc.Port)
			client, server := Tally(msgs)
			streams := map[int]bool{}
			fragmented := 0
			for _, m := range msgs {
				streams[m.Stream] = true
				if m.Fragments > 1 {
					fragmented++
				}
				// RFC 6455 5.1: clients mask every frame, servers none.
				if m.Masked != m.FromClient {
					t.Errorf("frame %d: masked=%v from client=%v", m.Frame, m.Masked, m.FromClient)
				}
				if m.Compressed && !rc.Deflate {
					t.Errorf("frame %d: compressed without permessage-deflate", m.Frame)
				}
			}
			if client != rc.Client {
				t.Errorf("client messages = %+v, want %+v", client, rc.Client)
			}
			if server != rc.Server {
				t.Errorf("server messages = %+v, want %+v", server, rc.Server)
			}
			if fragmented != rc.Fragmented {
				t.Errorf("fragmented messages = %d, want %d", fragmented, rc.Fragmented)
			}
			if len(streams) != rc.Conns {
				t.Errorf("connections = %d, want %d", len(streams), rc.Conns)
			}
			for _, want := range rc.Contains {
				found := false
				for _, m := range msgs {
					found = found || strings.Contains(m.Text, want)
				}
				if !found {
					t.Errorf("no message contains %q", want)
				}
			}
		})
	}
}

// TestTsharkBigMessages checks that the captures carry messages over 64 KiB,
// which need the 64-bit length or a large inflated size.
func TestTsharkBigMessages(t *testing.T) {
	for _, name := range []string{"room-deflate-lo.pcap", "room-nocontext-lo6.pcapng"} {
		big := 0
		for _, m := range TsharkMessages(t, Path(t, name), 7272) {
			if len(m.Text) > 64<<10 {
				big++
			}
		}
		if big == 0 {
			t.Errorf("%s: no message over 64 KiB", name)
		}
	}
}

// packetJSON builds one packet of tshark's -T json output.
func packetJSON(frame, stream, dst string, ws, data string) string {
	s := `{"_source":{"layers":{"frame":{"frame.number":"` + frame + `"},` +
		`"tcp":{"tcp.stream":"` + stream + `","tcp.srcport":"1","tcp.dstport":"` + dst + `"}`
	if ws != "" {
		s += `,"websocket":` + ws
	}
	if data != "" {
		s += `,"data":` + data
	}
	return s + `}}}`
}

func wsFrame(fin, rsv, op, mask, payload string) string {
	return `{"websocket.fin":"` + fin + `","websocket.rsv":"` + rsv + `","websocket.opcode":"` + op +
		`","websocket.mask":"` + mask + `","websocket.payload":` + payload + `}`
}

func TestParseTshark(t *testing.T) {
	text := func(s string) string { return `{"websocket.payload.text":"` + s + `"}` }
	tests := []struct {
		name    string
		packets []string
		want    []Message
		wantErr bool
	}{
		{
			name: "two frames in one packet",
			packets: []string{packetJSON("5", "0", "80", "["+
				wsFrame("1", "0x00", "1", "1", text("hi"))+","+
				wsFrame("1", "0x00", "9", "1", `{"websocket.payload.ping":"61:62"}`)+"]", "")},
			want: []Message{
				{Frame: 5, FromClient: true, Opcode: "text", Text: "hi", Fragments: 1, Masked: true},
				{Frame: 5, FromClient: true, Opcode: "ping", Text: "ab", Fragments: 1, Masked: true},
			},
		},
		{
			name: "fragments across packets with a pong between",
			packets: []string{
				packetJSON("1", "2", "9", wsFrame("0", "0x00", "1", "0", `""`), ""),
				packetJSON("2", "2", "9", wsFrame("1", "0x00", "10", "0", `{"websocket.payload.pong":""}`), ""),
				packetJSON("3", "2", "9", wsFrame("0", "0x00", "0", "0", `""`), ""),
				packetJSON("4", "2", "9", wsFrame("1", "0x00", "0", "0", text("joined")), ""),
			},
			want: []Message{
				{Frame: 2, Stream: 2, Opcode: "pong", Fragments: 1},
				{Frame: 4, Stream: 2, Opcode: "text", Text: "joined", Fragments: 3},
			},
		},
		{
			name: "compressed fragments are opaque",
			packets: []string{
				packetJSON("1", "0", "80", wsFrame("0", "0x04", "1", "1", `""`), ""),
				packetJSON("2", "0", "80", wsFrame("1", "0x00", "0", "1", text(`\u0001garbage`)), ""),
			},
			want: []Message{{Frame: 2, FromClient: true, Opcode: "text", Fragments: 2, Masked: true, Compressed: true, Opaque: true}},
		},
		{
			name: "text that tshark could not inflate is opaque, an empty one is not",
			packets: []string{
				packetJSON("1", "0", "9", `{"websocket.fin":"1","websocket.rsv":"0x04","websocket.opcode":"1","websocket.mask":"0","websocket.payload_length":"12","websocket.payload":""}`, ""),
				packetJSON("2", "0", "9", `{"websocket.fin":"1","websocket.rsv":"0x00","websocket.opcode":"1","websocket.mask":"0","websocket.payload_length":"0","websocket.payload":""}`, ""),
			},
			want: []Message{
				{Frame: 1, Opcode: "text", Fragments: 1, Compressed: true, Opaque: true},
				{Frame: 2, Opcode: "text", Fragments: 1},
			},
		},
		{
			name:    "continuation with nothing to continue",
			packets: []string{packetJSON("7", "1", "80", wsFrame("1", "0x00", "0", "1", `""`), "")},
			want:    []Message{{Frame: 7, Stream: 1, FromClient: true, Opcode: "continuation", Fragments: 1, Masked: true}},
		},
		{
			name:    "binary payload from the data layer",
			packets: []string{packetJSON("3", "0", "9", wsFrame("1", "0x04", "2", "0", `""`), `{"data.data":"00:ff"}`)},
			want:    []Message{{Frame: 3, Opcode: "binary", Text: "\x00\xff", Fragments: 1, Compressed: true}},
		},
		{
			name: "two binary frames in one packet are opaque",
			packets: []string{packetJSON("3", "0", "9", "["+wsFrame("1", "0x00", "2", "0", `""`)+","+wsFrame("1", "0x00", "2", "0", `""`)+"]",
				`[{"data.data":"00"},{"data.data":"01"}]`)},
			want: []Message{
				{Frame: 3, Opcode: "binary", Fragments: 1, Opaque: true},
				{Frame: 3, Opcode: "binary", Fragments: 1, Opaque: true},
			},
		},
		{
			name: "close with and without a code",
			packets: []string{
				packetJSON("1", "0", "80", wsFrame("1", "0x00", "8", "1", `{"websocket.payload.close":{"websocket.payload.close.status_code":"4000","websocket.payload.close.reason":"bye"}}`), ""),
				packetJSON("2", "0", "9", wsFrame("1", "0x00", "8", "0", `""`), ""),
			},
			want: []Message{
				{Frame: 1, FromClient: true, Opcode: "close", Text: "bye", CloseCode: 4000, Fragments: 1, Masked: true},
				{Frame: 2, Opcode: "close", Fragments: 1},
			},
		},
		{
			name:    "reserved opcode",
			packets: []string{packetJSON("1", "0", "80", wsFrame("1", "0x00", "11", "1", `""`), "")},
			want:    []Message{{Frame: 1, FromClient: true, Opcode: "reserved-0xb", Fragments: 1, Masked: true}},
		},
		{name: "not json", packets: []string{"{"}, wantErr: true},
		{name: "bad opcode", packets: []string{packetJSON("1", "0", "80", wsFrame("1", "0x00", "x", "1", `""`), "")}, wantErr: true},
		{name: "bad ping hex", packets: []string{packetJSON("1", "0", "80", wsFrame("1", "0x00", "9", "1", `{"websocket.payload.ping":"zz"}`), "")}, wantErr: true},
		{name: "no frame number", packets: []string{`{"_source":{"layers":{"tcp":{"tcp.stream":"0","tcp.dstport":"1"}}}}`}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTshark([]byte("["+strings.Join(tt.packets, ",")+"]"), 80)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages %+v, want %d %+v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("message %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzParseTshark: whatever tshark (or a broken pipe) prints, parsing
// returns messages or an error, never panics.
func FuzzParseTshark(f *testing.F) {
	f.Add([]byte(`[` + packetJSON("1", "0", "80", wsFrame("0", "0x04", "1", "1", `""`), "") + `]`))
	f.Add([]byte(`[` + packetJSON("1", "0", "9", "["+wsFrame("1", "0x00", "2", "0", `""`)+"]", `{"data.data":"00"}`) + `]`))
	f.Add([]byte(`[{"_source":{"layers":{}}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := parseTshark(b, 80)
		if err != nil && msgs != nil {
			t.Fatalf("messages with an error: %v", err)
		}
	})
}
