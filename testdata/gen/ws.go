package main

import (
	"bytes"
	"compress/flate"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// opNames are the opcodes' names in the expected counts, as chatsniff's
// NDJSON writes them.
var opNames = map[byte]string{
	opText: "text", opBinary: "binary", opClose: "close", opPing: "ping", opPong: "pong",
}

// websocketGUID is the constant of RFC 6455 section 1.3 that the server
// appends to the client's key before hashing it.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey is the Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// newKey is a random Sec-WebSocket-Key: 16 random bytes in base64.
func newKey(rng *rand.Rand) string {
	var k [16]byte
	binary.LittleEndian.PutUint64(k[:8], rng.Uint64())
	binary.LittleEndian.PutUint64(k[8:], rng.Uint64())
	return base64.StdEncoding.EncodeToString(k[:])
}

// userAgents are the browsers that connect: the 2014 Firefox of the
// Workerman manual's walkthrough and today's.
var userAgents = []string{
	"Mozilla/5.0 (X11; Ubuntu; Linux i686; rv:31.0) Gecko/20100101 Firefox/31.0",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
}

// upgradeRequest is a browser's opening handshake to host (e.g.
// "127.0.0.1:7272"), offering permessage-deflate as browsers always do.
func upgradeRequest(host, origin, key, ua string) []byte {
	return fmt.Appendf(nil, "GET / HTTP/1.1\r\n"+
		"Host: %s\r\n"+
		"Connection: Upgrade\r\n"+
		"Pragma: no-cache\r\n"+
		"Cache-Control: no-cache\r\n"+
		"User-Agent: %s\r\n"+
		"Upgrade: websocket\r\n"+
		"Origin: %s\r\n"+
		"Sec-WebSocket-Version: 13\r\n"+
		"Accept-Encoding: gzip, deflate, br, zstd\r\n"+
		"Accept-Language: en-US,en;q=0.9,fr;q=0.8,zh-CN;q=0.7\r\n"+
		"Sec-WebSocket-Key: %s\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"+
		"\r\n", host, ua, origin, key)
}

// upgradeResponse is workerman's 101; with deflate it also accepts
// permessage-deflate with context takeover both ways (which workerman itself
// never does, but Node's ws and Go's servers do).
func upgradeResponse(key string, deflate bool) []byte {
	ext := ""
	if deflate {
		ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	}
	return fmt.Appendf(nil, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: %s\r\n"+
		"%s"+
		"Server: workerman/4.2.1\r\n"+
		"\r\n", acceptKey(key), ext)
}

// pageRequest and pageResponse are a browser loading the chat page from
// port 55151 before it opens the WebSocket: TCP traffic a sniffer must pass
// over.
func pageRequest(host, ua string, room int) []byte {
	return fmt.Appendf(nil, "GET /?room_id=%d HTTP/1.1\r\n"+
		"Host: %s\r\n"+
		"Connection: keep-alive\r\n"+
		"User-Agent: %s\r\n"+
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"+
		"Accept-Encoding: identity\r\n"+
		"Accept-Language: en-US,en;q=0.9\r\n"+
		"\r\n", room, host, ua)
}

func pageResponse(body string) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\n"+
		"Server: workerman\r\n"+
		"Content-Type: text/html;charset=utf-8\r\n"+
		"Connection: keep-alive\r\n"+
		"Content-Length: %d\r\n"+
		"\r\n%s", len(body), body)
}

// pageBody makes a chat page of about n bytes, the size of workerman-chat's.
func pageBody(n int) string {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>workerman-chat PHP聊天室 Websocket(HTLM5/Flash)+PHP多进程socket实时推送技术</title>\n")
	b.WriteString("<script type=\"text/javascript\">\nvar ws, name, client_list={};\nfunction connect() {\n  ws = new WebSocket(\"ws://\"+document.domain+\":7272\");\n  ws.onopen = onopen;\n  ws.onmessage = onmessage;\n}\n</script></head>\n<body onload=\"connect();\">\n")
	for b.Len() < n-20 {
		b.WriteString("<div class=\"speech_item\"><p class=\"triangle-isosceles top\"></p></div>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// maxFrameHeader is the longest frame header: 2 bytes, 8 of extended
// length, 4 of mask key.
const maxFrameHeader = 14

// appendFrame appends one frame to b. A client frame (mask true) carries
// key and its payload XORed with it, as RFC 6455 section 5.3 requires.
func appendFrame(b []byte, fin, rsv1 bool, op byte, mask bool, key uint32, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	var m byte
	if mask {
		m = 0x80
	}
	n := len(payload)
	switch {
	case n < 126:
		b = append(b, b0, m|byte(n))
	case n <= 0xffff:
		b = append(b, b0, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !mask {
		return append(b, payload...)
	}
	b = binary.BigEndian.AppendUint32(b, key)
	start := len(b)
	b = append(b, payload...)
	maskBytes(b[start:], key)
	return b
}

// maskBytes XORs p with the big-endian key, eight bytes at a time.
func maskBytes(p []byte, key uint32) {
	var k [8]byte
	binary.BigEndian.PutUint32(k[:4], key)
	binary.BigEndian.PutUint32(k[4:], key)
	k64 := binary.LittleEndian.Uint64(k[:])
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= k[i&3]
	}
}

// deflater compresses one direction of one connection for
// permessage-deflate with context takeover: the flate.Writer lives as long
// as the connection, so later messages refer back to earlier ones.
type deflater struct {
	fw  *flate.Writer
	out bytes.Buffer
}

// deflateTail is what a sync flush ends with; RFC 7692 section 7.2.1 has the
// sender remove it and the receiver put it back.
var deflateTail = []byte{0, 0, 0xff, 0xff}

// compress returns msg compressed, valid until the next call.
func (d *deflater) compress(msg []byte) ([]byte, error) {
	d.out.Reset()
	if _, err := d.fw.Write(msg); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	if err := d.fw.Flush(); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	b := d.out.Bytes()
	if !bytes.HasSuffix(b, deflateTail) {
		return nil, fmt.Errorf("deflate: sync flush did not end with 00 00 ff ff")
	}
	return b[:len(b)-len(deflateTail)], nil
}

// deflaterPool reuses compressors between connections: each costs about a
// megabyte, and making one per connection would dominate the run.
type deflaterPool struct{ free []*deflater }

func (p *deflaterPool) get() *deflater {
	if n := len(p.free); n > 0 {
		d := p.free[n-1]
		p.free = p.free[:n-1]
		d.fw.Reset(&d.out)
		return d
	}
	d := &deflater{}
	// BestSpeed rather than zlib's default level: with context takeover the
	// default's hash chains grow long on chat JSON that repeats itself, and
	// it compressed ten times slower. A valid level cannot fail.
	d.fw, _ = flate.NewWriter(&d.out, flate.BestSpeed)
	return d
}

func (p *deflaterPool) put(d *deflater) {
	if d != nil {
		p.free = append(p.free, d)
	}
}
