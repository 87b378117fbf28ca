package tlsdecrypt

import (
	"crypto/tls"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

// Info describes a TLS connection once its handshake is read.
type Info struct {
	Version   uint16 // tls.VersionTLS12, tls.VersionTLS13 (from supported_versions in 1.3), 0 when unknown
	Cipher    uint16 // the cipher suite the ServerHello chose; 0 unknown
	SNI       string // server_name of the ClientHello, "" when none
	ALPN      string // the protocol negotiated: ServerHello ext in 1.2, EncryptedExtensions in 1.3 (known only when decrypted); "" when none
	Decrypted bool   // keys were found and the stream is being decrypted
	// Reason says why Decrypted is false, in a few words for a user:
	// "no key for its client random in the key log", "cipher suite
	// TLS_RSA_WITH_AES_128_CBC_SHA not supported", "handshake not captured", ...
	Reason string
}

// VersionName returns "1.0", "1.1", "1.2" or "1.3", or "" when the version
// is unknown (or not TLS).
func (i Info) VersionName() string {
	switch i.Version {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return ""
}

// CipherName returns the IANA name of the cipher suite, as
// tls.CipherSuiteName does, or "" when it is unknown (0).
func (i Info) CipherName() string {
	if i.Cipher == 0 {
		return ""
	}
	if name, ok := suiteNames[i.Cipher]; ok {
		return name
	}
	return tls.CipherSuiteName(i.Cipher)
}

// suiteNames are the names of the suites Go knows, looked up once:
// tls.CipherSuiteName builds the whole list of suites at every call, and
// every open event of a TLS connection names its suite.
var suiteNames = func() map[uint16]string {
	m := map[uint16]string{}
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range list {
			m[cs.ID] = cs.Name
		}
	}
	return m
}()

// Conn is what the inner Handler's Conn may also implement to hear of TLS.
// A Conn that does not implement it gets only the plaintext Data/Gap/End.
type Conn interface {
	reassembly.Conn
	// TLS is called once per TLS connection, before any plaintext Data: when the
	// handshake shows whether it can be decrypted (1.3: after EncryptedExtensions is
	// decrypted, so ALPN is known; 1.2: after the ServerHello and the key lookup),
	// or when it is known it cannot be.
	TLS(info Info, t time.Time)
	// TLSError reports a problem of one direction that the user should see: a record
	// that fails authentication, a record over the size limit, a malformed handshake.
	// Decryption goes on where it can.
	TLSError(dir reassembly.Dir, msg string, t time.Time)
}
