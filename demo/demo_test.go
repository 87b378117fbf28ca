package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/render"
	"github.com/chatsniff/chatsniff/sniff"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the demo captures live: needs root (CI runs as root)")
	}
}

// ndjsonEvent is the part of an NDJSON line the tests look at.
type ndjsonEvent struct {
	Event  string          `json:"event"`
	From   string          `json:"from"`
	Client string          `json:"client"`
	Opcode string          `json:"opcode"`
	Chat   json.RawMessage `json:"chat"`
}

func parseNDJSON(t *testing.T, out string) []ndjsonEvent {
	t.Helper()
	var evs []ndjsonEvent
	for line := range strings.Lines(out) {
		var e ndjsonEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("NDJSON line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// TestDemo runs the demo for a short while, in both protocols, and checks
// that what it printed is the conversation: every user's upgrade, logins,
// says to everyone from each bot, private messages both ways, the users
// leaving, and a summary with no kernel drop.
func TestDemo(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		proto chat.Protocol
		tls   bool
	}{{chat.ProtocolRoom, false}, {chat.ProtocolUID, false}, {chat.ProtocolRoom, true}} {
		proto := tc.proto
		name := string(proto)
		if tc.tls {
			name += "/tls"
		}
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// Three whispers need more than 2*whisperEvery; the bots say
			// enough at 20 messages/s.
			err := Run(context.Background(), Options{
				Duration: 2*whisperEvery + 500*time.Millisecond, Bots: 3, Rate: 20, Protocol: proto, TLS: tc.tls,
				WSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
				Format: sniff.FormatNDJSON, Stdout: &stdout, Stderr: &stderr,
			})
			if err != nil {
				t.Fatalf("demo: %v\n%s", err, stderr.String())
			}
			evs := parseNDJSON(t, stdout.String())
			var opens, closes, toAll, privateSent, privateGot int
			speakers := map[string]bool{}
			for _, e := range evs {
				switch e.Event {
				case "open":
					opens++
				case "close":
					closes++
				case "message":
					if e.Opcode != "text" {
						continue
					}
					var m chat.Message
					if err := json.Unmarshal(e.Chat, &m); err != nil || m.Type != chat.TypeSay {
						continue
					}
					to := m.ToClientID
					if proto == chat.ProtocolUID {
						to = m.ToUID.String()
					}
					switch {
					case to == chat.ToAll && e.From == "client":
						toAll++
						speakers[e.Client] = true
					case to != chat.ToAll && e.From == "client":
						privateSent++
					case to != chat.ToAll:
						privateGot++
					}
				}
			}
			if opens != 4 || closes != 4 {
				t.Errorf("%d upgrades and %d closes, want 4 each (3 bots and the whisperer)", opens, closes)
			}
			if len(speakers) != 3 || toAll < 10 {
				t.Errorf("%d says to everyone from %d bots, want about 50 from 3", toAll, len(speakers))
			}
			// A private message reaches its target (and, in the room
			// protocol, comes back to the sender as an echo).
			if privateSent < 1 || privateGot < privateSent {
				t.Errorf("private messages: %d sent, %d delivered", privateSent, privateGot)
			}
			wants := []string{"demo: chat server ws://127.0.0.1:", "capturing live on lo", "0 packets dropped by the kernel", ", 0 gaps, 0 errors"}
			if tc.tls {
				// Every connection decrypted with the key log the bots
				// wrote as they went.
				wants = append(wants[1:], "demo: chat server wss://127.0.0.1:", "4 TLS (4 decrypted), keys: 4 read, 4 used")
				if n := strings.Count(stdout.String(), `"decrypted":true`); n != 4 {
					t.Errorf("%d open events decrypted, want 4", n)
				}
			}
			for _, want := range wants {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// TestDemoCountAndCancel: -c stops the demo after that many messages, and
// so does a cancelled context (Ctrl-C), each with the summary.
func TestDemoCountAndCancel(t *testing.T) {
	requireRoot(t)
	opts := Options{
		Duration: time.Minute, Rate: 50, WSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Format: sniff.FormatNDJSON, Color: render.ColorNever,
	}
	t.Run("count", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		o := opts
		o.MaxMessages, o.Stdout, o.Stderr = 5, &stdout, &stderr
		start := time.Now()
		if err := Run(context.Background(), o); err != nil {
			t.Fatalf("demo: %v\n%s", err, stderr.String())
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("-c 5 took %v", took)
		}
		if n := strings.Count(stdout.String(), `"event":"message"`); n != 5 {
			t.Errorf("-c 5 printed %d messages", n)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		var stderr bytes.Buffer
		o := opts
		o.Stdout, o.Stderr = &bytes.Buffer{}, &stderr
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := Run(ctx, o); err != nil {
			t.Fatalf("demo: %v\n%s", err, stderr.String())
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Ctrl-C took %v to stop the demo", took)
		}
		if !strings.Contains(stderr.String(), "packets dropped by the kernel") {
			t.Errorf("no summary after Ctrl-C:\n%s", stderr.String())
		}
	})
}

// TestDemoNoInterface: a missing interface is one line naming those that
// exist (it fails before any permission check matters).
func TestDemoNoInterface(t *testing.T) {
	err := Run(context.Background(), Options{Interface: "nosuch0", WSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	switch {
	case err == nil:
		t.Fatal("no error")
	case os.Geteuid() == 0 && !errors.Is(err, capture.ErrNoInterface):
		t.Errorf("got %v, want ErrNoInterface", err)
	case strings.Contains(err.Error(), "\n"):
		t.Errorf("error not one line: %q", err)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string // "" for no error
	}{
		{"defaults", Options{}, ""},
		{"uid", Options{Protocol: chat.ProtocolUID}, ""},
		{"too many bots", Options{Bots: maxBots + 1}, "bots"},
		{"negative bots", Options{Bots: -1}, "bots"},
		{"negative rate", Options{Rate: -1}, "rate"},
		{"rate too high", Options{Rate: maxRate + 1}, "rate"},
		{"negative count", Options{MaxMessages: -1}, "-c"},
		{"bad protocol", Options{Protocol: "irc"}, "protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.opts.withDefaults()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if o.Bots != DefaultBots && tc.opts.Bots == 0 || o.Interface != DefaultInterface || o.Duration != DefaultDuration {
					t.Errorf("defaults not filled: %+v", o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error about %s", err, tc.want)
			}
		})
	}
}

// TestWhispererLearns follows the user list through both protocols'
// server messages; the whisperer never counts itself.
func TestWhispererLearns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proto chat.Protocol
		msgs  []string
		want  map[string]string
	}{
		{"room join, others come and go", chat.ProtocolRoom, []string{
			`{"type":"login","client_id":"a1","client_name":"dave","time":"T","client_list":{"a1":"dave","b2":"alice"}}`,
			`{"type":"login","client_id":"c3","client_name":"bob","time":"T"}`,
			`{"type":"logout","from_client_id":"b2","from_client_name":"alice","time":"T"}`,
			`{"type":"say","from_client_id":"c3","from_client_name":"bob","to_client_id":"all","content":"hi","time":"T"}`,
		}, map[string]string{"c3": "bob"}},
		{"uid list then own login", chat.ProtocolUID, []string{
			`{"type":"user_list","user_list":[{"uid":1,"name":"alice"},{"uid":2,"name":"dave"}]}`,
			`{"type":"login","uid":2,"name":"dave","time":"T"}`,
			`{"type":"login","uid":3,"name":"bob","time":"T"}`,
			`{"type":"logout","uid":1,"time":"T"}`,
		}, map[string]string{"3": "bob"}},
		{"uid own login first", chat.ProtocolUID, []string{
			`{"type":"login","uid":2,"name":"dave","time":"T"}`,
			`{"type":"user_list","user_list":[{"uid":1,"name":"alice"},{"uid":2,"name":"dave"}]}`,
		}, map[string]string{"1": "alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &whisperer{proto: tc.proto, users: map[string]string{}}
			for _, raw := range tc.msgs {
				var m chat.Message
				if err := json.Unmarshal([]byte(raw), &m); err != nil {
					t.Fatal(err)
				}
				w.learn(&m)
			}
			if len(w.users) != len(tc.want) {
				t.Fatalf("users %v, want %v", w.users, tc.want)
			}
			for id, name := range tc.want {
				if w.users[id] != name {
					t.Errorf("users %v, want %v", w.users, tc.want)
				}
			}
		})
	}
}
