package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/chatsniff/chatsniff/chat"
)

// testOptions are small captures' flags; each case changes some.
func testOptions(t testing.TB, args ...string) options {
	t.Helper()
	o, err := parseFlags(append([]string{"-o", filepath.Join(t.TempDir(), "t.pcap")}, args...), io.Discard)
	if err != nil {
		t.Fatalf("flags %q: %v", args, err)
	}
	return o
}

// generateFile writes a capture and reads back its expected counts from
// FILE.json, as the bench script and other tests do.
func generateFile(t testing.TB, o options) *Expected {
	t.Helper()
	if _, err := run(o, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(o.Expect)
	if err != nil {
		t.Fatal(err)
	}
	var exp Expected
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatalf("%s: %v", o.Expect, err)
	}
	return &exp
}

// The captures the tests check, between them exercising every feature.
// -huge is low so that small captures hold messages over 64 KiB.
var cases = []struct {
	name string
	args []string
}{
	{"room", []string{"-messages", "8000", "-conns", "100", "-alive", "30", "-rooms", "10", "-seed", "3", "-huge", "1000"}},
	{"uid-deflate-sll2", []string{"-messages", "4000", "-conns", "60", "-alive", "8", "-protocol", "uid",
		"-deflate", "-link", "sll2", "-mss", "536", "-huge", "40"}},
	{"room-deflate-sll-tiny-mss", []string{"-messages", "4000", "-conns", "40", "-alive", "16", "-rooms", "4",
		"-deflate", "-link", "sll", "-ipv6", "0.5", "-http", "0.5", "-mss", "100", "-huge", "0"}},
}

// captures holds the cases' captures, made once for all the tests.
var captures struct {
	sync.Mutex
	dir string
	exp map[string]*Expected
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chatsniff-gen-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	captures.dir, captures.exp = dir, map[string]*Expected{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// caseCapture returns case i's options and counts, generating it the first time.
func caseCapture(t *testing.T, i int) (options, *Expected) {
	t.Helper()
	captures.Lock()
	defer captures.Unlock()
	tc := cases[i]
	o, err := parseFlags(append([]string{"-o", filepath.Join(captures.dir, tc.name+".pcap")}, tc.args...), io.Discard)
	if err != nil {
		t.Fatalf("flags %q: %v", tc.args, err)
	}
	if exp := captures.exp[tc.name]; exp != nil {
		return o, exp
	}
	exp := generateFile(t, o)
	captures.exp[tc.name] = exp
	return o, exp
}

// TestCapture reads each capture back with pcapgo and gopacket, checks
// every checksum and sequence number, reassembles the streams, decodes the
// HTTP upgrades and WebSocket frames independently of the generator, and
// compares what it found with FILE.json.
func TestCapture(t *testing.T) {
	var total Expected
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, exp := caseCapture(t, i)
			got := readCapture(t, o.Out, o.Deflate)
			got.Generator = exp.Generator
			// The file keeps microseconds of the nanosecond times.
			for _, tt := range []struct{ got, exp *string }{{&got.FirstTime, &exp.FirstTime}, {&got.LastTime, &exp.LastTime}} {
				g, err1 := time.Parse(time.RFC3339Nano, *tt.got)
				e, err2 := time.Parse(time.RFC3339Nano, *tt.exp)
				if err1 != nil || err2 != nil || !g.Equal(e.Truncate(time.Microsecond)) {
					t.Errorf("capture time %s, FILE.json says %s", *tt.got, *tt.exp)
				}
				*tt.got = *tt.exp
			}
			ge, _ := json.MarshalIndent(exp, "", " ")
			gg, _ := json.MarshalIndent(got, "", " ")
			if !bytes.Equal(ge, gg) {
				t.Errorf("capture holds\n%s\nFILE.json says\n%s", gg, ge)
			}
			if got.MaxAlive > o.Alive {
				t.Errorf("%d connections open at once, -alive %d", got.MaxAlive, o.Alive)
			}
			if exp.Messages.Total < o.Messages {
				t.Errorf("%d messages, asked for %d", exp.Messages.Total, o.Messages)
			}
			total.Fragmented.Client += exp.Fragmented.Client
			total.Large.Client += exp.Large.Client
			total.Large.Server += exp.Large.Server
			total.Compressed.Client += exp.Compressed.Client
			total.Compressed.Server += exp.Compressed.Server
			total.Messages.Client.Binary += exp.Messages.Client.Binary
			total.Messages.Client.Ping += exp.Messages.Client.Ping
			total.Messages.Server.Close += exp.Messages.Server.Close
			total.TCPConnections += exp.TCPConnections - exp.WebSocketConnections
		})
	}
	// The cases are there to cover these; a change to the generator's
	// odds that loses one must change the cases too.
	for name, n := range map[string]int64{
		"fragmented client messages":     total.Fragmented.Client,
		"client messages over 64 KiB":    total.Large.Client,
		"server messages over 64 KiB":    total.Large.Server,
		"compressed client messages":     total.Compressed.Client,
		"compressed server messages":     total.Compressed.Server,
		"binary messages":                total.Messages.Client.Binary,
		"WebSocket pings":                total.Messages.Client.Ping,
		"close frames":                   total.Messages.Server.Close,
		"page loads (non-WebSocket TCP)": int64(total.TCPConnections),
	} {
		if n == 0 && !t.Failed() {
			t.Errorf("no %s in any case", name)
		}
	}
}

