package tlsdecrypt

import (
	"crypto/tls"
	"testing"
)

// TestCipherName: the names looked up once are tls.CipherSuiteName's.
func TestCipherName(t *testing.T) {
	for _, id := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_RSA_WITH_RC4_128_SHA, 0x1304, 0xabcd} {
		if got, want := (Info{Cipher: id}).CipherName(), tls.CipherSuiteName(id); got != want {
			t.Errorf("%#04x: %q, want %q", id, got, want)
		}
	}
	if got := (Info{}).CipherName(); got != "" {
		t.Errorf("no suite: %q", got)
	}
}
