package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// TLS 1.3 for -tls: every WebSocket connection is wss://, as a browser
// and a server would speak it, with TLS_AES_128_GCM_SHA256: a ClientHello
// (SNI localhost, ALPN http/1.1) and a ServerHello in the clear, the
// middlebox change_cipher_spec records, the server's EncryptedExtensions,
// Certificate and Finished under its handshake key, the client's Finished
// under its own, then the HTTP upgrade and the frames as application data
// records of at most 16 KiB. The secrets are random (no key exchange is
// made: nothing here verifies a Finished) and written to the key log, the
// four lines per connection that Chromium writes, so chatsniff --keylog
// and tshark -o tls.keylog_file: decrypt the capture.

// maxTLSPlaintext is the most plaintext one record carries (RFC 8446 5.1).
const maxTLSPlaintext = 16384

// tlsSide is one direction's record protection.
type tlsSide struct {
	aead cipher.AEAD
	iv   [12]byte
	seq  uint64
}

// tlsConn is a connection's TLS state once the handshake was written.
type tlsConn struct {
	side [2]tlsSide // by client, server
	rec  []byte     // the records being written (reused)
}

// expandLabel is HKDF-Expand-Label of RFC 8446 7.1 with SHA-256.
func expandLabel(secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+len(label)+6)
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0) // no context
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		panic(err) // n is 12 or 16: within HKDF's bounds
	}
	return out
}

// newTLSSide derives a direction's key and IV from its traffic secret.
func newTLSSide(secret []byte) tlsSide {
	block, err := aes.NewCipher(expandLabel(secret, "key", 16))
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	s := tlsSide{aead: aead}
	copy(s.iv[:], expandLabel(secret, "iv", 12))
	return s
}

// seal appends the records of content (of TLS content type typ, inner)
// to b.
func (s *tlsSide) seal(b []byte, typ byte, content []byte) []byte {
	for first := true; first || len(content) > 0; first = false {
		n := min(len(content), maxTLSPlaintext)
		var nonce [12]byte
		binary.BigEndian.PutUint64(nonce[4:], s.seq)
		for i := range nonce {
			nonce[i] ^= s.iv[i]
		}
		s.seq++
		hdr := len(b)
		b = append(b, 23, 3, 3, 0, 0)
		binary.BigEndian.PutUint16(b[hdr+3:], uint16(n+1+s.aead.Overhead()))
		body := len(b)
		b = append(b, content[:n]...)
		b = append(b, typ)
		b = s.aead.Seal(b[:body], nonce[:], b[body:], b[hdr:body])
		content = content[n:]
	}
	return b
}

// handshakeMsg appends a handshake message of type typ.
func handshakeMsg(b []byte, typ byte, body []byte) []byte {
	b = append(b, typ, byte(len(body)>>16), byte(len(body)>>8), byte(len(body)))
	return append(b, body...)
}

// ext appends a TLS extension.
func ext(b []byte, typ uint16, body []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

// plainRecord appends a record in the clear.
func plainRecord(b []byte, typ byte, version uint16, body []byte) []byte {
	b = append(b, typ)
	b = binary.BigEndian.AppendUint16(b, version)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

const (
	tlsAES128GCMSHA256 = 0x1301
	tlsVersion13       = 0x0304
)

var alpnHTTP11 = []byte{0, 9, 8, 'h', 't', 't', 'p', '/', '1', '.', '1'}

// tlsHandshake writes c's TLS handshake and its key log lines, and leaves
// c ready for application data.
func (g *gen) tlsHandshake(c *conn) {
	var random, sessionID [32]byte
	var secrets [4][32]byte // client hs, server hs, client ap, server ap
	fill := func(b []byte) {
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], g.rng.Uint64())
		}
	}
	fill(random[:])
	fill(sessionID[:])
	for i := range secrets {
		fill(secrets[i][:])
	}
	r := hex.EncodeToString(random[:])
	for i, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
		if _, err := fmt.Fprintf(g.keys, "%s %s %x\n", label, r, secrets[i]); err != nil && g.err == nil {
			g.err = fmt.Errorf("key log: %w", err)
		}
	}

	// ClientHello.
	var exts []byte
	sni := []byte{0, 12, 0, 0, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't'}
	exts = ext(exts, 0x0000, sni)
	exts = ext(exts, 0x0010, alpnHTTP11)
	exts = ext(exts, 0x002b, []byte{2, 3, 4})    // supported_versions: TLS 1.3
	exts = ext(exts, 0x000d, []byte{0, 2, 4, 3}) // signature_algorithms: ecdsa_secp256r1_sha256
	var body []byte
	body = binary.BigEndian.AppendUint16(body, 0x0303)
	body = append(body, random[:]...)
	body = append(body, 32)
	body = append(body, sessionID[:]...)
	body = append(body, 0, 2, tlsAES128GCMSHA256>>8, tlsAES128GCMSHA256&0xff)
	body = append(body, 1, 0) // compression: null
	body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
	body = append(body, exts...)
	g.write(c, client, plainRecord(nil, 22, 0x0301, handshakeMsg(nil, 1, body)))

	// ServerHello, change_cipher_spec, and the encrypted rest of the
	// server's flight.
	var serverRandom [32]byte
	fill(serverRandom[:])
	body = binary.BigEndian.AppendUint16(body[:0], 0x0303)
	body = append(body, serverRandom[:]...)
	body = append(body, 32)
	body = append(body, sessionID[:]...)
	body = append(body, tlsAES128GCMSHA256>>8, tlsAES128GCMSHA256&0xff, 0)
	sexts := ext(nil, 0x002b, []byte{3, 4})
	body = binary.BigEndian.AppendUint16(body, uint16(len(sexts)))
	body = append(body, sexts...)
	flight := plainRecord(nil, 22, 0x0303, handshakeMsg(nil, 2, body))
	flight = plainRecord(flight, 20, 0x0303, []byte{1})
	var msgs []byte
	ee := ext(nil, 0x0010, alpnHTTP11)
	msgs = handshakeMsg(msgs, 8, append(binary.BigEndian.AppendUint16(nil, uint16(len(ee))), ee...))
	msgs = handshakeMsg(msgs, 11, []byte{0, 0, 0, 0}) // Certificate: no context, an empty list
	var finished [32]byte
	fill(finished[:])
	msgs = handshakeMsg(msgs, 20, finished[:])
	shs := newTLSSide(secrets[1][:])
	flight = shs.seal(flight, 22, msgs)
	g.write(c, server, flight)

	// The client's change_cipher_spec and Finished.
	fill(finished[:])
	chs := newTLSSide(secrets[0][:])
	g.write(c, client, chs.seal(plainRecord(nil, 20, 0x0303, []byte{1}), 22, handshakeMsg(nil, 20, finished[:])))

	c.tls = &tlsConn{side: [2]tlsSide{newTLSSide(secrets[2][:]), newTLSSide(secrets[3][:])}}
}

// protect returns data as application data records of c's side from, or
// data itself when c is not TLS. The result is valid until the next call.
func (c *conn) protect(from int, data []byte) []byte {
	if c.tls == nil {
		return data
	}
	c.tls.rec = c.tls.side[from].seal(c.tls.rec[:0], 23, data)
	if cap(c.tls.rec) > 4*maxTLSPlaintext {
		defer func() { c.tls.rec = nil }() // a huge message's records are not kept
	}
	return c.tls.rec
}
