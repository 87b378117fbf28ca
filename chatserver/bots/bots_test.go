package bots

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/chatserver"
)

// startServer runs a chat server on 127.0.0.1 port 0 until the test ends.
func startServer(t *testing.T, opts chatserver.Options) (string, *chatserver.Server) {
	t.Helper()
	return serveFor(t, opts, 0)
}

// serveFor runs a chat server on 127.0.0.1 port 0 that shuts down after d
// (0: when the test ends), as a server going away under its clients.
func serveFor(t *testing.T, opts chatserver.Options, d time.Duration) (string, *chatserver.Server) {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := chatserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if d > 0 {
		time.AfterFunc(d, cancel)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	if opts.TLS != nil {
		return "wss://" + ln.Addr().String() + "/", s
	}
	return "ws://" + ln.Addr().String() + "/", s
}

// stepReports parses the JSON lines of a load run.
func stepReports(t *testing.T, out string) []StepReport {
	t.Helper()
	var reps []StepReport
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var r StepReport
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("report line %s: %v", line, err)
		}
		reps = append(reps, r)
	}
	return reps
}

func TestLoadClean(t *testing.T) {
	for _, tc := range []struct {
		proto   chat.Protocol
		rooms   int
		deflate bool
	}{
		{chat.ProtocolUID, 1, false},
		{chat.ProtocolRoom, 3, false},
		{chat.ProtocolRoom, 1, true},
	} {
		t.Run(string(tc.proto), func(t *testing.T) {
			url, srv := startServer(t, chatserver.Options{Protocol: tc.proto, PingInterval: -1})
			var out bytes.Buffer
			err := Run(context.Background(), Options{
				URL: url, Protocol: tc.proto, Clients: 12, Rooms: tc.rooms, Rate: 300,
				Duration: time.Second, Load: true, JSON: true, Deflate: tc.deflate,
			}, &out)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			reps := stepReports(t, out.String())
			if len(reps) != 1 {
				t.Fatalf("%d step reports, want 1:\n%s", len(reps), out.String())
			}
			r := reps[0]
			perRoom := uint64(12 / tc.rooms)
			if r.Sent < 250 || r.Expected != r.Sent*perRoom || r.Delivered != r.Expected || r.Lost != 0 || r.Duplicated != 0 || r.OutOfOrder != 0 || r.Errors != 0 {
				t.Fatalf("not clean: %+v", r)
			}
			// Clean also asks for the full send rate and p99 under 1 s:
			// timing, which a race-enabled test sharing two cores with the
			// other packages' tests cannot promise; chatserver/load.sh
			// measures it on a quiet machine.
			if !r.Clean {
				t.Logf("delivery exact but timing not clean under this machine's load: %+v", r)
			}
			if r.P99ms <= 0 || r.P50ms > r.P99ms || r.P99ms > r.Maxms {
				t.Errorf("latencies p50 %v p99 %v max %v", r.P50ms, r.P99ms, r.Maxms)
			}
			if tc.deflate && srv.Stats().Deflate != 12 {
				t.Errorf("%d connections negotiated deflate, want 12", srv.Stats().Deflate)
			}
		})
	}
}