// tcpSide is one direction of a connection as read back.
type tcpSide struct {
	next uint32 // the next sequence number expected
	data []byte // its payload, in order
	fin  bool
}

type tcpConn struct {
	side [2]tcpSide // client, server
	port uint16     // the server's
	done bool       // both FINs and the last ACK seen
}

// readCapture reads a capture back and counts what is in it, in the terms
// of Expected. It fails the test on any checksum, sequence or protocol error.
func readCapture(t *testing.T, path string, deflate bool) *Expected {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	var (
		eth     layers.Ethernet
		sll     layers.LinuxSLL
		sll2    layers.LinuxSLL2
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		payload gopacket.Payload
	)
	first := map[layers.LinkType]gopacket.LayerType{
		layers.LinkTypeEthernet:  layers.LayerTypeEthernet,
		layers.LinkTypeLinuxSLL:  layers.LayerTypeLinuxSLL,
		layers.LinkTypeLinuxSLL2: layers.LayerTypeLinuxSLL2,
	}[r.LinkType()]
	parser := gopacket.NewDecodingLayerParser(first, &eth, &sll, &sll2, &ip4, &ip6, &tcp, &payload)
	decoded := make([]gopacket.LayerType, 0, 8)

	got := &Expected{}
	conns := map[string]*tcpConn{}
	var all []*tcpConn
	alive, n := 0, 0
	var last time.Time
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n+1, err)
		}
		n++
		if n == 1 {
			got.FirstTime = ci.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		if ci.Timestamp.Before(last) {
			t.Fatalf("packet %d: time goes back from %v to %v", n, last, ci.Timestamp)
		}
		last = ci.Timestamp
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			t.Fatalf("packet %d: %v (layers %v)", n, err, decoded)
		}
		var src, dst string
		var netLayer gopacket.NetworkLayer
		if containsLayer(decoded, layers.LayerTypeIPv4) {
			if err, res := ip4.VerifyChecksum(); err != nil || !res.Valid {
				t.Fatalf("packet %d: bad IPv4 checksum %v %+v", n, err, res)
			}
			src, dst, netLayer = ip4.SrcIP.String(), ip4.DstIP.String(), &ip4
		} else {
			src, dst, netLayer = ip6.SrcIP.String(), ip6.DstIP.String(), &ip6
		}
		if !containsLayer(decoded, layers.LayerTypeTCP) {
			t.Fatalf("packet %d: no TCP layer (%v)", n, decoded)
		}
		if err := tcp.SetNetworkLayerForChecksum(netLayer); err != nil {
			t.Fatal(err)
		}
		if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
			t.Fatalf("packet %d: bad TCP checksum %v %+v", n, err, res)
		}
		got.Packets++
		fwd := fmt.Sprintf("%s:%d>%s:%d", src, tcp.SrcPort, dst, tcp.DstPort)
		rev := fmt.Sprintf("%s:%d>%s:%d", dst, tcp.DstPort, src, tcp.SrcPort)
		if tcp.SYN && !tcp.ACK {
			if c := conns[fwd]; c != nil && !c.done {
				t.Fatalf("packet %d: SYN on %s, still open", n, fwd)
			}
			c := &tcpConn{port: uint16(tcp.DstPort)}
			c.side[client].next = tcp.Seq + 1
			conns[fwd] = c
			all = append(all, c)
			got.TCPConnections++
			if c.port == wsPort {
				alive++
				got.MaxAlive = max(got.MaxAlive, alive)
			}
			continue
		}
		c, side := conns[fwd], client
		if c == nil {
			c, side = conns[rev], server
		}
		if c == nil || c.done {
			t.Fatalf("packet %d: %s belongs to no open connection", n, fwd)
		}
		s, peer := &c.side[side], &c.side[1-side]
		if tcp.SYN {
			if side != server || s.next != 0 || s.data != nil {
				t.Fatalf("packet %d: unexpected SYN-ACK", n)
			}
			s.next = tcp.Seq + 1
		} else if tcp.Seq != s.next {
			t.Fatalf("packet %d: seq %d, want %d", n, tcp.Seq, s.next)
		}
		if !tcp.ACK || tcp.Ack != peer.next {
			t.Fatalf("packet %d: ack %d (flag %v), want %d: all the peer sent", n, tcp.Ack, tcp.ACK, peer.next)
		}
		if s.fin && (len(tcp.Payload) > 0 || tcp.FIN) {
			t.Fatalf("packet %d: data after FIN", n)
		}
		s.data = append(s.data, tcp.Payload...)
		if !tcp.SYN {
			s.next += uint32(len(tcp.Payload))
		}
		got.TCPPayloadBytes.add(side, len(tcp.Payload))
		if tcp.FIN {
			s.fin = true
			s.next++
		} else if c.side[client].fin && c.side[server].fin {
			c.done = true // the last ACK
			if c.port == wsPort {
				alive--
			}
		}
	}
	got.LastTime = last.UTC().Format(time.RFC3339Nano)
	got.FileBytes = st.Size()
	if alive != 0 {
		t.Errorf("%d connections not closed at the end", alive)
	}

	for i, c := range all {
		if !c.done {
			t.Errorf("connection %d not closed", i+1)
		}
		checkConn(t, i+1, c, deflate, got)
	}
	return got
}

