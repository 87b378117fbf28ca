package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/internal/pcaptest"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts run chatsniff as a command: testscript runs
// this test binary as "chatsniff", which calls the real main.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"chatsniff": main,
	})
}

// TestScripts runs the scripts in testdata/script: `chatsniff read` as a
// user runs it, exit status, stdout and stderr checked. Every script starts
// in a directory holding the real captures of the module's testdata/ and a
// few damaged files (see setupFiles).
func TestScripts(t *testing.T) {
	files := setupFiles(t)
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			for name, b := range files {
				if err := os.WriteFile(filepath.Join(env.WorkDir, name), b, 0o644); err != nil {
					return fmt.Errorf("setup %s: %w", name, err)
				}
			}
			// No colour from the environment: scripts set what they test.
			env.Setenv("NO_COLOR", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"errline": cmdErrline,
		},
	})
}

// setupFiles returns the files every script finds in its directory.
func setupFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, rc := range pcaptest.Captures {
		files[rc.Name] = pcaptest.Load(t, rc.Name)
	}
	// The wss:// captures and their key logs.
	for _, name := range []string{"chromium-tls13-any.pcap", "chromium-tls13-any.keys", "tls12-chacha-secrets-lo.pcapng"} {
		files[name] = pcaptest.Load(t, name)
	}
	// A key log with a malformed line before the good ones.
	files["bad-then-good.keys"] = append([]byte("# a comment, then a line with a short random\nCLIENT_RANDOM 0011 2233\n"), files["chromium-tls13-any.keys"]...)
	small := files["uid-plain-any.pcap"]

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(small); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	files["uid-plain-any.pcap.gz"] = gz.Bytes()

	cut, err := pcaptest.CutMidRecord(small)
	if err != nil {
		t.Fatal(err)
	}
	files["cut.pcap"] = cut

	// The same packets under a link type chatsniff does not read:
	// IEEE 802.11 (105), in the pcap header's link type field.
	wifi := bytes.Clone(small)
	if binary.LittleEndian.Uint32(wifi) != 0xa1b2c3d4 {
		t.Fatal("uid-plain-any.pcap is not a little-endian pcap")
	}
	binary.LittleEndian.PutUint32(wifi[20:], 105)
	files["wifi.pcap"] = wifi
	// Its header alone: no packet to find the link type at.
	files["wifi-empty.pcap"] = wifi[:24]
	files["mixed.pcapng"] = mixedPcapng(t, files["room-deflate-lo.pcap"])
	return files
}

// mixedPcapng returns a pcapng of the Ethernet packets of pcap, on its
// interface 0, with a packet between each on interface 1, of a link type
// chatsniff does not read (USER0).
func mixedPcapng(t *testing.T, pcap []byte) []byte {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&out, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	user0, err := w.AddInterface(pcapgo.NgInterface{LinkType: 147, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		ci.InterfaceIndex = user0
		junk := []byte("not a link layer chatsniff reads")
		ci.CaptureLength, ci.Length = len(junk), len(junk)
		if err := w.WritePacket(ci, junk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// summaryLine is the closing summary sniff.Command writes to stderr.
var summaryLine = regexp.MustCompile(`^\S.*: \d+ packets, \d+ TCP connections \(\d+ WebSocket\), messages: \d+ client → server, \d+ server → client, \d+ gaps, \d+ errors`)

// cmdErrline checks the stderr of the last command for a failure reported
// as a user should see it: exactly one line, "chatsniff: " and the error,
// holding each argument (the file's name, the problem), and no panic or
// stack trace. With -summary first, the error line must come after the run's
// summary line (the source failed after it was opened), and nothing else.
//
//	errline [-summary] text...
func cmdErrline(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! errline")
	}
	summary := len(args) > 0 && args[0] == "-summary"
	if summary {
		args = args[1:]
	}
	stderr := ts.ReadFile("stderr")
	if !strings.HasSuffix(stderr, "\n") {
		ts.Fatalf("stderr does not end a line: %q", stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	want := 1
	if summary {
		want = 2
	}
	if len(lines) != want {
		ts.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), want, stderr)
	}
	if summary && !summaryLine.MatchString(lines[0]) {
		ts.Fatalf("first line is not the summary: %q", lines[0])
	}
	line := lines[len(lines)-1]
	if !strings.HasPrefix(line, "chatsniff: ") {
		ts.Fatalf("error line %q does not start with \"chatsniff: \"", line)
	}
	for _, bad := range []string{"panic", "goroutine ", ".go:"} {
		if strings.Contains(line, bad) {
			ts.Fatalf("error line %q looks like a crash (%q)", line, bad)
		}
	}
	// Each layer adds what it knows once: "x.pcap: x.pcap: cut off" says
	// the name twice.
	parts := strings.Split(line, ": ")
	for i := 1; i < len(parts); i++ {
		if parts[i] == parts[i-1] {
			ts.Fatalf("error line %q repeats %q", line, parts[i])
		}
	}
	for _, a := range args {
		if !strings.Contains(line, a) {
			ts.Fatalf("error line %q does not hold %q", line, a)
		}
	}
}
