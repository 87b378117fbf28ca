package tlsdecrypt

import (
	"errors"
	"fmt"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

// MaxHandshakeMessage bounds a handshake message that is kept to be parsed
// (hellos, EncryptedExtensions, a TLS 1.2 NewSessionTicket). Others
// (certificates, ...) are skipped by their length without being kept.
const MaxHandshakeMessage = 64 << 10

// Handshake message types (RFC 8446 4, RFC 5246 7.4).
const (
	hsClientHello         = 1
	hsServerHello         = 2
	hsNewSessionTicket    = 4
	hsEncryptedExtensions = 8
	hsFinished            = 20
	hsKeyUpdate           = 24
)

// Extensions read.
const (
	extServerName        = 0
	extALPN              = 16
	extExtendedMaster    = 23
	extSessionTicket     = 35
	extEarlyData         = 42
	extSupportedVersions = 43
)

// helloRetryRandom is the ServerHello random that makes it a
// HelloRetryRequest (RFC 8446 4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

var errShort = errors.New("truncated")

// reader reads the fields of a handshake message; a read past the end sets
// bad and returns zeros.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if n > len(r.b) || r.bad {
		r.bad = true
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8() int {
	p := r.take(1)
	if p == nil {
		return 0
	}
	return int(p[0])
}

func (r *reader) u16() int {
	p := r.take(2)
	if p == nil {
		return 0
	}
	return int(p[0])<<8 | int(p[1])
}

func (r *reader) vec8() []byte  { return r.take(r.u8()) }
func (r *reader) vec16() []byte { return r.take(r.u16()) }

// extensions calls f for each extension of the block b.
func extensions(b []byte, f func(typ int, data []byte) error) error {
	r := reader{b: b}
	for len(r.b) > 0 {
		typ := r.u16()
		data := r.vec16()
		if r.bad {
			return fmt.Errorf("extension %d: %w", typ, errShort)
		}
		if err := f(typ, data); err != nil {
			return fmt.Errorf("extension %d: %w", typ, err)
		}
	}
	return nil
}

// clientHello is what is read of a ClientHello.
type clientHello struct {
	random    [32]byte
	sessionID []byte
	sni       string
	ticket    []byte // the session_ticket extension (TLS 1.2 resumption)
	early     bool   // early_data offered
}

// parseClientHello reads body, the ClientHello's body (RFC 8446 4.1.2).
// Its slices point into body.
func parseClientHello(body []byte) (ch clientHello, err error) {
	r := reader{b: body}
	r.u16() // legacy_version
	copy(ch.random[:], r.take(32))
	ch.sessionID = r.vec8()
	r.vec16() // cipher_suites
	r.vec8()  // compression methods
	if r.bad {
		return ch, errShort
	}
	if len(r.b) == 0 {
		return ch, nil
	}
	exts := r.vec16()
	if r.bad {
		return ch, errShort
	}
	err = extensions(exts, func(typ int, data []byte) error {
		switch typ {
		case extServerName:
			er := reader{b: data}
			list := reader{b: er.vec16()}
			for len(list.b) > 0 && !list.bad {
				nameType := list.u8()
				name := list.vec16()
				if nameType == 0 && ch.sni == "" && !list.bad {
					ch.sni = printable(name)
				}
			}
			if er.bad || list.bad {
				return errShort
			}
		case extSessionTicket:
			ch.ticket = data
		case extEarlyData:
			ch.early = true
		}
		return nil
	})
	return ch, err
}

// printable returns b as a string with bytes that are not printable ASCII
// as '?'.
func printable(b []byte) string {
	p := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		p[i] = c
	}
	return string(p)
}

// serverHello is what is read of a ServerHello.
type serverHello struct {
	version   uint16 // from supported_versions, else legacy_version
	random    [32]byte
	sessionID []byte
	cipher    uint16
	alpn      string
	ems       bool // extended_master_secret (RFC 7627)
}

