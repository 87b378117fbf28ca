package decode

import (
	"crypto/tls"
	"slices"
	"testing"

	"github.com/chatsniff/chatsniff/reassembly"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// The decoder's connections hear of TLS from package tlsdecrypt.
var _ tlsdecrypt.Conn = (*conn)(nil)

// TestTLSConn: what tlsdecrypt tells a connection shows in its events. A
// decrypted one is decoded as any other, its open event carrying the TLS
// layer; one that cannot be is an open event with the layer alone, then
// its close; TLS errors are error events of their direction, and none
// come from a connection that turned out not to be a WebSocket.
func TestTLSConn(t *testing.T) {
	decrypted := tlsdecrypt.Info{Version: tls.VersionTLS13, Cipher: tls.TLS_AES_128_GCM_SHA256, SNI: "chat.example", ALPN: "http/1.1", Decrypted: true}
	noKey := tlsdecrypt.Info{Version: tls.VersionTLS12, SNI: "chat.example", Reason: "no key"}
	plainHTTP := "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
	tests := []struct {
		name string
		run  func(h *harness, c tlsdecrypt.Conn)
		want []string
	}{
		{"decrypted WebSocket", func(h *harness, c tlsdecrypt.Conn) {
			c.TLS(decrypted, h.tick())
			h.open()
			h.client(cf(OpText, "hi"))
			c.TLSError(reassembly.ServerToClient, "record 7 failed authentication", h.tick())
			h.server(sf(OpText, "yo"))
			h.end()
		}, []string{
			"open / tls=1.3/chat.example/http/1.1/decrypted=true",
			`client text "hi"`,
			"error server: TLS: record 7 failed authentication",
			`server text "yo"`,
			"close",
		}},
		{"not decrypted", func(h *harness, c tlsdecrypt.Conn) {
			c.TLS(noKey, h.tick())
			h.client([]byte("\x17\x03\x03\x00\x05abcde"))
			h.end()
		}, []string{"open  accept=bad tls=1.2/chat.example//decrypted=false (no key)", "close"}},
		{"decrypted, plain HTTPS", func(h *harness, c tlsdecrypt.Conn) {
			c.TLS(decrypted, h.tick())
			h.client([]byte(plainHTTP))
			h.server([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
			h.client([]byte("not http at all"))
			c.TLSError(reassembly.ClientToServer, "record 3 failed authentication", h.tick())
			h.end()
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.rec.keepFull = true
			tc.run(h, h.c.(tlsdecrypt.Conn))
			if !slices.Equal(h.rec.lines, tc.want) {
				t.Errorf("events:\n%q\nwant:\n%q", h.rec.lines, tc.want)
			}
			for _, e := range h.rec.events {
				if e.Kind == KindOpen && e.TLS == nil {
					t.Errorf("open event without its TLS layer")
				}
			}
		})
	}
}