func containsLayer(ls []gopacket.LayerType, l gopacket.LayerType) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

// checkConn decodes one connection's streams: a page load's HTTP exchange,
// or a WebSocket upgrade and the frames after it.
func checkConn(t *testing.T, id int, c *tcpConn, deflate bool, got *Expected) {
	t.Helper()
	cr := bufio.NewReader(bytes.NewReader(c.side[client].data))
	sr := bufio.NewReader(bytes.NewReader(c.side[server].data))
	req, err := http.ReadRequest(cr)
	if err != nil {
		t.Fatalf("connection %d: request: %v", id, err)
	}
	resp, err := http.ReadResponse(sr, req)
	if err != nil {
		t.Fatalf("connection %d: response: %v", id, err)
	}
	if c.port == httpPort {
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || !bytes.Contains(body, []byte("ws://")) {
			t.Fatalf("connection %d: page load: %d, %d bytes, %v", id, resp.StatusCode, len(body), err)
		}
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols ||
		resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(req.Header.Get("Sec-WebSocket-Key")) ||
		!strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("connection %d: bad upgrade: %s, key %q, accept %q", id, resp.Status,
			req.Header.Get("Sec-WebSocket-Key"), resp.Header.Get("Sec-WebSocket-Accept"))
	}
	negotiated := strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
	if negotiated != deflate {
		t.Fatalf("connection %d: permessage-deflate negotiated %v, -deflate %v", id, negotiated, deflate)
	}
	got.WebSocketConnections++
	for side, r := range []*bufio.Reader{cr, sr} {
		rest, _ := io.ReadAll(r)
		if err := parseFrames(rest, side, negotiated, got); err != nil {
			t.Fatalf("connection %d, %s frames: %v", id, []string{"client", "server"}[side], err)
		}
	}
}

