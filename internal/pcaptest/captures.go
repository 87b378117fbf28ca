package pcaptest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// Counts is how many messages of each kind one side sent; a control frame
// counts as a message, a fragmented message once.
type Counts struct {
	Text, Binary, Ping, Pong, Close int
}

// Total is the number of messages of all kinds.
func (c Counts) Total() int { return c.Text + c.Binary + c.Ping + c.Pong + c.Close }

// Add counts one message with the given opcode name (decode.Opcode.String's
// names); other opcodes are not counted.
func (c *Counts) Add(opcode string) {
	switch opcode {
	case "text":
		c.Text++
	case "binary":
		c.Binary++
	case "ping":
		c.Ping++
	case "pong":
		c.Pong++
	case "close":
		c.Close++
	}
}

// RealCapture describes one of the real captures in testdata/; the README
// there says how each was made.
type RealCapture struct {
	Name     string // file name in testdata/
	LinkType layers.LinkType
	PcapNG   bool
	IPv6     bool
	Port     int  // the WebSocket server's TCP port
	Conns    int  // WebSocket connections, all upgraded in the capture
	Deflate  bool // permessage-deflate negotiated on every connection
	// Client and Server count the messages each side sent.
	Client, Server Counts
	// Fragmented counts the messages sent in more than one frame.
	Fragmented int
	// Contains lists texts that some message holds in full, as sent.
	Contains []string
}

// Captures lists the real captures, with what a decoder must find in them.
var Captures = []RealCapture{
	{
		Name: "uid-plain-any.pcap", LinkType: layers.LinkTypeLinuxSLL2,
		Port: 7272, Conns: 2,
		Client:   Counts{Text: 4, Close: 2},
		Server:   Counts{Text: 9, Close: 2},
		Contains: []string{`{"type":"login","name":"mynick"}`, `{"type":"say","to_uid":"all","content":"hi, all !"}`, `"name":"\u732a\u732a"`},
	},
	{
		Name: "room-deflate-lo.pcap", LinkType: layers.LinkTypeEthernet,
		Port: 7272, Conns: 3, Deflate: true,
		Client:     Counts{Text: 11, Binary: 1, Ping: 2, Pong: 1, Close: 3},
		Server:     Counts{Text: 26, Ping: 1, Pong: 2, Close: 3},
		Fragmented: 4,
		Contains:   []string{"héllo wörld 👋", `h\u00e9llo w\u00f6rld \ud83d\udc4b`, "alice leaves, 再见", "bob ping 🏓"},
	},
	{
		Name: "room-nocontext-lo6.pcapng", LinkType: layers.LinkTypeEthernet, PcapNG: true, IPv6: true,
		Port: 7272, Conns: 2, Deflate: true,
		Client:   Counts{Text: 8, Close: 2},
		Server:   Counts{Text: 14, Close: 2},
		Contains: []string{"same words again", "héllo wörld, 猪猪 says 🐷🐷", "bye 再见"},
	},
	{
		Name: "room-plain-sll6.pcap", LinkType: layers.LinkTypeLinuxSLL, IPv6: true,
		Port: 7272, Conns: 2,
		Client:     Counts{Text: 7, Ping: 1, Close: 1},
		Server:     Counts{Text: 10, Pong: 1, Close: 1},
		Fragmented: 1,
		Contains:   []string{"not json at all", `"client_name":"dave &amp;lt;x&amp;gt;"`, "in three frames: un, deux, trois", "mid-message ping"},
	},
	// Socket.IO (testdata/make/socketio.sh): Engine.IO packets in text
	// frames, attachments in binary ones.
	{
		Name: "socketio-ws-any.pcap", LinkType: layers.LinkTypeLinuxSLL2,
		Port: 3000, Conns: 3,
		Client:   Counts{Text: 35, Binary: 1, Close: 3},
		Server:   Counts{Text: 41, Binary: 1, Close: 3},
		Contains: []string{`42["add user","alice"]`, `420["new message","hello bob"]`, `42/chat,["chat message","hello /chat"]`},
	},
	{
		Name: "socketio-polling-lo.pcap", LinkType: layers.LinkTypeEthernet,
		Port: 3000, Conns: 1,
		Client:   Counts{Text: 7, Close: 1},
		Server:   Counts{Text: 10, Binary: 1, Close: 1},
		Contains: []string{"2probe", "3probe"},
	},
	{
		Name: "socketio2-lo6.pcapng", LinkType: layers.LinkTypeEthernet, PcapNG: true, IPv6: true,
		Port: 3000, Conns: 1,
		Client:   Counts{Text: 12, Binary: 1, Close: 1},
		Server:   Counts{Text: 14, Binary: 2, Close: 1},
		Contains: []string{"2probe", `42["add user","gina"]`},
	},
	{
		Name: "chromium-socketio-lo.pcap", LinkType: layers.LinkTypeEthernet,
		Port: 3000, Conns: 2,
		Client:   Counts{Text: 12, Close: 2},
		Server:   Counts{Text: 15, Close: 2},
		Contains: []string{`42["chat message","hello from chromium"]`, `42["chat message","ça va? 你好 🙂"]`},
	},
}

// moduleMarker identifies the chatsniff module's go.mod.
var moduleMarker = []byte("module github.com/chatsniff/chatsniff\n")

// TestdataDir returns the module's testdata directory, found by walking up
// from the working directory (a test runs in its package's directory).
func TestdataDir(t testing.TB) string {
	t.Helper()
	dir, err := testdataDir()
	if err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return dir
}

func testdataDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(mod, moduleMarker) {
			return filepath.Join(dir, "testdata"), nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read go.mod: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no chatsniff go.mod above the working directory")
		}
		dir = parent
	}
}

// Path returns the path of a file in the module's testdata directory.
func Path(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(TestdataDir(t), name)
}

// Load reads a file of the module's testdata directory.
func Load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return b
}

// TempFile writes b to a file named name in the test's temporary directory
// and returns its path: how a transformed capture reaches a tool or a
// function that wants a file.
func TempFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return path
}
