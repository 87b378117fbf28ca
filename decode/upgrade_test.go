package decode

import (
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/reassembly"
)

// The seed walkthrough's handshake (Firefox 31 to workerman on 7272).
const (
	seedRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1:7272\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Ubuntu; Linux i686; rv:31.0) Gecko/20100101 Firefox/31.0\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
		"Accept-Language: zh-cn,zh;q=0.8,en-us;q=0.5,en;q=0.3\r\nAccept-Encoding: gzip, deflate\r\n" +
		"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:55151\r\n" +
		"Sec-WebSocket-Key: zPDr6m4czzUdOFnsxIUEAw==\r\nCookie: Hm_lvt=1402048017\r\n" +
		"Connection: keep-alive, Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n"
	seedResponse = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Accept: nSsCeIBUsFnDJCRb/BNlFzBUDpM=\r\n\r\n"
)

// TestSeedHandshake decodes the manual's handshake and checks every field
// of the open event.
func TestSeedHandshake(t *testing.T) {
	h := newHarness(t, Config{})
	h.rec.keepFull = true
	h.client([]byte(seedRequest))
	h.server([]byte(seedResponse))
	if len(h.rec.events) != 1 {
		t.Fatalf("events: %q", h.rec.lines)
	}
	e := h.rec.events[0]
	if e.Kind != KindOpen || e.Path != "/" || e.Host != "127.0.0.1:7272" || e.Origin != "http://127.0.0.1:55151" ||
		!strings.Contains(e.UserAgent, "Firefox/31.0") || !e.AcceptOK || e.Err != "" || e.Extensions != "" ||
		e.Client != testClient || e.Server != testServer || e.ConnID != 1 || e.Midstream {
		t.Errorf("open event: %+v", e)
	}
}