// parseServerHello reads body, the ServerHello's body (RFC 8446 4.1.3).
func parseServerHello(body []byte) (sh serverHello, err error) {
	r := reader{b: body}
	sh.version = uint16(r.u16())
	copy(sh.random[:], r.take(32))
	sh.sessionID = r.vec8()
	sh.cipher = uint16(r.u16())
	r.u8() // compression method
	if r.bad {
		return sh, errShort
	}
	if len(r.b) == 0 {
		return sh, nil
	}
	exts := r.vec16()
	if r.bad {
		return sh, errShort
	}
	err = extensions(exts, func(typ int, data []byte) error {
		switch typ {
		case extSupportedVersions:
			if len(data) != 2 {
				return errors.New("supported_versions: not 2 bytes")
			}
			sh.version = uint16(data[0])<<8 | uint16(data[1])
		case extALPN:
			alpn, err := parseALPN(data)
			if err != nil {
				return err
			}
			sh.alpn = alpn
		case extExtendedMaster:
			sh.ems = true
		}
		return nil
	})
	return sh, err
}

// parseALPN reads the protocol of a server's ALPN extension (RFC 7301 3.1).
func parseALPN(data []byte) (string, error) {
	r := reader{b: data}
	list := reader{b: r.vec16()}
	name := list.vec8()
	if r.bad || list.bad || len(name) == 0 {
		return "", errors.New("ALPN: malformed")
	}
	return printable(name), nil
}

// parseEncryptedExtensions reads the ALPN protocol and whether early data
// was accepted from a TLS 1.3 EncryptedExtensions body.
func parseEncryptedExtensions(body []byte) (alpn string, early bool, err error) {
	r := reader{b: body}
	exts := r.vec16()
	if r.bad {
		return "", false, errShort
	}
	err = extensions(exts, func(typ int, data []byte) error {
		switch typ {
		case extALPN:
			a, err := parseALPN(data)
			alpn = a
			return err
		case extEarlyData:
			early = true
		}
		return nil
	})
	return alpn, early, err
}

// parseTicket12 reads the ticket of a TLS 1.2 NewSessionTicket (RFC 5077
// 3.3).
func parseTicket12(body []byte) ([]byte, error) {
	r := reader{b: body}
	r.take(4) // lifetime hint
	t := r.vec16()
	if r.bad {
		return nil, errShort
	}
	return t, nil
}

// hsReader joins one direction's handshake messages from the records that
// carry them, however they are split.
type hsReader struct {
	hdr  [4]byte
	hn   int    // header bytes read
	need int    // body bytes still to come
	keep bool   // the body is kept (else skipped)
	typ  uint8  // of the message being read
	body []byte // the kept body so far
}

// reset forgets a message being read (framing lost, or a key change).
func (r *hsReader) reset() {
	r.hn, r.need, r.keep = 0, 0, false
	r.body = r.body[:0]
}

// feed reads handshake bytes b of dir, calling c.handshake for each message
// it completes, with its body when c.keepHandshake wants it kept (nil
// otherwise). It returns an error for a message whose length is over the
// limit: the message is then skipped.
func (r *hsReader) feed(b []byte, c *conn, dir reassembly.Dir, t time.Time) error {
	var err error
	for len(b) > 0 {
		if r.hn < 4 {
			n := copy(r.hdr[r.hn:], b)
			r.hn += n
			b = b[n:]
			if r.hn < 4 {
				return err
			}
			r.typ = r.hdr[0]
			r.need = int(r.hdr[1])<<16 | int(r.hdr[2])<<8 | int(r.hdr[3])
			r.keep = c.keepHandshake(dir, r.typ)
			r.body = r.body[:0]
			if r.keep && r.need > MaxHandshakeMessage {
				err = fmt.Errorf("handshake message of type %d is %d bytes, over the %d KiB limit", r.typ, r.need, MaxHandshakeMessage>>10)
				r.keep = false
			}
		}
		n := min(r.need, len(b))
		if r.keep {
			r.body = append(r.body, b[:n]...)
		}
		r.need -= n
		b = b[n:]
		if r.need == 0 {
			r.hn = 0
			typ, body := r.typ, r.body
			if !r.keep {
				body = nil
			}
			r.body = r.body[:0]
			c.handshake(dir, typ, body, t)
		}
	}
	return err
}
