package render

import (
	"crypto/tls"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// TestTextTLS: the open line says what TLS a connection is over, and a
// connection that cannot be decrypted says why, escaped.
func TestTextTLS(t *testing.T) {
	sc := NewScheme(false)
	clock := ts.Local().Format("15:04:05.000000")
	tests := []struct {
		e    decode.Event
		want string
	}{
		{decode.Event{Kind: decode.KindOpen, Path: "/", AcceptOK: true, Extensions: "permessage-deflate",
			TLS: &tlsdecrypt.Info{Version: tls.VersionTLS13, Cipher: tls.TLS_AES_128_GCM_SHA256, SNI: "localhost", ALPN: "http/1.1", Decrypted: true}},
			` #1 127.0.0.1:60653 → [::1]:7272 TLS 1.3 (TLS_AES_128_GCM_SHA256, sni localhost, alpn http/1.1) WebSocket GET / [permessage-deflate]`},
		{decode.Event{Kind: decode.KindOpen, Path: "/", AcceptOK: true,
			TLS: &tlsdecrypt.Info{Version: tls.VersionTLS12, Cipher: tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, Decrypted: true}},
			` #1 127.0.0.1:60653 → [::1]:7272 TLS 1.2 (TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256) WebSocket GET /`},
		{decode.Event{Kind: decode.KindOpen,
			TLS: &tlsdecrypt.Info{Version: tls.VersionTLS13, Cipher: tls.TLS_AES_256_GCM_SHA384, SNI: "evil\x1b[2J", Reason: "no key for its client random in the key log"}},
			` #1 127.0.0.1:60653 → [::1]:7272 TLS 1.3 (TLS_AES_256_GCM_SHA384, sni evil\x1b[2J) not decrypted: no key for its client random in the key log`},
		{decode.Event{Kind: decode.KindOpen, TLS: &tlsdecrypt.Info{Reason: "handshake not captured"}},
			` #1 127.0.0.1:60653 → [::1]:7272 TLS not decrypted: handshake not captured`},
	}
	for _, tt := range tests {
		e := tt.e
		e.Time, e.ConnID, e.Client, e.Server = ts.Local(), 1, cli, srv
		if got := string(AppendText(nil, &e, TextOptions{Scheme: sc})); got != clock+tt.want+"\n" {
			t.Errorf("got  %q\nwant %q", got, clock+tt.want+"\n")
		}
	}
}

// TestNDJSONTLS: the open event's "tls" object, exactly.
func TestNDJSONTLS(t *testing.T) {
	tests := []struct {
		info tlsdecrypt.Info
		want string
	}{
		{tlsdecrypt.Info{Version: tls.VersionTLS13, Cipher: tls.TLS_AES_128_GCM_SHA256, SNI: "chat.example", ALPN: "http/1.1", Decrypted: true},
			`"tls":{"version":"1.3","cipher":"TLS_AES_128_GCM_SHA256","sni":"chat.example","alpn":"http/1.1","decrypted":true}}`},
		{tlsdecrypt.Info{Version: tls.VersionTLS12, SNI: "a\"b", Reason: "no key for its client random in the key log"},
			`"tls":{"version":"1.2","cipher":"","sni":"a\"b","alpn":"","decrypted":false,"reason":"no key for its client random in the key log"}}`},
	}
	for _, tt := range tests {
		e := decode.Event{Kind: decode.KindOpen, Time: ts, ConnID: 1, Client: cli, Server: srv, TLS: &tt.info}
		line := string(AppendNDJSON(nil, &e))
		if !strings.HasSuffix(line, ","+tt.want+"\n") {
			t.Errorf("got  %s\nwant …,%s", line, tt.want)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	plain := decode.Event{Kind: decode.KindOpen, Time: ts, ConnID: 1, Client: cli, Server: srv}
	if line := AppendNDJSON(nil, &plain); strings.Contains(string(line), `"tls"`) {
		t.Errorf("plain open with a tls object: %s", line)
	}
}

// TestTLSRecordKind: --explain names a segment by its first TLS record.
func TestTLSRecordKind(t *testing.T) {
	for _, tc := range []struct {
		b    string
		want string
	}{
		{"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", "ClientHello"},
		{"\x16\x03\x03\x00\x05\x02\x00\x00\x01\x00", "ServerHello"},
		{"\x16\x03\x03\x00\x05\x04\x00\x00\x01\x00", "handshake"},
		{"\x14\x03\x03\x00\x01\x01", "change_cipher_spec"},
		{"\x15\x03\x03\x00\x02\x01\x00", "alert"},
		{"\x17\x03\x03\x00\x10abcdefghijklmnop", "application data"},
		{"GET / HTTP/1.1\r\n", ""},
		{"\x17\x03\x05\x00\x10", ""}, // no such version
		{"\x17\x03", ""},
		{"\x81\x05hello", ""}, // a WebSocket frame
	} {
		if got, _ := tlsRecordKind([]byte(tc.b)); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.b, got, tc.want)
		}
	}
}