// TestHandshakeVariants feeds handshakes in many shapes.
func TestHandshakeVariants(t *testing.T) {
	frames := string(cf(OpText, "c1"))
	tests := []struct {
		name   string
		client []string
		server []string
		want   []string
	}{
		{"response and frames in one segment",
			[]string{upgradeReq("/chat?room_id=1")},
			[]string{upgradeResp() + string(sf(OpText, "s1")) + string(sf(OpText, "s2"))},
			[]string{"open /chat?room_id=1", `server text "s1"`, `server text "s2"`}},
		{"workerman 5 reason text, no Server header",
			[]string{upgradeReq("/")},
			[]string{"HTTP/1.1 101 Switching Protocol\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + rfcAccept + "\r\n\r\n"},
			[]string{"open /"}},
		{"no reason text at all, bare LF",
			[]string{strings.ReplaceAll(upgradeReq("/"), "\r\n", "\n")},
			[]string{"HTTP/1.1 101\nupgrade: WebSocket\nsec-websocket-accept: " + rfcAccept + "\n\n"},
			[]string{"open /"}},
		{"accept mismatch",
			[]string{upgradeReq("/")},
			[]string{strings.Replace(upgradeResp(), rfcAccept, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1)},
			[]string{"open / accept=bad err=Sec-WebSocket-Accept mismatch", "error server: Sec-WebSocket-Accept mismatch"}},
		{"accept missing",
			[]string{upgradeReq("/")},
			[]string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"},
			[]string{"open / accept=bad err=Sec-WebSocket-Accept missing", "error server: Sec-WebSocket-Accept missing"}},
		{"extensions and subprotocol",
			[]string{upgradeReq("/", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "Sec-WebSocket-Protocol: chat, superchat")},
			[]string{upgradeResp("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=15", "Sec-WebSocket-Protocol: chat")},
			[]string{"open / ext=permessage-deflate; server_no_context_takeover; client_max_window_bits=15 proto=chat"}},
		{"plain HTTP page is silent",
			[]string{"GET / HTTP/1.1\r\nHost: 127.0.0.1:55151\r\n\r\n"},
			[]string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
			nil},
		{"upgrade refused with 400 is reported, not decoded",
			[]string{upgradeReq("/"), string(cf(OpText, "not a frame: HTTP again"))},
			[]string{"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nno\n"},
			[]string{`rejected / 400 "Bad Request"`}},
		{"upgrade refused, then accepted on the same connection",
			[]string{upgradeReq("/first"), upgradeReq("/second")},
			[]string{"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n", upgradeResp()},
			[]string{`rejected /first 426 "Upgrade Required"`, "open /second"}},
		{"keep-alive requests first",
			[]string{"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n",
				"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\na=b&c=d",
				"PUT /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n0\r\n\r\n",
				"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n",
				upgradeReq("/ws")},
			[]string{"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
				"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
				"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
				"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
				upgradeResp() + string(sf(OpText, "hi"))},
			[]string{"open /ws", `server text "hi"`}},
		{"stray CRLF after a body",
			[]string{"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok\r\n", upgradeReq("/ws")},
			[]string{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", upgradeResp()},
			[]string{"open /ws"}},
		{"pipelined requests in one segment",
			[]string{"GET /a HTTP/1.1\r\nHost: h\r\n\r\n" + upgradeReq("/ws")},
			[]string{"HTTP/1.1 304 Not Modified\r\n\r\n" + upgradeResp()},
			[]string{"open /ws"}},
		{"client frames before the 101 are kept for it",
			[]string{upgradeReq("/"), frames},
			[]string{upgradeResp()},
			[]string{"open /", `client text "c1"`}},
		{"101 to another protocol is not followed",
			[]string{"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"},
			[]string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n" + string(sf(OpText, "x"))},
			nil},
		{"upgrade request not captured",
			nil,
			[]string{upgradeResp() + string(sf(OpText, "s"))},
			[]string{"open  accept=bad err=upgrade request not captured", "error server: upgrade request not captured", `server text "s"`}},
		{"a GET without Sec-WebSocket-Key is not an upgrade",
			[]string{"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
			[]string{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"},
			nil},
		{"not HTTP at all is silent without midstream",
			[]string{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
			[]string{"\x16\x03\x03\x00\x7a"},
			nil},
		{"body until close ends the search",
			[]string{"GET / HTTP/1.0\r\n\r\n", upgradeReq("/")},
			[]string{"HTTP/1.0 200 OK\r\n\r\n<html>", upgradeResp()},
			nil},
		{"obs-fold header lines",
			[]string{"GET /f HTTP/1.1\r\nHost: h\r\nConnection: keep-alive,\r\n Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + rfcKey + "\r\n\r\n"},
			[]string{upgradeResp()},
			[]string{"open /f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			// Client and server alternate, as in a capture.
			for i := 0; i < max(len(tt.client), len(tt.server)); i++ {
				if i < len(tt.client) {
					h.client([]byte(tt.client[i]))
				}
				if i < len(tt.server) {
					h.server([]byte(tt.server[i]))
				}
			}
			equalLines(t, h.rec.lines, tt.want)
		})
	}
}

// TestSplitRequest splits the request and the response at every offset.
func TestSplitRequest(t *testing.T) {
	req, resp := []byte(seedRequest), []byte(seedResponse+string(sf(OpText, "hello")))
	for i := 1; i < len(req); i++ {
		h := newHarness(t, Config{})
		h.client(req[:i], req[i:])
		h.server(resp)
		equalLines(t, h.rec.lines, []string{"open /", `server text "hello"`})
	}
	for i := 1; i < len(resp); i++ {
		h := newHarness(t, Config{})
		h.client(req)
		h.server(resp[:i], resp[i:])
		equalLines(t, h.rec.lines, []string{"open /", `server text "hello"`})
	}
	// Byte by byte.
	h := newHarness(t, Config{})
	for i := range req {
		h.client(req[i : i+1])
	}
	for i := range resp {
		h.server(resp[i : i+1])
	}
	equalLines(t, h.rec.lines, []string{"open /", `server text "hello"`})
}

// TestRolesSwapped: reassembly took the wrong side for the client (no SYN
// seen); the side that sends the GET is the client.
func TestRolesSwapped(t *testing.T) {
	info := reassembly.ConnInfo{ID: 7, Client: testServer, Server: testClient, Time: testT0}
	h := newHarnessInfo(t, Config{}, info)
	h.rec.keepFull = true
	// The request comes from reassembly's "server" side.
	h.server([]byte(upgradeReq("/")))
	h.client([]byte(upgradeResp()))
	h.server(cf(OpText, "from the real client"))
	h.client(sf(OpText, "from the real server"))
	equalLines(t, h.rec.lines, []string{"open /", `client text "from the real client"`, `server text "from the real server"`})
	for _, e := range h.rec.events {
		if e.Client != testClient || e.Server != testServer {
			t.Errorf("%s: client %v server %v", describe(&e), e.Client, e.Server)
		}
	}
}

// TestHeadTooLong: a head over MaxHead stops decoding; it is an error when
// it is part of an upgrade, and silent otherwise.
func TestHeadTooLong(t *testing.T) {
	big := "X-Filler: " + strings.Repeat("a", MaxHead) + "\r\n"
	h := newHarness(t, Config{})
	h.client([]byte(upgradeReq("/", big)))
	h.server([]byte(upgradeResp()))
	equalLines(t, h.rec.lines, []string{"error client: HTTP request head over 16384 bytes"})

	h = newHarness(t, Config{})
	h.client([]byte(upgradeReq("/")))
	h.server([]byte(upgradeResp(big)))
	equalLines(t, h.rec.lines, []string{"error server: HTTP response head over 16384 bytes"})

	h = newHarness(t, Config{})
	h.client([]byte("GET / HTTP/1.1\r\n" + big + "\r\n"))
	equalLines(t, h.rec.lines, nil)
}

// TestTooManyRequests: keep-alive requests are skipped only up to a bound.
func TestTooManyRequests(t *testing.T) {
	h := newHarness(t, Config{})
	for range maxSkippedHTTP + 1 {
		h.client([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
		h.server([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	}
	h.open()
	equalLines(t, h.rec.lines, nil)
}

// TestParseExtensions reads permessage-deflate parameters.
func TestParseExtensions(t *testing.T) {
	tests := []struct {
		in   string
		want pmdParams
	}{
		{"", pmdParams{}},
		{"x-webkit-deflate-frame", pmdParams{}},
		{"permessage-deflate", pmdParams{enabled: true}},
		{"permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
			pmdParams{enabled: true, serverNoTakeover: true, clientMaxWindowBits: 15}},
		{`PerMessage-Deflate ; client_no_context_takeover ; server_max_window_bits="10"`,
			pmdParams{enabled: true, clientNoTakeover: true, serverMaxWindowBits: 10}},
		{"foo, permessage-deflate; client_no_context_takeover, permessage-deflate; server_no_context_takeover",
			pmdParams{enabled: true, clientNoTakeover: true}},
	}
	for _, tt := range tests {
		if got := parseExtensions(tt.in); got != tt.want {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestChunkSkipper passes over chunked bodies fed in every split, and
// refuses what is not one.
func TestChunkSkipper(t *testing.T) {
	body := "4\r\nWiki\r\n5;name=val\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nNEXT"
	for i := 0; i <= len(body); i++ {
		var c chunkSkipper
		var data []byte
		keep := func(p []byte) { data = append(data, p...) }
		used, done, ok := c.feed([]byte(body[:i]), keep)
		if !done && ok {
			u2, d2, ok2 := c.feed([]byte(body[i:]), keep)
			used, done, ok = used+u2, d2, ok2
		}
		if !ok || !done || body[used:] != "NEXT" || string(data) != "Wikipedia in\r\n\r\nchunks." {
			t.Fatalf("split %d: used %d done %v ok %v data %q", i, used, done, ok, data)
		}
	}
	for _, bad := range []string{"zz\r\n", "\r\n", "1\r\nab", "fffffffffffffffff\r\n"} {
		var c chunkSkipper
		if _, _, ok := c.feed([]byte(bad), nil); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestHTTPStart classifies the first bytes of a connection.
func TestHTTPStart(t *testing.T) {
	tests := []struct {
		in            string
		ok, undecided bool
	}{
		{"GET / HTTP/1.1", true, false},
		{"GE", false, true},
		{"HTTP/1.1 200", true, false},
		{"HTT", false, true},
		{"M-SEARCH * HTTP/1.1", true, false},
		{"\x81\x85", false, false},
		{"get / HTTP/1.1", false, false},
		{" GET", false, false},
	}
	for _, tt := range tests {
		if ok, und := httpStart([]byte(tt.in)); ok != tt.ok || und != tt.undecided {
			t.Errorf("%q: %v %v, want %v %v", tt.in, ok, und, tt.ok, tt.undecided)
		}
	}
}