// parseFrames decodes one direction's frames (RFC 6455 section 5.2) and
// counts them into got. It is written apart from the generator's encoder so
// that a mistake in one does not hide in the other.
func parseFrames(b []byte, side int, deflate bool, got *Expected) error {
	var (
		msg        []byte
		msgOp      byte
		frames     int
		compressed bool
		inflate    inflater
	)
	for off := 0; len(b) > 0; {
		if len(b) < 2 {
			return fmt.Errorf("offset %d: cut frame header", off)
		}
		fin, rsv1, op := b[0]&0x80 != 0, b[0]&0x40 != 0, b[0]&0x0f
		masked, n, h := b[1]&0x80 != 0, uint64(b[1]&0x7f), 2
		if b[0]&0x30 != 0 {
			return fmt.Errorf("offset %d: RSV2/RSV3 set", off)
		}
		switch n {
		case 126:
			if len(b) < 4 {
				return fmt.Errorf("offset %d: cut length", off)
			}
			n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
			if n < 126 {
				return fmt.Errorf("offset %d: length %d not minimally encoded", off, n)
			}
		case 127:
			if len(b) < 10 {
				return fmt.Errorf("offset %d: cut length", off)
			}
			n, h = binary.BigEndian.Uint64(b[2:]), 10
			if n <= 0xffff || n > 1<<31 {
				return fmt.Errorf("offset %d: 64-bit length %d", off, n)
			}
		}
		if masked != (side == client) {
			return fmt.Errorf("offset %d: masked %v", off, masked)
		}
		var key []byte
		if masked {
			if len(b) < h+4 {
				return fmt.Errorf("offset %d: cut mask key", off)
			}
			key, h = b[h:h+4], h+4
		}
		if uint64(len(b)-h) < n {
			return fmt.Errorf("offset %d: frame of %d bytes cut at %d", off, n, len(b)-h)
		}
		p := append([]byte(nil), b[h:h+int(n)]...)
		for i := range p {
			if masked {
				p[i] ^= key[i%4] // byte by byte, unlike the generator
			}
		}
		got.Frames.add(side, 1)
		got.FrameBytes.add(side, h+int(n))
		b, off = b[h+int(n):], off+h+int(n)

		switch {
		case op >= opClose:
			if !fin || n > 125 || rsv1 {
				return fmt.Errorf("offset %d: bad control frame (fin %v, %d bytes, rsv1 %v)", off, fin, n, rsv1)
			}
			if op == opClose && (n < 2 || binary.BigEndian.Uint16(p) < 1000) {
				return fmt.Errorf("offset %d: close frame %x", off, p)
			}
			got.message(side, op, len(p), 1, false)
			continue
		case op == opText || op == opBinary:
			if msg != nil {
				return fmt.Errorf("offset %d: new message inside a fragmented one", off)
			}
			if rsv1 && !deflate {
				return fmt.Errorf("offset %d: RSV1 without permessage-deflate", off)
			}
			msg, msgOp, frames, compressed = p, op, 1, rsv1
		case op == opContinuation:
			if msg == nil || rsv1 {
				return fmt.Errorf("offset %d: stray continuation (rsv1 %v)", off, rsv1)
			}
			msg, frames = append(msg, p...), frames+1
		default:
			return fmt.Errorf("offset %d: reserved opcode %#x", off, op)
		}
		if !fin {
			continue
		}
		if compressed {
			var err error
			if msg, err = inflate.inflate(msg); err != nil {
				return fmt.Errorf("offset %d: %w", off, err)
			}
		}
		got.message(side, msgOp, len(msg), frames, compressed)
		if msgOp == opText {
			if err := checkChat(msg, side, got); err != nil {
				return fmt.Errorf("offset %d: %w", off, err)
			}
		}
		msg = nil
	}
	if msg != nil {
		return errors.New("fragmented message never finished")
	}
	return nil
}

