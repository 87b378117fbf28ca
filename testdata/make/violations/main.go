// Command violations makes the traffic of chatsniff's captures of RFC 6455
// violations (testdata/violations-*.pcap, see testdata/README.md).
//
// Both ends are raw and live in this one process: a tiny server that reads
// the HTTP upgrade and answers it (a correct 101 unless a scenario says
// otherwise) and a client, talking over a real TCP connection on loopback
// while violations.sh records the wire. Each scenario is one connection, one
// after the other; every write is one TCP segment (Go sets TCP_NODELAY, and
// each write is followed by a pause), so each frame is its own segment.
// Payloads and masking keys are fixed, so every run puts the same bytes on
// the wire; only ports and timestamps change.
//
// usage: go run ./testdata/make/violations [-addr 127.0.0.1:7272] [-pause 20ms] GROUP...
//
//	GROUP: client | server | handshake (the scenarios of one capture)
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Opcodes and the frame header bits of RFC 6455 section 5.2.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opReserved3    = 0x3
	opClose        = 0x8
	opPing         = 0x9

	finBit  = 0x80
	rsv1Bit = 0x40
	maskBit = 0x80
)

// websocketGUID is the constant of RFC 6455 section 1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// The chat messages: what the workerman-chat page sends, and what its
// server broadcasts (with a fixed time, so runs do not differ).
const (
	sayHi     = `{"type":"say","to_client_id":"all","to_client_name":"all","content":"hi"}`
	saidHi    = `{"type":"say","from_client_id":"7f00000108fc00000001","from_client_name":"alice","to_client_id":"all","content":"hi","time":"2026-01-01 00:00:00"}`
	sayAfter  = `{"type":"say","to_client_id":"all","to_client_name":"all","content":"still here"}`
	saidAfter = `{"type":"say","from_client_id":"7f00000108fc00000001","from_client_name":"alice","to_client_id":"all","content":"still here","time":"2026-01-01 00:00:01"}`
)

var (
	addr  = flag.String("addr", "127.0.0.1:7272", "the server's `address`; the client dials it")
	pause = flag.Duration("pause", 20*time.Millisecond, "pause after each write, so that writes stay separate TCP segments")
)

// limit is how long one group may take before the program gives up: it
// must stop by itself, since violations.sh waits for it.
const limit = 60 * time.Second

// end is one side of a connection.
type end struct {
	name   string // "client" or "server", for errors
	conn   *net.TCPConn
	br     *bufio.Reader
	client bool // a client masks its frames (unless told not to)
	keys   int  // masking keys used so far
	done   chan error
}

// write sends b as one segment and pauses.
func (e *end) write(b []byte) {
	if _, err := e.conn.Write(b); err != nil {
		log.Fatalf("%s write: %v", e.name, err)
	}
	time.Sleep(*pause)
}

// key returns the next fixed masking key: the one of RFC 6455 section 5.7
// with its last byte counting the frames.
func (e *end) key() []byte {
	k := []byte{0x37, 0xfa, 0x21, byte(0x3d + e.keys)}
	e.keys++
	return k
}

