package main

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/chatsniff/chatsniff/capture"
)

// completeArgs runs `chatsniff __complete ARGS...`, what the shells' scripts
// run at each TAB, and returns the candidates (before cobra's directive
// line), descriptions cut off.
func completeArgs(t *testing.T, args ...string) []string {
	t.Helper()
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Name() != "read" {
			continue
		}
		for _, kind := range []string{"user", "room", "type"} {
			// An error once the flags register it themselves: then the
			// registration tested is theirs.
			_ = c.RegisterFlagCompletionFunc(kind, completeNames(kind))
		}
	}
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("__complete %q: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 0 || lines[len(lines)-1] != ":4" {
		t.Fatalf("__complete %q: %q, want candidates then :4 (no file names)", args, out.String())
	}
	var names []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names
}

func testCapture(name string) string { return filepath.Join("..", "..", "testdata", name) }

func TestCompleteNames(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"read", testCapture("uid-plain-any.pcap"), "--user", ""}, []string{"mynick", "猪猪"}},
		{[]string{"read", testCapture("uid-plain-any.pcap"), "--user", "my"}, []string{"mynick"}},
		{[]string{"read", testCapture("uid-plain-any.pcap"), "--type", ""}, []string{"login", "logout", "say", "user_list"}},
		// "room 1", whom a room's say goes to, is a room, not a user.
		{[]string{"read", testCapture("room-deflate-lo.pcap"), "--user", ""}, []string{"alice", "bob", "猪猪"}},
		{[]string{"read", testCapture("room-deflate-lo.pcap"), "--room", ""}, []string{"1"}},
		{[]string{"read", testCapture("socketio-ws-any.pcap"), "--room", ""}, []string{"room1"}},
		{[]string{"read", testCapture("socketio-ws-any.pcap"), "--type", "chat"}, []string{"chat message"}},
		// The flags before say how to read it: wss:// needs its keys.
		{[]string{"read", testCapture("chromium-tls13-any.pcap"), "--user", ""}, nil},
		{[]string{"read", "--keylog", testCapture("chromium-tls13-any.keys"), testCapture("chromium-tls13-any.pcap"), "--type", ""}, []string{"login", "logout", "say", "user_list"}},
		// A pcapng's own key log.
		{[]string{"read", testCapture("tls12-chacha-secrets-lo.pcapng"), "--user", ""}, []string{"tls-1"}},
		// Nothing to read: no capture yet, standard input, a missing file.
		{[]string{"read", "--user", ""}, nil},
		{[]string{"read", "-", "--user", ""}, nil},
		{[]string{"read", "nosuch.pcap", "--user", ""}, nil},
	} {
		if got := completeArgs(t, tc.args...); !slices.Equal(got, tc.want) {
			t.Errorf("chatsniff %s<TAB>: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

// A capture with more packets than completePackets is read only that far.
func TestCompleteFirstPackets(t *testing.T) {
	f, err := capture.OpenFile(testCapture("uid-plain-any.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := &firstPackets{Source: f, left: 3}
	n := 0
	for {
		_, _, _, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("firstPackets of 3 gave %d packets", n)
	}
}