// checkChat checks a text message's JSON: valid UTF-8 and JSON, with a
// "type", and from the server in PHP's escaping (ASCII only, "/" escaped).
func checkChat(msg []byte, side int, got *Expected) error {
	if !utf8.Valid(msg) {
		return errors.New("text message is not UTF-8")
	}
	var m struct{ Type string }
	if err := json.Unmarshal(msg, &m); err != nil || m.Type == "" {
		return fmt.Errorf("text message %.80q: not chat JSON (%v)", msg, err)
	}
	if side == server {
		for i, c := range msg {
			if c >= utf8.RuneSelf || c == '/' && (i == 0 || msg[i-1] != '\\') {
				return fmt.Errorf("server message %.80q: not as PHP's json_encode writes it", msg)
			}
		}
	}
	got.chat(side, m.Type, 1)
	return nil
}

// inflater undoes permessage-deflate with context takeover: each message
// is inflated with the last 32 KiB of the ones before as its dictionary.
type inflater struct {
	window []byte
	fr     io.ReadCloser
}

func (f *inflater) inflate(p []byte) ([]byte, error) {
	// The sync-flush tail the sender removed, then an empty final stored
	// block so that the reader ends cleanly.
	src := io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))
	if f.fr == nil {
		f.fr = flate.NewReaderDict(src, f.window)
	} else if err := f.fr.(flate.Resetter).Reset(src, f.window); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(f.fr, 1<<24))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	f.window = append(f.window, out...)
	if len(f.window) > 32768 {
		f.window = append([]byte(nil), f.window[len(f.window)-32768:]...)
	}
	return out, nil
}

// TestTshark checks the capture with Wireshark's dissectors: no warnings
// or errors, and as many WebSocket frames and messages of each opcode and
// direction as FILE.json says.
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required in CI (scripts/test installs it)")
		}
		t.Skip("tshark not installed")
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, exp := caseCapture(t, i)
			out, err := exec.Command("tshark", "-n", "-r", o.Out, "-d", "tcp.port==7272,http", "-Y", "websocket",
				"-T", "fields", "-e", "tcp.srcport", "-e", "websocket.opcode").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			var frames int64
			var msgs messageCounts
			for line := range strings.Lines(string(out)) {
				port, ops, ok := strings.Cut(strings.TrimSpace(line), "\t")
				if !ok {
					t.Fatalf("tshark line %q", line)
				}
				oc := &msgs.Client
				if port == fmt.Sprint(wsPort) {
					oc = &msgs.Server
				}
				for op := range strings.SplitSeq(ops, ",") {
					frames++
					var code int
					fmt.Sscan(op, &code)
					if code == opContinuation {
						continue
					}
					msgs.Total++
					oc.Total++
					switch code {
					case opText:
						oc.Text++
					case opBinary:
						oc.Binary++
					case opPing:
						oc.Ping++
					case opPong:
						oc.Pong++
					case opClose:
						oc.Close++
					default:
						t.Errorf("tshark: opcode %q", op)
					}
				}
			}
			if frames != exp.Frames.Client+exp.Frames.Server {
				t.Errorf("tshark: %d frames, want %d", frames, exp.Frames.Client+exp.Frames.Server)
			}
			if msgs != exp.Messages {
				t.Errorf("tshark: messages %+v, want %+v", msgs, exp.Messages)
			}
			out, err = exec.Command("tshark", "-n", "-r", o.Out, "-d", "tcp.port==7272,http",
				"-o", "tcp.check_checksum:TRUE", "-Y", "_ws.expert.severity >= 0x600000",
				"-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			known := 0
			for line := range strings.Lines(string(out)) {
				// A known difference: tshark (4.0) inflates most fragmented
				// compressed messages wrongly ("Trailing stray characters"),
				// and may then fail the connection's later messages, having
				// lost the inflate context ("Decompression failed"). zlib
				// and this test's inflater decode the same bytes, whose
				// framing follows RFC 7692 (RSV1 on the first frame only,
				// the whole message compressed before it is split).
				if o.Deflate && (strings.Contains(line, "Trailing stray characters") || strings.Contains(line, "Decompression failed")) {
					known++
					continue
				}
				t.Errorf("tshark warns: %s", strings.TrimSpace(line))
			}
			if known > 0 {
				t.Logf("%d packets with tshark's known permessage-deflate fragment warnings", known)
			}
		})
	}
}