// frame encodes one frame: b0 is FIN, RSV and opcode; key nil means
// unmasked. The length takes its shortest form.
func frame(b0 byte, key []byte, payload []byte) []byte {
	out := []byte{b0}
	var m byte
	if key != nil {
		m = maskBit
	}
	n := len(payload)
	switch {
	case n <= 125:
		out = append(out, m|byte(n))
	case n <= 0xffff:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if key == nil {
		return append(out, payload...)
	}
	out = append(out, key...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

// send writes one frame, masked if e is the client.
func (e *end) send(b0 byte, payload []byte) {
	var key []byte
	if e.client {
		key = e.key()
	}
	e.write(frame(b0, key, payload))
}

// text sends a valid unfragmented text message.
func (e *end) text(s string) { e.send(finBit|opText, []byte(s)) }

// close sends a close frame with code and reason.
func (e *end) close(code uint16, reason string) {
	e.send(finBit|opClose, closePayload(code, reason))
}

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// head reads an HTTP request or response head: its first line and headers
// (keys in canonical lower case).
func (e *end) head() (string, map[string]string) {
	first, err := e.br.ReadString('\n')
	if err != nil {
		log.Fatalf("%s read head: %v", e.name, err)
	}
	h := map[string]string{}
	for {
		line, err := e.br.ReadString('\n')
		if err != nil {
			log.Fatalf("%s read header: %v", e.name, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			log.Fatalf("%s read header: no colon in %q", e.name, line)
		}
		h[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return strings.TrimRight(first, "\r\n"), h
}

// body reads the Content-Length body after a head.
func (e *end) body(h map[string]string) {
	n, _ := strconv.Atoi(h["content-length"])
	if _, err := io.CopyN(io.Discard, e.br, int64(n)); err != nil {
		log.Fatalf("%s read body: %v", e.name, err)
	}
}

// drain reads what the peer sends until it closes, so that nothing is left
// unread (a close with unread data would send RST instead of FIN).
func (e *end) drain() {
	go func() {
		_, err := io.Copy(io.Discard, e.br)
		e.done <- err
	}()
}

// accept computes Sec-WebSocket-Accept for a key (RFC 6455 section 4.2.2).
func accept(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// conn is one scenario's connection.
type conn struct {
	cli, srv *end
}

// requests counts the upgrade requests of the run, for their keys.
var requests int

// request writes an upgrade request for path from the client; version is
// Sec-WebSocket-Version. Each request has its own fixed key.
func (c *conn) request(path, version string) {
	requests++
	key := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("chatsniff key %02d", requests)))
	c.cli.write([]byte("GET " + path + " HTTP/1.1\r\n" +
		"Host: " + *addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: " + version + "\r\n" +
		"Origin: http://127.0.0.1:55151\r\n" +
		"\r\n"))
}

// readRequest reads the upgrade request on the server side and returns its
// key.
func (c *conn) readRequest() string {
	first, h := c.srv.head()
	if !strings.HasPrefix(first, "GET ") || !strings.EqualFold(h["upgrade"], "websocket") {
		log.Fatalf("server: not an upgrade request: %q", first)
	}
	return h["sec-websocket-key"]
}

// switching writes the server's 101 with the given accept value.
func (c *conn) switching(acceptValue string) {
	c.srv.write([]byte("HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptValue + "\r\n" +
		"\r\n"))
}

// readResponse reads the server's answer on the client side and returns
// its status code.
func (c *conn) readResponse() int {
	first, h := c.cli.head()
	f := strings.Fields(first)
	if len(f) < 2 {
		log.Fatalf("client: bad status line %q", first)
	}
	code, _ := strconv.Atoi(f[1])
	if code != 101 {
		c.cli.body(h)
	}
	return code
}

// upgrade is the ordinary handshake: request, correct 101.
func (c *conn) upgrade(path string) {
	c.request(path, "13")
	c.switching(accept(c.readRequest()))
	if code := c.readResponse(); code != 101 {
		log.Fatalf("client: upgrade answered %d", code)
	}
}

// frames starts reading both ends, once the handshake is over.
func (c *conn) frames() {
	c.cli.drain()
	c.srv.drain()
}

// bye is the ordinary close handshake: the client closes with 1000, the
// server echoes it.
func (c *conn) bye() {
	c.cli.close(1000, "")
	c.srv.close(1000, "")
}

// hangUp ends the TCP connection as RFC 6455 section 7.1.1 wants: the
// server first, then the client, each with FIN after reading everything.
func (c *conn) hangUp() {
	c.srv.conn.CloseWrite()
	if err := <-c.cli.done; err != nil {
		log.Fatalf("client read: %v", err)
	}
	c.cli.conn.CloseWrite()
	if err := <-c.srv.done; err != nil {
		log.Fatalf("server read: %v", err)
	}
	c.cli.conn.Close()
	c.srv.conn.Close()
}

// scenario is one connection's traffic.
type scenario struct {
	path string // the request's path: the scenario's name in the capture
	run  func(c *conn)
}

// The client group: violations by the client, in the order of their
// tcp.stream numbers.
var clientScenarios = []scenario{
	{"/unmasked-client", func(c *conn) {
		// Tunnelling tools write client frames unmasked.
		c.upgrade("/unmasked-client")
		c.frames()
		c.cli.write(frame(finBit|opBinary, nil, []byte{0x00, 0x01, 0x02, 0x03, 'C', 'H', 'A', 'T'}))
		c.cli.write(frame(finBit|opText, nil, []byte(sayHi)))
		c.cli.write(frame(finBit|opClose, nil, closePayload(1000, "")))
		c.srv.close(1000, "")
	}},
	{"/fragmented-ping", func(c *conn) {
		c.upgrade("/fragmented-ping")
		c.frames()
		c.cli.send(opPing, []byte("ping with FIN clear")) // control frames must not be fragmented
		c.cli.text(sayHi)
		c.srv.text(saidHi)
		c.bye()
	}},
	{"/rsv1-no-extension", func(c *conn) {
		c.upgrade("/rsv1-no-extension") // no permessage-deflate offered or agreed
		c.frames()
		c.cli.send(finBit|rsv1Bit|opText, []byte(`{"type":"say","to_client_id":"all","to_client_name":"all","content":"rsv1 but plain"}`))
		c.cli.text(sayHi)
		c.srv.text(saidHi)
		c.bye()
	}},
	{"/invalid-utf8", func(c *conn) {
		c.upgrade("/invalid-utf8")
		c.frames()
		c.cli.send(finBit|opText, []byte("bad utf-8: \xff\xfe end"))
		c.cli.text(sayHi)
		c.cli.text(sayAfter)
		c.bye()
	}},
	{"/orphan-continuation", func(c *conn) {
		c.upgrade("/orphan-continuation")
		c.frames()
		c.cli.send(finBit|opContinuation, []byte("continuation with no message"))
		c.cli.text(sayHi)
		c.bye()
	}},
	{"/text-inside-fragmented", func(c *conn) {
		c.upgrade("/text-inside-fragmented")
		c.frames()
		c.cli.send(opText, []byte("first fragment, never finished; "))
		c.cli.send(finBit|opText, []byte("a new text frame inside it"))
		c.cli.text(sayHi)
		c.bye()
	}},
	{"/close-1-byte", func(c *conn) {
		c.upgrade("/close-1-byte")
		c.frames()
		c.cli.text(sayHi)
		c.cli.send(finBit|opClose, []byte{0x03}) // a close body is empty or at least 2 bytes
		c.srv.close(1002, "")
	}},
	{"/close-1005", func(c *conn) {
		c.upgrade("/close-1005")
		c.frames()
		c.cli.text(sayHi)
		c.cli.close(1005, "") // 1005 must not be sent (RFC 6455 section 7.4.1)
		c.srv.close(1002, "")
	}},
	{"/framing-lost-client", func(c *conn) {
		c.upgrade("/framing-lost-client")
		c.frames()
		c.cli.text(sayHi)
		c.cli.write(lostFraming(c.cli.key()))
		time.Sleep(200 * time.Millisecond) // the valid frames come in a later segment
		c.cli.text(sayAfter)
		c.cli.text(sayHi)
		c.srv.text(saidHi)
		c.bye()
	}},
	{"/ping-200-bytes", func(c *conn) {
		c.upgrade("/ping-200-bytes")
		c.frames()
		c.cli.send(finBit|opPing, []byte(strings.Repeat("ping 200 bytes; ", 13)[:200])) // control payloads are at most 125 bytes
		c.cli.text(sayHi)
		c.bye()
	}},
}

// lostFraming is a text frame whose 64-bit length has its most significant
// bit set (RFC 6455 section 5.2 says it must be 0), 2^63 + 1 GiB, then 32
// bytes of payload: a decoder cannot know where the next frame starts, with
// the top bit or without it (the low 32 bits alone claim 1 GiB too). key nil
// means unmasked.
func lostFraming(key []byte) []byte {
	out := []byte{finBit | opText, 127}
	if key != nil {
		out[1] |= maskBit
	}
	out = binary.BigEndian.AppendUint64(out, 1<<63|1<<30)
	out = append(out, key...)
	payload := []byte("length with its top bit set ...!") // 32 bytes
	for i, c := range payload {
		if key != nil {
			c ^= key[i%4]
		}
		out = append(out, c)
	}
	return out
}

// The server group: violations by the server.
var serverScenarios = []scenario{
	{"/close-126-bytes", func(c *conn) {
		c.upgrade("/close-126-bytes")
		c.frames()
		c.cli.text(sayHi)
		c.srv.text(saidHi)
		// 1000 and a 124-byte reason: 126 bytes, in the 16-bit length
		// form; control payloads are at most 125 bytes.
		c.srv.close(1000, strings.Repeat("server closing, reason of 124 bytes; ", 4)[:124])
		c.cli.close(1000, "")
	}},
	{"/close-999", func(c *conn) {
		c.upgrade("/close-999")
		c.frames()
		c.cli.text(sayHi)
		c.srv.text(saidHi)
		c.srv.close(999, "reserved code") // 0-999 are not used (RFC 6455 section 7.4.2)
		c.cli.close(1002, "")
	}},
	{"/masked-server", func(c *conn) {
		c.upgrade("/masked-server")
		c.frames()
		c.cli.text(sayHi)
		c.srv.write(frame(finBit|opText, []byte{0x11, 0x22, 0x33, 0x44}, []byte(saidHi))) // a server must not mask
		c.srv.text(saidAfter)
		c.srv.text(saidHi)
		c.bye()
	}},
	{"/reserved-opcode", func(c *conn) {
		c.upgrade("/reserved-opcode")
		c.frames()
		c.cli.text(sayHi)
		c.srv.send(finBit|opReserved3, []byte("opcode 3"))
		c.srv.text(saidHi)
		c.srv.text(saidAfter)
		c.bye()
	}},
	{"/framing-lost-server", func(c *conn) {
		c.upgrade("/framing-lost-server")
		c.frames()
		c.cli.text(sayHi)
		c.srv.text(saidHi)
		c.srv.write(lostFraming(nil))
		time.Sleep(200 * time.Millisecond)
		c.srv.text(saidAfter)
		c.srv.text(saidHi)
		c.bye()
	}},
}

// The handshake group: upgrades that are refused or wrongly answered.
var handshakeScenarios = []scenario{
	{"/forbidden-then-101", func(c *conn) {
		// Refused, then a second upgrade on the same connection succeeds.
		c.request("/forbidden-then-101", "13")
		c.readRequest()
		body := "forbidden: origin not allowed\n"
		c.srv.write([]byte("HTTP/1.1 403 Forbidden\r\n" +
			"Content-Type: text/plain\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
			"\r\n" + body))
		if code := c.readResponse(); code != 403 {
			log.Fatalf("client: want 403, got %d", code)
		}
		c.upgrade("/forbidden-then-101/retry")
		c.frames()
		c.cli.text(sayHi)
		c.srv.text(saidHi)
		c.bye()
	}},
	{"/wrong-accept", func(c *conn) {
		c.request("/wrong-accept", "13")
		key := c.readRequest()
		c.switching(accept(key + "x")) // a well-formed value, for another key
		if code := c.readResponse(); code != 101 {
			log.Fatalf("client: want 101, got %d", code)
		}
		c.frames()
		c.cli.text(sayHi)
		c.srv.text(saidHi)
		c.bye()
	}},
	{"/upgrade-required", func(c *conn) {
		c.request("/upgrade-required", "8") // a version the server does not speak
		c.readRequest()
		body := "426: use Sec-WebSocket-Version 13\n"
		c.srv.write([]byte("HTTP/1.1 426 Upgrade Required\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"Content-Type: text/plain\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
			"Connection: close\r\n" +
			"\r\n" + body))
		if code := c.readResponse(); code != 426 {
			log.Fatalf("client: want 426, got %d", code)
		}
		c.frames()
	}},
}

var groups = map[string][]scenario{
	"client":    clientScenarios,
	"server":    serverScenarios,
	"handshake": handshakeScenarios,
}

// runOne connects a client to the listener and runs one scenario.
func runOne(ln *net.TCPListener, s scenario) {
	accepted := make(chan *net.TCPConn, 1)
	go func() {
		sc, err := ln.AcceptTCP()
		if err != nil {
			log.Fatalf("accept: %v", err)
		}
		accepted <- sc
	}()
	cc, err := net.Dial("tcp", *addr)
	if err != nil {
		log.Fatalf("dial: %v", err)
	}
	sc := <-accepted
	deadline := time.Now().Add(10 * time.Second)
	cc.SetDeadline(deadline)
	sc.SetDeadline(deadline)
	c := &conn{
		cli: &end{name: "client", conn: cc.(*net.TCPConn), br: bufio.NewReader(cc), client: true, done: make(chan error, 1)},
		srv: &end{name: "server", conn: sc, br: bufio.NewReader(sc), done: make(chan error, 1)},
	}
	time.Sleep(*pause) // the SYN, SYN/ACK and ACK before any data
	s.run(c)
	c.hangUp()
	log.Printf("%s done", s.path)
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("violations: ")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: violations [flags] GROUP...   (GROUP: client, server, handshake)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, g := range flag.Args() {
		if groups[g] == nil {
			log.Fatalf("unknown group %q", g)
		}
	}
	time.AfterFunc(limit, func() { log.Fatalf("did not finish in %v", limit) })

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ln := l.(*net.TCPListener)
	defer ln.Close()
	for _, g := range flag.Args() {
		for _, s := range groups[g] {
			runOne(ln, s)
			time.Sleep(5 * *pause)
		}
	}
	if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Fatal(err)
	}
}
