package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/reassembly"
)

const (
	pollGET  = "GET /socket.io/?EIO=4&transport=polling&t=P1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nOrigin: http://127.0.0.1:3000\r\n\r\n"
	pollPath = "/socket.io/?EIO=4&transport=polling&t=P1"
)

func pollPOST(body string) string {
	return fmt.Sprintf("POST /socket.io/?EIO=4&transport=polling&t=P2&sid=S HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func okResponse(body string, extra ...string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\n" + strings.Join(extra, "") +
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
}

// response builds a response with a Content-Length body.
func response(status, contentType, body string) string {
	return fmt.Sprintf("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", status, contentType, len(body), body)
}

func chunked(body string, size int) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(size, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func deflated(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// noise is n bytes of hex text that does not compress to much less than n/2.
func noise(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = "0123456789abcdef"[r.IntN(16)]
	}
	return string(b)
}

func zlibbed(s string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// TestPolling: Engine.IO long-polling bodies are message events, however
// they are delimited and encoded; other HTTP is passed over as before.
func TestPolling(t *testing.T) {
	open := "open polling " + pollPath
	post := "/socket.io/?EIO=4&transport=polling&t=P2&sid=S"
	handshake := `0{"sid":"S","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	bigText := strings.Repeat("4", 3000)
	tests := []struct {
		name   string
		cfg    Config
		client []string
		server []string
		want   []string
	}{
		{
			name:   "content-length",
			client: []string{pollGET},
			server: []string{okResponse(handshake)},
			want:   []string{open, fmt.Sprintf("server text %q [polling GET %s 200]", handshake, pollPath)},
		},
		{
			name:   "keep-alive and pipelined",
			client: []string{pollGET + pollPOST("40\x1e42[\"a\"]"), pollGET},
			server: []string{okResponse("40{\"sid\":\"X\"}") + okResponse("ok", "Content-Type: text/html\r\n"), okResponse("6")},
			want: []string{
				open,
				fmt.Sprintf("client text %q [polling POST %s 0]", "40\x1e42[\"a\"]", post),
				fmt.Sprintf("server text %q [polling GET %s 200]", `40{"sid":"X"}`, pollPath),
				fmt.Sprintf("server text %q [polling POST %s 200]", "ok", post),
				fmt.Sprintf("server text %q [polling GET %s 200]", "6", pollPath),
			},
		},
		{
			name:   "chunked gzip",
			client: []string{pollGET},
			server: []string{"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(gzipped(bigText), 7)},
			want:   []string{open, fmt.Sprintf("server text %q deflate [polling GET %s 200]", bigText, pollPath)},
		},
		{
			name:   "deflate (zlib)",
			client: []string{pollGET},
			server: []string{okResponse(zlibbed("42[\"x\"]"), "Content-Encoding: deflate\r\n")},
			want:   []string{open, fmt.Sprintf("server text %q deflate [polling GET %s 200]", `42["x"]`, pollPath)},
		},
		{
			name:   "raw deflate",
			client: []string{pollGET},
			server: []string{okResponse(deflated("42[\"x\"]"), "Content-Encoding: deflate\r\n")},
			want:   []string{open, fmt.Sprintf("server text %q deflate [polling GET %s 200]", `42["x"]`, pollPath)},
		},
		{
			name:   "x-gzip",
			client: []string{pollGET},
			server: []string{okResponse(gzipped("6"), "Content-Encoding: X-Gzip\r\n")},
			want:   []string{open, fmt.Sprintf("server text %q deflate [polling GET %s 200]", "6", pollPath)},
		},
		{
			name:   "unsupported encoding",
			client: []string{pollGET},
			server: []string{okResponse("\x1b\x00\x00", "Content-Encoding: br\r\n")},
			want: []string{open, "error server: HTTP body: br: content coding not supported",
				fmt.Sprintf("server text %q [polling GET %s 200]", "\x1b\x00\x00", pollPath)},
		},
		{
			name:   "chunked request",
			client: []string{"POST /socket.io/?EIO=4&transport=polling&sid=S HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("42[\"chat message\",\"hi\"]", 5)},
			server: []string{okResponse("ok")},
			want: []string{
				"open polling /socket.io/?EIO=4&transport=polling&sid=S",
				fmt.Sprintf("client text %q [polling POST /socket.io/?EIO=4&transport=polling&sid=S 0]", `42["chat message","hi"]`),
				`server text "ok" [polling POST /socket.io/?EIO=4&transport=polling&sid=S 200]`,
			},
		},
		{
			name: "responses without a body",
			client: []string{"HEAD " + pollPath + " HTTP/1.1\r\n\r\n" + pollGET + pollGET +
				strings.Replace(pollPOST("2"), "\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n", 1)},
			server: []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + "HTTP/1.1 204 No Content\r\n\r\n" +
				"HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n" + "HTTP/1.1 100 Continue\r\n\r\n" + okResponse("ok")},
			want: []string{
				"open polling " + pollPath,
				fmt.Sprintf("client text %q [polling POST %s 0]", "2", post),
				fmt.Sprintf("server text %q [polling POST %s 200]", "ok", post),
			},
		},
		{
			name:   "response until the close",
			client: []string{pollGET},
			server: []string{"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n", "6"},
			want:   []string{open, fmt.Sprintf("server text %q [polling GET %s 200]", "6", pollPath)},
		},
		{
			name:   "body cut by the end",
			client: []string{pollGET},
			server: []string{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n6"},
			want:   []string{open, "error server: HTTP body incomplete at end of stream"},
		},
		{
			name:   "broken chunked coding",
			client: []string{pollGET},
			server: []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n6"},
			want:   []string{open, "error server: HTTP body: chunked coding broken; the long-polling exchange is not followed past it"},
		},
		{
			name:   "not HTTP after a body",
			client: []string{pollGET},
			server: []string{okResponse("6") + "\x00\x01garbage\r\n\r\n"},
			want: []string{open, fmt.Sprintf("server text %q [polling GET %s 200]", "6", pollPath),
				"error server: not HTTP where a head should start; the long-polling exchange is not followed past it"},
		},
		{
			name:   "octet-stream",
			client: []string{pollGET},
			server: []string{"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 5\r\n\r\n\x00\x01\xff\x04z"},
			want:   []string{open, fmt.Sprintf("server binary 0001ff047a [polling GET %s 200]", pollPath)},
		},
		{
			name:   "error answer",
			client: []string{pollGET},
			server: []string{response("400 Bad Request", "application/json", `{"code":1,"message":"Session ID unknown"}`)},
			want:   []string{open, fmt.Sprintf("server text %q [polling GET %s 400]", `{"code":1,"message":"Session ID unknown"}`, pollPath)},
		},
		{
			name:   "over the cap",
			cfg:    Config{MaxMessage: 100},
			client: []string{pollGET},
			server: []string{okResponse(bigText)},
			want:   []string{open, fmt.Sprintf("server text %q len=3000 truncated [polling GET %s 200]", bigText[:100], pollPath)},
		},
		{
			name:   "chunked over the cap",
			cfg:    Config{MaxMessage: 100},
			client: []string{pollGET},
			server: []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(bigText, 64)},
			want:   []string{open, fmt.Sprintf("server text %q len=3000 truncated [polling GET %s 200]", bigText[:100], pollPath)},
		},
		{
			// The compressed body itself is over the cap: what its first
			// 100 bytes inflate to is kept, the length is not known.
			name:   "gzip body over the cap",
			cfg:    Config{MaxMessage: 100},
			client: []string{pollGET},
			server: []string{okResponse(gzipped(noise(1000)), "Content-Encoding: gzip\r\n")},
			want:   []string{open, fmt.Sprintf("server text %q len=101 truncated deflate [polling GET %s 200]", noise(1000)[:100], pollPath)},
		},
		{
			name:   "gzip bomb",
			cfg:    Config{MaxMessage: 1000},
			client: []string{pollGET},
			server: []string{okResponse(gzipped(strings.Repeat("0", 10<<20)), "Content-Encoding: gzip\r\n")},
			want:   []string{open, fmt.Sprintf("server text %q len=1001 truncated deflate [polling GET %s 200]", strings.Repeat("0", 1000), pollPath)},
		},
		{
			name:   "bad gzip",
			client: []string{pollGET},
			server: []string{okResponse("not gzip", "Content-Encoding: gzip\r\n")},
			want:   []string{open, "error server: HTTP body: gzip: unexpected EOF", fmt.Sprintf("server text %q [polling GET %s 200]", "not gzip", pollPath)},
		},
		{
			name:   "other requests passed over",
			client: []string{"POST /api HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + pollGET},
			server: []string{okResponse("secret") + okResponse("2")},
			want:   []string{open, fmt.Sprintf("server text %q [polling GET %s 200]", "2", pollPath)},
		},
		{
			name:   "empty bodies",
			client: []string{pollGET},
			server: []string{okResponse("")},
			want:   []string{open},
		},
		{
			name:   "then an upgrade",
			client: []string{pollGET, upgradeReq("/socket.io/?EIO=4&transport=websocket&sid=S"), string(cf(OpText, "2probe"))},
			server: []string{okResponse("6"), upgradeResp() + string(sf(OpText, "3probe"))},
			want: []string{
				open,
				fmt.Sprintf("server text %q [polling GET %s 200]", "6", pollPath),
				"open /socket.io/?EIO=4&transport=websocket&sid=S",
				// The 3probe is sent before the 2probe here.
				`server text "3probe"`, `client text "2probe"`,
			},
		},
	}
	for _, tc := range tests {
		for _, split := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("%s/split%d", tc.name, split), func(t *testing.T) {
				h := newHarness(t, tc.cfg)
				send := func(dir reassembly.Dir, s string) {
					b := []byte(s)
					if split == 0 {
						h.c.Data(dir, b, h.tick())
						return
					}
					for len(b) > 0 {
						n := min(split, len(b))
						h.c.Data(dir, b[:n], h.tick())
						b = b[n:]
					}
				}
				for i := range max(len(tc.client), len(tc.server)) {
					if i < len(tc.client) {
						send(reassembly.ClientToServer, tc.client[i])
					}
					if i < len(tc.server) {
						send(reassembly.ServerToClient, tc.server[i])
					}
				}
				h.end()
				want := append(append([]string(nil), tc.want...), "close")
				equalLines(t, h.rec.lines, want)
			})
		}
	}
}

// TestPollingGap: bytes lost inside a polling body are a gap; the body is
// dropped, and the HTTP exchange is not followed past it (the close is
// still reported).
func TestPollingGap(t *testing.T) {
	resp := okResponse(strings.Repeat("x", 100))
	post := pollPOST(strings.Repeat("y", 100))
	t.Run("server", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.client([]byte(pollGET))
		h.server([]byte(resp[:len(resp)-60]))
		h.gap(reassembly.ServerToClient, 20)
		h.server([]byte(resp[len(resp)-40:]), []byte(okResponse("6")))
		h.end()
		equalLines(t, h.rec.lines, []string{"open polling " + pollPath, "gap server 20", "close"})
	})
	t.Run("client", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.client([]byte(post[:len(post)-50]))
		h.gap(reassembly.ClientToServer, -1)
		h.client([]byte(post[len(post)-10:]), []byte(pollGET))
		h.server([]byte(okResponse("ok")))
		h.end()
		equalLines(t, h.rec.lines, []string{"open polling /socket.io/?EIO=4&transport=polling&t=P2&sid=S", "gap client -1", "close"})
	})
}

// TestPollingClaims: a Content-Length or a chunk size is a claim, not an
// allocation: the buffer follows the bytes that came.
func TestPollingClaims(t *testing.T) {
	for name, head := range map[string]string{
		"content-length": "HTTP/1.1 200 OK\r\nContent-Length: 1125899906842624\r\n\r\n",
		"chunk size":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffff\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.client([]byte(pollGET))
			h.server([]byte(head), []byte("0123456789"))
			pb := h.c.(*conn).h.dirs[reassembly.ServerToClient].poll
			if pb == nil || len(pb.buf) != 10 || cap(pb.buf) > 512 {
				t.Fatalf("body buffer after 10 bytes: %+v", pb)
			}
			h.end()
			equalLines(t, h.rec.lines, []string{"open polling " + pollPath, "error server: HTTP body incomplete at end of stream", "close"})
		})
	}
}

func TestIsPollingTarget(t *testing.T) {
	for target, want := range map[string]bool{
		"/socket.io/?EIO=4&transport=polling&t=abc":        true,
		"/chat/engine.io/?transport=polling&EIO=3&sid=x":   true,
		"/socket.io/?EIO=4&transport=websocket":            false,
		"/socket.io/?transport=polling":                    false,
		"/?transport=pollingx&EIO=4":                       false,
		"/socket.io/transport=polling&EIO=4":               false,
		"/socket.io/?EIO=4&transport=polling&b64=1&t=Oa1B": true,
	} {
		if got := isPollingTarget(target); got != want {
			t.Errorf("isPollingTarget(%q) = %t, want %t", target, got, want)
		}
	}
}

// FuzzPolling feeds random responses and request bodies after polling
// requests: nothing panics, and no event holds more than the cap.
func FuzzPolling(f *testing.F) {
	f.Add([]byte(okResponse("0{}")), []byte("40"), uint8(1))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"+chunked(gzipped("hello"), 3)), []byte("x"), uint8(2))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nab"), []byte(""), uint8(0))
	f.Add([]byte("HTTP/1.0 200 OK\r\nContent-Encoding: deflate\r\n\r\n"+zlibbed(strings.Repeat("6", 1<<16))), []byte("2"), uint8(5))
	f.Add([]byte(okResponse("6")+okResponse("ok")+upgradeResp()+string(sf(OpText, "3probe"))), []byte("x"), uint8(8))
	f.Add([]byte(okResponse(gzipped(strings.Repeat("0", 1<<20)), "Content-Encoding: gzip\r\n")), []byte(""), uint8(3))
	f.Fuzz(func(t *testing.T, resp, body []byte, flags uint8) {
		_, c := fuzzConn(t, Config{})
		req := []byte(pollGET + pollPOST(string(body)))
		feedChunks(c, req, resp, int(flags>>1)+1, flags&1 != 0)
		c.End(reassembly.EndFIN, testT0)
	})
}
