package sniff

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/internal/pcaptest"
	"github.com/chatsniff/chatsniff/render"
)

// TestSocketIOCaptures reads the real Socket.IO captures
// (testdata/make/socketio.sh) as NDJSON and checks what the app stage
// made of them against what the scenarios sent (testdata/README.md):
// every message of a Socket.IO connection is read as Engine.IO with no
// error, sessions carry across polling and WebSocket, attachments are
// joined, acks name their emit, and the chat's users are named.
func TestSocketIOCaptures(t *testing.T) {
	tests := []struct {
		name string
		eio  int
		// transports seen; polling messages (bodies split into packets)
		transports []string
		// events that must be there: "type event user" (user may be "")
		want []string
		// acks that must name their emit
		ackOf []string
		// attachments of completed binary events
		binaries int
	}{
		{
			name: "socketio-ws-any.pcap", eio: 4, transports: []string{"websocket"},
			want: []string{
				"event add user ", "event new message alice", "event typing alice", "event chat message ",
				"connect  ", "disconnect  ",
			},
			ackOf:    []string{"new message", "ping?", "upload", "join"},
			binaries: 2,
		},
		{
			name: "socketio-polling-lo.pcap", eio: 4, transports: []string{"polling", "websocket"},
			want:     []string{"event add user ", "event new message erin"},
			ackOf:    []string{"ping?"},
			binaries: 3, // erin's upload, and its copies to dana and to her
		},
		{
			name: "socketio2-lo6.pcapng", eio: 3, transports: []string{"polling", "websocket"},
			want:     []string{"event add user ", "event new message gina"},
			ackOf:    []string{"new message", "ping?", "upload"},
			binaries: 6, // gina's and hank's uploads, each with its copies to both
		},
		{
			name: "chromium-socketio-lo.pcap", eio: 4, transports: []string{"polling", "websocket"},
			want: []string{"event chat message "},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := pcaptest.Path(t, tc.name)
			r := runNDJSON(t, path, nil)
			checkClean(t, r)
			seen := map[string]bool{}
			transports := map[string]bool{}
			acks := map[string]bool{}
			binaries := 0
			for _, e := range r.events {
				if e.Event != "message" {
					continue
				}
				if e.EngineIO == nil {
					// WebSocket control frames are WebSocket's; every
					// data message and polling packet is Engine.IO's.
					// So is the "ok" that answers a POST.
					ok := e.Polling && e.Method == "POST" && e.From == "server" && deref(e.Text) == "ok"
					if (e.Opcode == "text" || e.Opcode == "binary") && !ok {
						t.Errorf("%s message not read as Engine.IO: %+v", e.dir(), e)
					}
					continue
				}
				eio := e.EngineIO
				if eio.Type == "error" || eio.Error != "" {
					t.Errorf("%s: engine.io error %q on %q", e.dir(), eio.Error, deref(e.Text))
				}
				if eio.EIO != tc.eio {
					t.Errorf("%s: eio %d, want %d", e.dir(), eio.EIO, tc.eio)
				}
				if eio.SID == "" {
					t.Errorf("%s: no session id on %q", e.dir(), deref(e.Text))
				}
				if (eio.Transport == "polling") != e.Polling {
					t.Errorf("%s: transport %q on a polling=%t event", e.dir(), eio.Transport, e.Polling)
				}
				if eio.Heartbeat != (eio.Type == "ping" || eio.Type == "pong") && !strings.Contains(deref(e.Text), "probe") {
					t.Errorf("%s: heartbeat %t on %s", e.dir(), eio.Heartbeat, eio.Type)
				}
				transports[eio.Transport] = true
				if s := e.SocketIO; s != nil {
					seen[s.Type+" "+s.Event+" "+s.User] = true
					seen[s.Type+" "+s.Event+" "] = true
					if s.AckOf != "" {
						acks[s.AckOf] = true
					}
					if s.Attachments > 0 && s.Complete {
						binaries++
						if !bytes.Contains(joinRaw(s.Args), []byte(`"base64":"`)) {
							t.Errorf("%s: a completed binary event without its bytes: %s", e.dir(), joinRaw(s.Args))
						}
					}
				}
			}
			for _, tr := range tc.transports {
				if !transports[tr] {
					t.Errorf("no %s transport (saw %v)", tr, transports)
				}
			}
			for _, w := range tc.want {
				if !seen[w] {
					t.Errorf("no socket.io %q", w)
				}
			}
			for _, a := range tc.ackOf {
				if !acks[a] {
					t.Errorf("no ack of %q (saw %v)", a, acks)
				}
			}
			if binaries != tc.binaries {
				t.Errorf("%d completed binary events, want %d", binaries, tc.binaries)
			}
		})
	}
}

// TestNoHeartbeat: --no-heartbeat leaves out exactly the keep-alives
// (WebSocket ping/pong, workerman-chat's and Engine.IO's), and the other
// lines are those of the full run, on the synchronous (live) path and the
// file's stages alike.
func TestNoHeartbeat(t *testing.T) {
	for _, name := range []string{"socketio-ws-any.pcap", "room-deflate-lo.pcap", "room-plain-sll6.pcap"} {
		for _, format := range []Format{FormatNDJSON, FormatText} {
			path := pcaptest.Path(t, name)
			run := func(noHeartbeat bool) []string {
				var out, errOut bytes.Buffer
				c := &Command{
					Open:    func() (capture.Source, error) { return capture.OpenFile(path) },
					Name:    path,
					Format:  format,
					Color:   render.ColorNever,
					Compact: true,
					Stdout:  &out,
					Stderr:  &errOut,
					Options: Options{NoHeartbeat: noHeartbeat},
				}
				if err := c.Execute(context.Background()); err != nil {
					t.Fatal(err)
				}
				return strings.SplitAfter(out.String(), "\n")
			}
			all, hidden := run(false), run(true)
			var want []string
			beats := 0
			for _, l := range all {
				if isHeartbeatLine(l, format) {
					beats++
					continue
				}
				want = append(want, l)
			}
			if beats == 0 {
				t.Errorf("%s: no heartbeat in the capture", name)
			}
			if strings.Join(hidden, "") != strings.Join(want, "") {
				t.Errorf("%s %v: --no-heartbeat output is not the full one less its %d heartbeats:\n%s", name, format, beats, strings.Join(hidden, ""))
			}
		}
	}
}

// isHeartbeatLine recognises a keep-alive's line by what it says.
func isHeartbeatLine(l string, format Format) bool {
	if format == FormatNDJSON {
		return strings.Contains(l, `"opcode":"ping"`) || strings.Contains(l, `"opcode":"pong"`) ||
			strings.Contains(l, `"heartbeat":true`) ||
			strings.Contains(l, `"chat":{"type":"ping"}`) || strings.Contains(l, `"chat":{"type":"pong"}`)
	}
	return strings.HasSuffix(l, "  ping\n") || strings.HasSuffix(l, "  pong\n") ||
		strings.Contains(l, "  ping ") && !strings.Contains(l, "probe") || strings.Contains(l, "  pong ") && !strings.Contains(l, "probe")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func joinRaw(rs []json.RawMessage) []byte {
	var b []byte
	for _, r := range rs {
		b = append(append(b, r...), ',')
	}
	return b
}
