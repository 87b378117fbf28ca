package tlsdecrypt

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/chatsniff/chatsniff/reassembly"
)

// synth makes the records of a TLS connection by hand, for suites and
// messages Go's crypto/tls will not make on this machine (TLS 1.3 AES-256
// and ChaCha20 where AES is fast, KeyUpdate).
type synth struct {
	t      testing.TB
	id     uint16
	s      *suite
	random [32]byte
	sec    [numSecrets][]byte
	ep     [2]epoch // the sealing keys in use
	app    [2]epoch // TLS 1.3 application keys
	writes []write
	sent   [2][]byte
}

func newSynth(t testing.TB, id uint16, seed byte) *synth {
	y := &synth{t: t, id: id, s: suiteByID(id)}
	for i := range y.random {
		y.random[i] = seed + byte(i)
	}
	hl := y.s.hashLen()
	for i := range y.sec {
		y.sec[i] = bytes.Repeat([]byte{seed + 0x40 + byte(i)}, hl)
	}
	y.sec[secMaster] = bytes.Repeat([]byte{seed + 0x30}, 48)
	return y
}

// keyLog returns the key log lines of the connection; hs says whether the
// TLS 1.3 handshake secrets are in it.
func (y *synth) keyLog(hs bool) []byte {
	r := hex.EncodeToString(y.random[:])
	line := func(l string, s []byte) string { return l + " " + r + " " + hex.EncodeToString(s) + "\n" }
	if y.s.kind != kind13 {
		return []byte(line(labelClientRandom, y.sec[secMaster]))
	}
	var b strings.Builder
	if hs {
		b.WriteString(line(labelClientHandshake, y.sec[secClientHS]))
		b.WriteString(line(labelServerHandshake, y.sec[secServerHS]))
	}
	b.WriteString(line(labelClientTraffic, y.sec[secClientApp]))
	b.WriteString(line(labelServerTraffic, y.sec[secServerApp]))
	return []byte(b.String())
}

func vec(n int, b []byte) []byte {
	out := make([]byte, n, n+len(b))
	for i := range n {
		out[i] = byte(len(b) >> (8 * (n - 1 - i)))
	}
	return append(out, b...)
}

func hsMsg(typ byte, body []byte) []byte { return append([]byte{typ}, vec(3, body)...) }

func ext(typ uint16, data []byte) []byte {
	return append([]byte{byte(typ >> 8), byte(typ)}, vec(2, data)...)
}

func plainRecord(typ byte, body []byte) []byte {
	return append([]byte{typ, 3, 3}, vec(2, body)...)
}

func (y *synth) add(dir reassembly.Dir, b []byte) { y.writes = append(y.writes, write{dir: dir, b: b}) }

// seal protects a record of dir with its keys in use.
func (y *synth) seal(dir reassembly.Dir, typ byte, content []byte) []byte {
	e := &y.ep[dir]
	seq := e.seq
	e.seq++
	nonce := e.iv
	if e.s.kind != kind12GCM {
		for i := range 8 {
			nonce[4+i] ^= byte(seq >> (56 - 8*i))
		}
	}
	switch e.s.kind {
	case kind13:
		inner := append(bytes.Clone(content), typ)
		hdr := []byte{recordAppData, 3, 3, 0, 0}
		binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+16))
		return e.aead.Seal(hdr, nonce[:], inner, hdr)
	default:
		var aad [13]byte
		binary.BigEndian.PutUint64(aad[:], seq)
		aad[8], aad[9], aad[10] = typ, 3, 3
		binary.BigEndian.PutUint16(aad[11:], uint16(len(content)))
		hdr := []byte{typ, 3, 3, 0, 0}
		if e.s.kind == kind12GCM {
			var explicit [8]byte
			binary.BigEndian.PutUint64(explicit[:], seq)
			copy(nonce[4:], explicit[:])
			hdr = append(hdr, explicit[:]...)
		}
		binary.BigEndian.PutUint16(hdr[3:], uint16(len(hdr)-5+len(content)+16))
		return e.aead.Seal(hdr, nonce[:], content, aad[:])
	}
}

