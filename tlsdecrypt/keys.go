package tlsdecrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// aeadKind is how a suite's records are opened.
type aeadKind uint8

const (
	kind13       aeadKind = iota // TLS 1.3: nonce iv^seq, AAD the record header, inner content type
	kind12GCM                    // TLS 1.2 AES-GCM: 4-byte salt and 8-byte explicit nonce
	kind12ChaCha                 // TLS 1.2 ChaCha20-Poly1305 (RFC 7905): nonce iv^seq
)

// suite is what decrypting needs of a supported cipher suite.
type suite struct {
	kind   aeadKind
	keyLen int
	ivLen  int  // the fixed IV: 4 for 1.2 GCM, 12 otherwise
	sha384 bool // the PRF or HKDF hash is SHA-384 (else SHA-256)
	chacha bool // ChaCha20-Poly1305 (else AES-GCM)
}

func (s *suite) hash() func() hash.Hash {
	if s.sha384 {
		return sha512.New384
	}
	return sha256.New
}

func (s *suite) hashLen() int {
	if s.sha384 {
		return 48
	}
	return 32
}

var (
	suite13AES128 = suite{kind: kind13, keyLen: 16, ivLen: 12}
	suite13AES256 = suite{kind: kind13, keyLen: 32, ivLen: 12, sha384: true}
	suite13ChaCha = suite{kind: kind13, keyLen: 32, ivLen: 12, chacha: true}
	suite12AES128 = suite{kind: kind12GCM, keyLen: 16, ivLen: 4}
	suite12AES256 = suite{kind: kind12GCM, keyLen: 32, ivLen: 4, sha384: true}
	suite12ChaCha = suite{kind: kind12ChaCha, keyLen: 32, ivLen: 12, chacha: true}
)

// suiteByID returns the supported suite id, nil when it is not supported
// (CBC, CCM, RC4, NULL, ...).
func suiteByID(id uint16) *suite {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256:
		return &suite13AES128
	case tls.TLS_AES_256_GCM_SHA384:
		return &suite13AES256
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		return &suite13ChaCha
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
		0x009e, // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
		0x00a2, // TLS_DHE_DSS_WITH_AES_128_GCM_SHA256
		0xc02d, // TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256
		0xc031: // TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256
		return &suite12AES128
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		0x009f, // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
		0x00a3, // TLS_DHE_DSS_WITH_AES_256_GCM_SHA384
		0xc02e, // TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384
		0xc032: // TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384
		return &suite12AES256
	case tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		0xccaa: // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
		return &suite12ChaCha
	}
	return nil
}

// hkdfExpandLabel is HKDF-Expand-Label of RFC 8446 7.1 with an empty
// context.
func hkdfExpandLabel(h func() hash.Hash, secret []byte, label string, length int) ([]byte, error) {
	var info [2 + 1 + 6 + 32 + 1]byte
	binary.BigEndian.PutUint16(info[:], uint16(length))
	full := "tls13 " + label
	if len(full) > 32 {
		return nil, errors.New("label too long")
	}
	info[2] = byte(len(full))
	n := 3 + copy(info[3:], full)
	info[n] = 0 // context length
	return hkdf.Expand(h, secret, string(info[:n+1]), length)
}