// TestDeterministic checks that the same flags give the same bytes and
// another seed other bytes.
func TestDeterministic(t *testing.T) {
	sum := func(seed string) [32]byte {
		o := testOptions(t, "-size", "300KB", "-conns", "20", "-alive", "5", "-seed", seed)
		generateFile(t, o)
		b, err := os.ReadFile(o.Out)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	a, b, c := sum("5"), sum("5"), sum("6")
	if a != b {
		t.Error("two runs with -seed 5 differ")
	}
	if a == c {
		t.Error("-seed 5 and -seed 6 give the same file")
	}
}

// TestSize checks that -size stops the file once it is reached, give or
// take the teardown of the connections still open.
func TestSize(t *testing.T) {
	for _, size := range []int64{100_000, 2_000_000} {
		o := testOptions(t, "-size", fmt.Sprint(size), "-alive", "10")
		exp := generateFile(t, o)
		fi, err := os.Stat(o.Out)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != exp.FileBytes || fi.Size() < size || fi.Size() > size+size/2+1_000_000 {
			t.Errorf("-size %d: file of %d bytes, FILE.json says %d", size, fi.Size(), exp.FileBytes)
		}
	}
}

// TestLinkTypes checks each -link value's header.
func TestLinkTypes(t *testing.T) {
	for name, lt := range linkTypes {
		o := testOptions(t, "-size", "50KB", "-link", name, "-conns", "3")
		generateFile(t, o)
		f, err := os.Open(o.Out)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		data, _, err := r.ReadPacketData()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.LinkType() != lt {
			t.Errorf("-link %s: link type %v", name, r.LinkType())
		}
		p := gopacket.NewPacket(data, lt, gopacket.Default)
		if p.ErrorLayer() != nil || p.Layer(layers.LayerTypeTCP) == nil {
			t.Errorf("-link %s: first packet does not decode: %v", name, p)
		}
	}
}

// TestShort checks the say lengths -short asks for: its percentage of
// short lines, the rest paragraphs and pastes four to one.
func TestShort(t *testing.T) {
	for _, short := range []int{0, 70, 100} {
		o := testOptions(t, "-short", fmt.Sprint(short), "-huge", "0")
		g := &gen{o: o, rng: rand.New(rand.NewPCG(1, 2))}
		const n = 100_000
		var lines, paras, pastes int
		for range n {
			switch l := g.contentLength(); {
			case l < 3 || l >= 8000:
				t.Fatalf("-short %d: a say of %d bytes", short, l)
			case l < 80:
				lines++
			case l < 600:
				paras++
			default:
				pastes++
			}
		}
		long := float64(100-short) / 100 * n
		for _, c := range []struct {
			what      string
			got, want float64
		}{
			{"short lines", float64(lines), n - long},
			{"paragraphs", float64(paras), long * 4 / 5},
			{"pastes", float64(pastes), long / 5},
		} {
			if math.Abs(c.got-c.want) > 0.01*n {
				t.Errorf("-short %d: %.0f %s in %d says, want about %.0f", short, c.got, c.what, n, c.want)
			}
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"200MB", 200e6}, {"1GB", 1e9}, {"1gb", 1e9}, {"512MiB", 512 << 20}, {"1.5GB", 1.5e9},
		{"64KiB", 64 << 10}, {"123", 123}, {"10 MB", 10e6}, {"2T", 2e12}, {"7B", 7},
		{"", -1}, {"MB", -1}, {"-1MB", -1}, {"0", -1}, {"1XB", -1}, {"NaNMB", -1}, {"1e300GB", -1},
	} {
		got, err := parseSize(tc.in)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"200MB", "1GiB", "1.5GB", "0", "-3K", "1e300GB", "7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && (n <= 0 || n > 1<<50) {
			t.Errorf("parseSize(%q) = %d", s, n)
		}
	})
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-o", "x", "-mss", "10"},
		{"-o", "x", "-mss", "70000"},
		{"-o", "x", "-protocol", "irc"},
		{"-o", "x", "-link", "ppp"},
		{"-o", "x", "-conns", "0"},
		{"-o", "x", "-alive", "0"},
		{"-o", "x", "-messages", "-5"},
		{"-o", "x", "-size", "lots"},
		{"-o", "x", "-ipv6", "2"},
		{"-o", "x", "-http", "-1"},
		{"-o", "x", "-huge", "-1"},
		{"-o", "x", "-short", "-1"},
		{"-o", "x", "-short", "101"},
		{"-o", "x", "-start", "yesterday"},
		{"-o", "-"},
		{"-o", "x", "extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("flags %q: no error", args)
		}
	}
}

