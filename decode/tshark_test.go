package decode

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTsharkAgrees compares the text messages decoded from each capture
// with tshark's (Wireshark's WebSocket dissector unmasks, reassembles and
// inflates too): per connection and direction, the same texts in the same
// order. It runs when tshark is installed, and not with -short. Known
// differences: tshark 4.0 does not inflate a compressed message split over
// fragments or segments (it shows the deflate bytes as text); it shows
// each invalid UTF-8 byte as U+FFFD where chatsniff keeps the bytes; and
// where a direction's framing is lost it stops, where chatsniff resumes
// at a later segment, so that its texts are tshark's and more.
func TestTsharkAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	for _, path := range testCaptures(t, "*.pcap*") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, err := exec.Command(tshark, "-r", path, "-Y", "websocket.payload.text", "-T", "json",
				"-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "websocket.payload.text").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			var packets []struct {
				Source struct {
					Layers map[string][]string `json:"layers"`
				} `json:"_source"`
			}
			if err := json.Unmarshal(out, &packets); err != nil {
				t.Fatalf("tshark output: %v", err)
			}
			// Key: the client's port and the direction.
			servers := tsharkServerPorts(t, tshark, path)
			want := map[string][]string{}
			for _, p := range packets {
				l := p.Source.Layers
				if len(l["tcp.srcport"]) == 0 || len(l["tcp.dstport"]) == 0 {
					continue
				}
				src, dst := l["tcp.srcport"][0], l["tcp.dstport"][0]
				key := src + " client"
				if servers[src] {
					key = dst + " server"
				}
				want[key] = append(want[key], l["websocket.payload.text"]...)
			}
			events, _ := decodeCapture(t, path, Config{})
			got := map[string][]string{}
			lost := map[string]bool{} // directions whose framing was lost
			for _, e := range events {
				key := fmt.Sprintf("%d server", e.Client.Port())
				if e.FromClient {
					key = fmt.Sprintf("%d client", e.Client.Port())
				}
				switch {
				case e.Kind == KindError && (strings.HasPrefix(e.Err, "framing lost") || strings.Contains(e.Err, "most significant bit")):
					lost[key] = true
				case e.Kind != KindMessage || e.Opcode != OpText || e.Polling:
				case e.Violations&ViolInvalidUTF8 != 0:
					got[key] = append(got[key], string([]rune(string(e.Payload)))) // as tshark shows it
				default:
					got[key] = append(got[key], string(e.Payload))
				}
			}
			if len(want) == 0 {
				t.Fatal("tshark found no text")
			}
			for key := range want {
				g, w := got[key], want[key]
				if lost[key] && len(g) > len(w) {
					t.Logf("%s: framing lost; tshark stops after %d texts, chatsniff resumes for %d more (known difference)", key, len(w), len(g)-len(w))
					g = g[:len(w)]
				}
				if len(g) != len(w) {
					t.Errorf("%s: %d texts, tshark has %d:\n got %q\nwant %q", key, len(g), len(w), g, w)
					continue
				}
				for i := range w {
					switch {
					case g[i] == w[i]:
					case (!utf8.ValidString(w[i]) || strings.ContainsRune(w[i], utf8.RuneError)) && json.Valid([]byte(g[i])):
						// Known difference: tshark 4.0 fails to inflate
						// compressed messages that are fragmented or span
						// several segments and shows deflate bytes as the
						// text; ours is the JSON the browser sent.
						t.Logf("%s, text %d: tshark did not inflate it (known difference)", key, i)
					default:
						t.Errorf("%s, text %d:\n got %q\nwant %q", key, i, g[i], w[i])
					}
				}
			}
			for key := range got {
				if _, ok := want[key]; !ok {
					t.Errorf("%s: %d texts tshark does not have", key, len(got[key]))
				}
			}
		})
	}
}

// tsharkServerPorts returns the ports the capture's connections were
// opened to, by tshark's reading of their SYNs.
func tsharkServerPorts(t *testing.T, tshark, path string) map[string]bool {
	t.Helper()
	out, err := exec.Command(tshark, "-r", path, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields", "-e", "tcp.dstport").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	ports := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		ports[p] = true
	}
	if len(ports) == 0 {
		t.Fatal("tshark found no SYN")
	}
	return ports
}

