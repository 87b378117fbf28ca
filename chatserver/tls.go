package chatserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// selfSignedValidity is how long a certificate made by SelfSignedTLS is
// valid: a server run for a capture, not a service.
const selfSignedValidity = 7 * 24 * time.Hour

// SelfSignedTLS makes a TLS configuration with a new self-signed ECDSA
// P-256 certificate, valid for localhost, 127.0.0.1, ::1 and hosts (names
// or addresses), and returns it with the certificate's SHA-256
// fingerprint, so that a user can tell the browser's warning is about it.
func SelfSignedTLS(hosts []string) (*tls.Config, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("self-signed certificate: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, "", fmt.Errorf("self-signed certificate: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "chatsniff serve", Organization: []string{"chatsniff"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		h = strings.Trim(h, "[]")
		switch ip := net.ParseIP(h); {
		case h == "" || h == "localhost":
		case ip != nil:
			if !ip.IsUnspecified() && !ip.IsLoopback() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", fmt.Errorf("self-signed certificate: %w", err)
	}
	sum := sha256.Sum256(der)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return cfg, fingerprint(sum[:]), nil
}

// fingerprint writes a digest as browsers show one: AB:CD:…
func fingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// LoadTLS makes a TLS configuration from a PEM certificate (chain) and key.
// An error names the file at fault: missing, not PEM, or the two not a pair.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	if !hasPEM(certPEM, "CERTIFICATE") {
		return nil, fmt.Errorf("tls certificate %s: no PEM CERTIFICATE block", certFile)
	}
	if !hasPEM(keyPEM, "PRIVATE KEY") {
		return nil, fmt.Errorf("tls key %s: no PEM PRIVATE KEY block", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
}

// hasPEM tells whether b holds a PEM block whose type ends in kind
// ("PRIVATE KEY" takes "EC PRIVATE KEY" and "RSA PRIVATE KEY" too).
func hasPEM(b []byte, kind string) bool {
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return false
		}
		if strings.HasSuffix(blk.Type, kind) {
			return true
		}
	}
}

// KeyLogFile opens name for appending TLS secrets in the NSS key log
// format (tls.Config.KeyLogWriter), as SSLKEYLOGFILE asks of browsers:
// a capture of the traffic is then decrypted by chatsniff --keylog or
// Wireshark. A write error is reported once through warn.
func KeyLogFile(name string, warn func(error)) (*KeyLogWriter, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("key log: %w", err)
	}
	return &KeyLogWriter{f: f, warn: warn}, nil
}

// KeyLogWriter appends key log lines to a file, one write each (a line
// is written whole, so that a reader following the file never sees half
// of one, and connections on many goroutines may share it).
type KeyLogWriter struct {
	mu     sync.Mutex
	f      *os.File
	warn   func(error)
	warned bool
}

func (w *KeyLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.f.Write(p)
	if err != nil && !w.warned && w.warn != nil {
		w.warned = true
		w.warn(fmt.Errorf("key log %s: %w", w.f.Name(), err))
	}
	return n, err
}

// Close closes the file.
func (w *KeyLogWriter) Close() error { return w.f.Close() }

// serverTLS is the configuration the listeners use: opts.TLS with HTTP/1.1
// as the only ALPN protocol (WebSocket over HTTP/2 is another protocol,
// RFC 8441, which neither the server nor the sniffer speaks).
func serverTLS(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	c.NextProtos = []string{"http/1.1"}
	return c
}