// handshake writes the hellos and the rest of the handshake.
func (y *synth) handshake() {
	t := y.t
	tls13 := y.s.kind == kind13
	sni := append([]byte{0}, vec(2, []byte("synth.example"))...)
	chExt := ext(extServerName, vec(2, sni))
	ch := append([]byte{3, 3}, y.random[:]...)
	ch = append(ch, 0)                                              // session id
	ch = append(ch, vec(2, []byte{byte(y.id >> 8), byte(y.id)})...) // suites
	ch = append(ch, 1, 0)                                           // compression
	ch = append(ch, vec(2, chExt)...)
	y.add(0, plainRecord(recordHandshake, hsMsg(hsClientHello, ch)))
	var serverRandom [32]byte
	for i := range serverRandom {
		serverRandom[i] = 0x80 + byte(i)
	}
	sh := append([]byte{3, 3}, serverRandom[:]...)
	sh = append(sh, 0, byte(y.id>>8), byte(y.id), 0)
	var shExt []byte
	if tls13 {
		shExt = ext(extSupportedVersions, []byte{3, 4})
	}
	sh = append(sh, vec(2, shExt)...)
	y.add(1, plainRecord(recordHandshake, hsMsg(hsServerHello, sh)))
	if tls13 {
		must(t, y.ep[0].set13(y.s, y.sec[secClientHS]))
		must(t, y.ep[1].set13(y.s, y.sec[secServerHS]))
		must(t, y.app[0].set13(y.s, y.sec[secClientApp]))
		must(t, y.app[1].set13(y.s, y.sec[secServerApp]))
		y.add(1, plainRecord(recordCCS, []byte{1}))
		ee := hsMsg(hsEncryptedExtensions, vec(2, ext(extALPN, vec(2, vec(1, []byte("http/1.1"))))))
		cert := hsMsg(11, bytes.Repeat([]byte{0xcc}, 20000)) // spans two records
		flight := append(append(ee, cert...), hsMsg(hsFinished, make([]byte, y.s.hashLen()))...)
		y.add(1, y.seal(1, recordHandshake, flight[:16000]))
		y.add(1, y.seal(1, recordHandshake, flight[16000:]))
		y.ep[1] = y.app[1]
		y.add(0, plainRecord(recordCCS, []byte{1}))
		y.add(0, y.seal(0, recordHandshake, hsMsg(hsFinished, make([]byte, y.s.hashLen()))))
		y.ep[0] = y.app[0]
		y.add(1, y.seal(1, recordHandshake, hsMsg(hsNewSessionTicket, make([]byte, 40))))
		return
	}
	var err error
	y.ep[0], y.ep[1], err = keys12(y.s, y.sec[secMaster], y.random[:], serverRandom[:])
	must(t, err)
	y.add(1, plainRecord(recordHandshake, append(hsMsg(11, make([]byte, 900)), hsMsg(14, nil)...)))
	y.add(0, plainRecord(recordHandshake, hsMsg(16, make([]byte, 33))))
	y.add(0, plainRecord(recordCCS, []byte{1}))
	y.add(0, y.seal(0, recordHandshake, hsMsg(hsFinished, make([]byte, 12))))
	y.add(1, plainRecord(recordCCS, []byte{1}))
	y.add(1, y.seal(1, recordHandshake, hsMsg(hsFinished, make([]byte, 12))))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// data writes an application data record.
func (y *synth) data(dir reassembly.Dir, p string) {
	y.add(dir, y.seal(dir, recordAppData, []byte(p)))
	y.sent[dir] = append(y.sent[dir], p...)
}

// keyUpdate writes a TLS 1.3 KeyUpdate of dir and moves to the next keys.
func (y *synth) keyUpdate(dir reassembly.Dir) {
	y.add(dir, y.seal(dir, recordHandshake, hsMsg(hsKeyUpdate, []byte{1})))
	must(y.t, y.ep[dir].update13())
}

func (y *synth) session() *session {
	return &session{writes: y.writes, sent: y.sent}
}

func TestSynthSuites(t *testing.T) {
	ids := []uint16{
		tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	for _, id := range ids {
		for _, hs := range []bool{true, false} {
			if !hs && suiteByID(id).kind != kind13 {
				continue
			}
			t.Run(fmt.Sprintf("%s/handshake secrets %v", tls.CipherSuiteName(id), hs), func(t *testing.T) {
				y := newSynth(t, id, 1)
				y.handshake()
				for i := range 5 {
					y.data(0, fmt.Sprintf("request %d", i))
					y.data(1, fmt.Sprintf("response %d %s", i, strings.Repeat("z", i*3000)))
					if i == 2 && y.s.kind == kind13 {
						y.keyUpdate(1)
						y.keyUpdate(0)
					}
				}
				y.add(1, y.seal(1, recordAlert, []byte{1, 0})) // close_notify
				s := y.session()
				for _, o := range []feedOpts{{}, {chunk: 3}, {coalesce: true}} {
					fc, _ := run(t, s, keysOf(t, y.keyLog(hs)), Options{}, o)
					info := fc.info(t)
					wantALPN := "http/1.1"
					if !hs || y.s.kind != kind13 {
						wantALPN = ""
					}
					if !info.Decrypted || info.Cipher != id || info.SNI != "synth.example" || info.ALPN != wantALPN {
						t.Errorf("info %+v", info)
					}
					if len(fc.errors) > 0 {
						t.Errorf("errors %q", fc.errors)
					}
					checkPlain(t, fc, s)
				}
			})
		}
	}
}

func TestVersionNames(t *testing.T) {
	tests := []struct {
		info       Info
		ver, suite string
	}{
		{Info{}, "", ""},
		{Info{Version: tls.VersionTLS10}, "1.0", ""},
		{Info{Version: tls.VersionTLS11}, "1.1", ""},
		{Info{Version: tls.VersionTLS12, Cipher: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, "1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		{Info{Version: tls.VersionTLS13, Cipher: tls.TLS_AES_128_GCM_SHA256}, "1.3", "TLS_AES_128_GCM_SHA256"},
	}
	for _, tt := range tests {
		if v, c := tt.info.VersionName(), tt.info.CipherName(); v != tt.ver || c != tt.suite {
			t.Errorf("%+v: %q %q, want %q %q", tt.info, v, c, tt.ver, tt.suite)
		}
	}
}