// TestTsharkPolling compares the Engine.IO long-polling bodies decoded
// from each capture with tshark's HTTP dissector's (which de-chunks and
// gunzips them too): per connection and direction, the same bodies in the
// same order, each with its request's method and target and its
// response's status. Known difference: tshark 4.0 shows each non-ASCII
// byte of a body as U+FFFD.
func TestTsharkPolling(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	found := false
	for _, path := range testCaptures(t, "*.pcap*") {
		out, err := exec.Command(tshark, "-r", path, "-Y",
			`http.request.uri contains "transport=polling" or http.response_for.uri contains "transport=polling"`,
			"-T", "json", "-e", "frame.number", "-e", "tcp.srcport", "-e", "tcp.dstport",
			"-e", "http.request.method", "-e", "http.request.uri", "-e", "http.response.code",
			"-e", "http.response_for.uri", "-e", "http.request_in", "-e", "http.file_data").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		var packets []struct {
			Source struct {
				Layers map[string][]string `json:"layers"`
			} `json:"_source"`
		}
		if err := json.Unmarshal(out, &packets); err != nil {
			t.Fatalf("tshark output: %v", err)
		}
		// One HTTP message a packet is what the captures hold; the
		// request's method is found by its frame number.
		methods := map[string]string{}
		bodies := 0
		for _, p := range packets {
			l := p.Source.Layers
			if len(l["http.request.method"]) == 1 {
				methods[l["frame.number"][0]] = l["http.request.method"][0]
			}
			bodies += len(l["http.file_data"])
		}
		if bodies == 0 {
			continue
		}
		found = true
		t.Run(filepath.Base(path), func(t *testing.T) {
			servers := tsharkServerPorts(t, tshark, path)
			want := map[string][]string{}
			for _, p := range packets {
				l := p.Source.Layers
				if len(l["http.file_data"]) == 0 {
					continue
				}
				if len(l["http.file_data"]) > 1 {
					t.Fatalf("frame %s: %d HTTP bodies in one packet, which this test does not pair with their requests", l["frame.number"][0], len(l["http.file_data"]))
				}
				src, dst := l["tcp.srcport"][0], l["tcp.dstport"][0]
				key := src + " client"
				if servers[src] {
					key = dst + " server"
				}
				var head string
				switch {
				case len(l["http.request.method"]) == 1:
					head = pollingHead(l["http.request.method"][0], l["http.request.uri"][0], "0")
				case len(l["http.response.code"]) == 1 && len(l["http.response_for.uri"]) == 1 && len(l["http.request_in"]) == 1:
					uri := l["http.response_for.uri"][0]
					if _, rest, ok := strings.Cut(uri, "://"); ok {
						if i := strings.IndexByte(rest, '/'); i >= 0 {
							uri = rest[i:]
						}
					}
					head = pollingHead(methods[l["http.request_in"][0]], uri, l["http.response.code"][0])
				default:
					t.Fatalf("frame %s: a body neither of a request nor of a response tshark pairs with one: %v", l["frame.number"][0], l)
				}
				want[key] = append(want[key], head+l["http.file_data"][0])
			}
			events, _ := decodeCapture(t, path, Config{})
			got := map[string][]string{}
			for _, e := range events {
				if e.Kind == KindError || e.Kind == KindGap {
					t.Errorf("unexpected %s: %s", e.Kind, e.Err)
				}
				if e.Kind != KindMessage || !e.Polling {
					continue
				}
				key := fmt.Sprintf("%d server", e.Client.Port())
				if e.FromClient {
					key = fmt.Sprintf("%d client", e.Client.Port())
				}
				got[key] = append(got[key], pollingHead(e.Method, e.Path, fmt.Sprint(e.Status))+string(e.Payload))
			}
			for key, w := range want {
				g := got[key]
				if len(g) != len(w) {
					t.Errorf("%s: %d bodies, tshark has %d:\n got %q\nwant %q", key, len(g), len(w), g, w)
					continue
				}
				for i := range w {
					if g[i] != w[i] && asTsharkShows(g[i]) != w[i] {
						t.Errorf("%s, body %d:\n got %q\nwant %q", key, i, g[i], w[i])
					}
				}
			}
			for key := range got {
				if _, ok := want[key]; !ok {
					t.Errorf("%s: %d bodies tshark does not have", key, len(got[key]))
				}
			}
		})
	}
	if !found {
		t.Skip("no long-polling in the captures")
	}
}

// pollingHead writes what a polling body belongs to, as the comparison's
// prefix of the body: "POST /socket.io/?... 0 | ".
func pollingHead(method, target, status string) string {
	return method + " " + target + " " + status + " | "
}

// asTsharkShows writes each non-ASCII byte of s as U+FFFD, as tshark 4.0
// shows an HTTP body's text.
func asTsharkShows(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