// TestAcceptKey checks Sec-WebSocket-Accept against RFC 6455's example
// and the Workerman manual's walkthrough.
func TestAcceptKey(t *testing.T) {
	for key, want := range map[string]string{
		"dGhlIHNhbXBsZSBub25jZQ==": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
		"zPDr6m4czzUdOFnsxIUEAw==": "nSsCeIBUsFnDJCRb/BNlFzBUDpM=",
	} {
		if got := acceptKey(key); got != want {
			t.Errorf("acceptKey(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestMask checks the word-at-a-time XOR against the byte-by-byte
// definition, for every length around the word size.
func TestMask(t *testing.T) {
	const key = 0x37fa213d
	k := []byte{0x37, 0xfa, 0x21, 0x3d}
	for n := range 40 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		got := append([]byte(nil), p...)
		maskBytes(got, key)
		for i := range p {
			if got[i] != p[i]^k[i%4] {
				t.Fatalf("length %d, byte %d: %#x, want %#x", n, i, got[i], p[i]^k[i%4])
			}
		}
	}
}

// TestChecksum checks sum16 against a 16-bit-word reference, odd lengths included.
func TestChecksum(t *testing.T) {
	for n := range 70 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0xff - i*13)
		}
		var ref uint32
		for i := 0; i < n; i += 2 {
			w := uint32(b[i]) << 8
			if i+1 < n {
				w |= uint32(b[i+1])
			}
			ref += w
		}
		for ref>>16 != 0 {
			ref = ref&0xffff + ref>>16
		}
		if got := fold(sum16(b, 0)); got != ^uint16(ref) {
			t.Errorf("length %d: checksum %#04x, want %#04x", n, got, ^uint16(ref))
		}
	}
}

// TestFrames checks the frame encoder's three length forms and its mask
// against hand-written bytes from RFC 6455 section 5.7.
func TestFrames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fin     bool
		op      byte
		mask    bool
		key     uint32
		payload []byte
		want    []byte
	}{
		{"unmasked text", true, opText, false, 0, []byte("Hello"), []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}},
		{"masked text", true, opText, true, 0x37fa213d, []byte("Hello"),
			[]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}},
		{"first fragment", false, opText, false, 0, []byte("Hel"), []byte{0x01, 0x03, 'H', 'e', 'l'}},
		{"16-bit length", true, opBinary, false, 0, make([]byte, 256), append([]byte{0x82, 0x7e, 0x01, 0x00}, make([]byte, 256)...)},
		{"64-bit length", true, opBinary, false, 0, make([]byte, 65536),
			append([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, make([]byte, 65536)...)},
	} {
		got := appendFrame(nil, tc.fin, false, tc.op, tc.mask, tc.key, tc.payload)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: % x, want % x", tc.name, got[:min(len(got), 16)], tc.want[:min(len(tc.want), 16)])
		}
	}
}