func TestRamp(t *testing.T) {
	url, _ := startServer(t, chatserver.Options{Protocol: chat.ProtocolUID})
	var out bytes.Buffer
	err := Run(context.Background(), Options{
		URL: url, Clients: 5, Rate: 50, Duration: 300 * time.Millisecond, Drain: time.Second,
		Load: true, Ramp: true, RampSteps: 3, JSON: true,
	}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	reps := stepReports(t, out.String())
	if len(reps) != 3 {
		t.Fatalf("%d steps, want 3:\n%s", len(reps), out.String())
	}
	for i, r := range reps {
		if want := 50 * pow(1.5, i); r.Rate != want || !r.Clean {
			t.Errorf("step %d: rate %v clean %v, want rate %v, clean", i+1, r.Rate, r.Clean, want)
		}
	}
	if !strings.Contains(out.String(), "highest clean rate: 112 messages/s") {
		t.Errorf("no or wrong conclusion:\n%s", out.String())
	}
}

func pow(x float64, n int) float64 {
	p := 1.0
	for range n {
		p *= x
	}
	return p
}

// TestStalledClientDropped: one client stops reading; the server drops it
// once its queue is full, and the others still get everything.
//
// The queue holds 0.8 s of the room's messages: the stalled client fills
// it (and the ~100 messages the kernel buffers hold) about 1.1 s into the
// 2.5 s step, while a reading client that the race detector and the other
// packages' tests keep off the CPU for a moment does not. With a queue of
// 50 at 2,000 messages/s, one such client was dropped in CI.
func TestStalledClientDropped(t *testing.T) {
	url, srv := startServer(t, chatserver.Options{Protocol: chat.ProtocolRoom, PingInterval: -1, QueueMessages: 400, SendBuffer: 8192})
	var out bytes.Buffer
	err := Run(context.Background(), Options{
		URL: url, Protocol: chat.ProtocolRoom, Clients: 6, Stall: 1, Rate: 500, Size: 1000,
		Duration: 2500 * time.Millisecond, Load: true, JSON: true,
	}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	reps := stepReports(t, out.String())
	if len(reps) != 1 {
		t.Fatalf("%d steps, want 1:\n%s", len(reps), out.String())
	}
	// Exact delivery, not Clean: Clean also asks for timing (see TestLoadClean).
	if r := reps[0]; r.Sent == 0 || r.Expected != r.Sent*5 || r.Delivered != r.Expected || r.Duplicated != 0 || r.OutOfOrder != 0 || r.Errors != 0 {
		t.Fatalf("the 5 reading clients did not get everything:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "stalled clients: 1, dropped by the server: 1") {
		t.Errorf("stalled client not reported dropped:\n%s", out.String())
	}
	if d := srv.Stats().Dropped; d != 1 {
		t.Errorf("server dropped %d clients, want 1", d)
	}
}

func TestDemo(t *testing.T) {
	url, _ := startServer(t, chatserver.Options{Protocol: chat.ProtocolUID})
	var out bytes.Buffer
	err := Run(context.Background(), Options{URL: url, Clients: 3, Rate: 30, Duration: 1200 * time.Millisecond}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"3 clients", "demo mode", "alice0 joined", "-- sent", "alice0: ", "bob1: "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestDemoEndsWhenServerGoes(t *testing.T) {
	url, _ := serveFor(t, chatserver.Options{}, 500*time.Millisecond)
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Options{URL: url, Clients: 2, Rate: 10, Quiet: true}, io.Discard)
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("demo ended without an error when the server shut down")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo still running 15 s after the server shut down")
	}
}

// TestLoadNamesFirstError: a step that loses clients says what went wrong
// first, not only how many errors there were.
func TestLoadNamesFirstError(t *testing.T) {
	url, _ := serveFor(t, chatserver.Options{}, 300*time.Millisecond)
	var out bytes.Buffer
	err := Run(context.Background(), Options{
		URL: url, Clients: 2, Rate: 20, Duration: time.Second,
		Drain: 200 * time.Millisecond, Load: true, JSON: true,
	}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	reps := stepReports(t, out.String())
	if len(reps) != 1 || reps[0].Errors == 0 || !strings.HasPrefix(reps[0].FirstError, "client ") {
		t.Fatalf("want one step with errors and the first named:\n%s", out.String())
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{"ws://10.1.2.3:7272", "ws://192.0.2.1/", "ws://[2001:db8::1]:7272"} {
		err := Run(context.Background(), Options{URL: u, Clients: 1}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("%s: got %v, want a refusal", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:7272", "ws://", "::"} {
		if err := Run(context.Background(), Options{URL: u}, io.Discard); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

func TestOptionsChecked(t *testing.T) {
	for _, o := range []Options{
		{Clients: 2, Rooms: 2},                              // rooms without the room protocol
		{Clients: 2, Stall: 2, Protocol: chat.ProtocolRoom}, // nobody left to read
		{Ramp: true},           // ramp without load
		{Size: 10, Load: true}, // smaller than the marker
		{Protocol: "irc"},
	} {
		o.URL = "ws://127.0.0.1:1/"
		if err := Run(context.Background(), o, io.Discard); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
