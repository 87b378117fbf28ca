package decode

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
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
			name:   "octet-stream",
			client: []string{pollGET},
			server: []string{"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 5\r\n\r\n\x00\x01\xff\x04z"},
			want:   []string{open, fmt.Sprintf("server binary 0001ff047a [polling GET %s 200]", pollPath)},
		},
		{
			name:   "error answer",
			client: []string{pollGET},
			server: []string{"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"code\":1,\"message\":\"Session ID unknown\"}"},
			want:   []string{open, fmt.Sprintf("server text %q [polling GET %s 400]", `{"code":1,"message":"Session ID unknown"`, pollPath)},
		},
		{
			name:   "over the cap",
			cfg:    Config{MaxMessage: 100},
			client: []string{pollGET},
			server: []string{okResponse(bigText)},
			want:   []string{open, fmt.Sprintf("server text %q len=3000 truncated [polling GET %s 200]", bigText[:100], pollPath)},
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

// TestPollingGap: bytes lost inside a polling body are a gap, and the
// HTTP exchange is not followed past it.
func TestPollingGap(t *testing.T) {
	h := newHarness(t, Config{})
	h.client([]byte(pollGET))
	resp := okResponse(strings.Repeat("x", 100))
	h.server([]byte(resp[:len(resp)-60]))
	h.gap(reassembly.ServerToClient, 20)
	h.server([]byte(resp[len(resp)-40:]), []byte(okResponse("6")))
	h.end()
	equalLines(t, h.rec.lines, []string{"open polling " + pollPath, "gap server 20", "close"})
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
	f.Fuzz(func(t *testing.T, resp, body []byte, flags uint8) {
		_, c := fuzzConn(t, Config{})
		req := []byte(pollGET + pollPOST(string(body)))
		feedChunks(c, req, resp, int(flags>>1)+1, flags&1 != 0)
		c.End(reassembly.EndFIN, testT0)
	})
}