// TestServerJSON checks PHP's escaping and workerman-chat's content rewriting.
func TestServerJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"猪猪"}`:            `{"a":"\u732a\u732a"}`,
		`{"a":"x/y"}`:           `{"a":"x\/y"}`,
		`{"a":"😀"}`:             `{"a":"\ud83d\ude00"}`,
		`{"a":"<b>&amp;</b>"}`:  `{"a":"<b>&amp;<\/b>"}`,
		`{"type":"say","n":12}`: `{"type":"say","n":12}`,
	} {
		if got := string(chat.AppendPHPEscaped(nil, []byte(in))); got != want {
			t.Errorf("chat.AppendPHPEscaped(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"hi, all !":       "hi, all !",
		"a <b> & 'c'\n\"": "a &lt;b&gt; &amp; &#039;c&#039;<br />\n&quot;",
		"x\r\ny\n\rz\rw":  "x<br />\r\ny<br />\n\rz<br />\rw",
	} {
		if got := chat.RelayedContent(in); got != want {
			t.Errorf("chat.RelayedContent(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPorts checks that a client port is never handed out twice while its
// connection is open, even with -alive at its bound on ::1 alone, where
// ports wrap around many times.
func TestPorts(t *testing.T) {
	g := &gen{rng: rand.New(rand.NewPCG(1, 2)), inUse: map[uint32]struct{}{}, exp: &Expected{}}
	open := map[uint16]bool{}
	var conns []*conn
	for i := range 200_000 {
		if len(conns) == maxAliveConns {
			k := g.rng.IntN(len(conns))
			delete(open, conns[k].ep[client].port)
			g.release(conns[k])
			conns[k] = conns[len(conns)-1]
			conns = conns[:len(conns)-1]
		}
		c := g.newConn(wsPort, true, 0)
		p := c.ep[client].port
		if open[p] || p < firstEphemeral || p > lastEphemeral {
			t.Fatalf("connection %d: port %d in use or out of range", i, p)
		}
		open[p] = true
		conns = append(conns, c)
	}
}

// TestTLS: with -tls every WebSocket connection is TLS 1.3 whose secrets
// are in FILE.keys: tshark, given the key log, decrypts every frame the
// counts say were written, and without it finds none.
func TestTLS(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required in CI (scripts/test installs it)")
		}
		t.Skip("tshark not installed")
	}
	dir := t.TempDir()
	o, err := parseFlags([]string{"-o", filepath.Join(dir, "tls.pcap"), "-messages", "1500", "-tls", "-deflate", "-huge", "50"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	exp := generateFile(t, o)
	if o.Keys != o.Out+".keys" {
		t.Fatalf("key log at %q", o.Keys)
	}
	frames := func(keys ...string) int64 {
		args := []string{"-n", "-r", o.Out, "-d", "tcp.port==7272,tls", "-d", "tls.port==7272,http", "-Y", "websocket",
			"-T", "fields", "-e", "websocket.opcode"}
		if len(keys) > 0 {
			args = append(args, "-o", "tls.keylog_file:"+keys[0])
		}
		out, err := exec.Command("tshark", args...).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		var n int64
		for line := range strings.Lines(string(out)) {
			n += int64(strings.Count(line, ",") + 1)
		}
		return n
	}
	if got, want := frames(o.Keys), exp.Frames.Client+exp.Frames.Server; got != want {
		t.Errorf("tshark decrypts %d frames, want %d", got, want)
	}
	if got := frames(); got != 0 {
		t.Errorf("tshark finds %d frames without the keys", got)
	}
	keys, err := os.ReadFile(o.Keys)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(keys), "CLIENT_TRAFFIC_SECRET_0 "); n != exp.WebSocketConnections {
		t.Errorf("key log has %d connections' secrets, want %d", n, exp.WebSocketConnections)
	}
}