// prf12 is the TLS 1.2 PRF (RFC 5246 5): P_hash(secret, label || seed)
// written to out.
func prf12(h func() hash.Hash, out, secret []byte, label string, seed ...[]byte) {
	mac := hmac.New(h, secret)
	// A(1) = HMAC(secret, label || seed)
	mac.Write([]byte(label))
	for _, s := range seed {
		mac.Write(s)
	}
	a := mac.Sum(nil)
	for len(out) > 0 {
		mac.Reset()
		mac.Write(a)
		mac.Write([]byte(label))
		for _, s := range seed {
			mac.Write(s)
		}
		out = out[copy(out, mac.Sum(nil)):]
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
}

// newAEAD returns the suite's AEAD with key.
func (s *suite) newAEAD(key []byte) (cipher.AEAD, error) {
	if s.chacha {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// epoch is the record protection of one direction: a key, an IV and the
// sequence number of the next record.
type epoch struct {
	s    *suite
	aead cipher.AEAD
	iv   [12]byte
	seq  uint64
	// secret is the TLS 1.3 traffic secret the key comes from, for KeyUpdate.
	secret    [48]byte
	secretLen int
	nonce     [12]byte
	aad       [13]byte
}

// set13 sets e to the keys of TLS 1.3 traffic secret sec, sequence 0.
func (e *epoch) set13(s *suite, sec []byte) error {
	key, err := hkdfExpandLabel(s.hash(), sec, "key", s.keyLen)
	if err != nil {
		return fmt.Errorf("derive key: %w", err)
	}
	iv, err := hkdfExpandLabel(s.hash(), sec, "iv", 12)
	if err != nil {
		return fmt.Errorf("derive iv: %w", err)
	}
	a, err := s.newAEAD(key)
	if err != nil {
		return fmt.Errorf("aead: %w", err)
	}
	*e = epoch{s: s, aead: a}
	copy(e.iv[:], iv)
	e.secretLen = copy(e.secret[:], sec)
	return nil
}

// update13 moves e to the next TLS 1.3 traffic secret (KeyUpdate, RFC 8446
// 7.2).
func (e *epoch) update13() error {
	next, err := hkdfExpandLabel(e.s.hash(), e.secret[:e.secretLen], "traffic upd", e.s.hashLen())
	if err != nil {
		return fmt.Errorf("derive the next secret: %w", err)
	}
	return e.set13(e.s, next)
}

// keys12 derives the TLS 1.2 keys of both directions from the master secret
// (RFC 5246 6.3): the client's epoch first.
func keys12(s *suite, master, clientRandom, serverRandom []byte) (client, server epoch, err error) {
	var block [2*32 + 2*12]byte
	kb := block[:2*s.keyLen+2*s.ivLen]
	prf12(s.hash(), kb, master, "key expansion", serverRandom, clientRandom)
	ck, sk := kb[:s.keyLen], kb[s.keyLen:2*s.keyLen]
	civ, siv := kb[2*s.keyLen:2*s.keyLen+s.ivLen], kb[2*s.keyLen+s.ivLen:]
	ca, err := s.newAEAD(ck)
	if err != nil {
		return client, server, fmt.Errorf("aead: %w", err)
	}
	sa, err := s.newAEAD(sk)
	if err != nil {
		return client, server, fmt.Errorf("aead: %w", err)
	}
	client = epoch{s: s, aead: ca}
	server = epoch{s: s, aead: sa}
	copy(client.iv[:], civ)
	copy(server.iv[:], siv)
	return client, server, nil
}

// overhead is the least a protected record's body holds besides plaintext.
func (e *epoch) overhead() int {
	switch e.s.kind {
	case kind12GCM:
		return 8 + 16
	case kind13:
		return 16 + 1 // the tag and the inner content type
	}
	return 16
}

// open decrypts record (its 5-byte header, then its body) as sequence
// number seq, appending the plaintext to dst. For TLS 1.3 the plaintext
// still ends in its padding and inner content type. ok is false when the
// record fails authentication; dst's spare capacity is then overwritten.
func (e *epoch) open(dst, record []byte, seq uint64) (out []byte, ok bool) {
	body := record[5:]
	if len(body) < e.overhead() {
		return dst, false
	}
	switch e.s.kind {
	case kind13, kind12ChaCha:
		e.nonce = e.iv
		for i := range 8 {
			e.nonce[4+i] ^= byte(seq >> (56 - 8*i))
		}
	case kind12GCM:
		copy(e.nonce[:4], e.iv[:4])
		copy(e.nonce[4:], body[:8])
		body = body[8:]
	}
	var aad []byte
	if e.s.kind == kind13 {
		aad = record[:5]
	} else {
		binary.BigEndian.PutUint64(e.aad[:], seq)
		e.aad[8] = record[0]
		e.aad[9], e.aad[10] = record[1], record[2]
		binary.BigEndian.PutUint16(e.aad[11:], uint16(len(body)-16))
		aad = e.aad[:]
	}
	out, err := e.aead.Open(dst, e.nonce[:], body, aad)
	if err != nil {
		return dst, false
	}
	return out, true
}

// innerType strips a TLS 1.3 inner plaintext's zero padding and content
// type (RFC 8446 5.2), returning the content and its type; ok is false when
// no content type is found.
func innerType(p []byte) (content []byte, typ uint8, ok bool) {
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 {
		return nil, 0, false
	}
	return p[:i], p[i], true
}
