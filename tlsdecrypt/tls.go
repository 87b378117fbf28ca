package tlsdecrypt

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"strconv"
	"time"

	"github.com/chatsniff/chatsniff/reassembly"
)

// Record content types (RFC 8446 5.1).
const (
	recordCCS       = 20
	recordAlert     = 21
	recordHandshake = 22
	recordAppData   = 23
)

// Record length limits: a record's length field is checked against them
// before anything is kept.
const (
	// maxPlaintext is the most plaintext a record carries (2^14).
	maxPlaintext = 16384
	// maxRecordLen13 is the TLS 1.3 TLSCiphertext limit (RFC 8446 5.2).
	maxRecordLen13 = maxPlaintext + 256
	// maxRecordLen12 is the TLS 1.2 TLSCiphertext limit (RFC 5246 6.2.3),
	// used too while the version is not yet known.
	maxRecordLen12 = maxPlaintext + 2048
)

// ResyncWindow is how many sequence numbers past the expected one a record
// is tried with after one failed authentication, or after a gap: the first
// that opens resumes decryption there.
const ResyncWindow = 64

// maxResyncSeqs bounds the sequence numbers a record found after a gap is
// tried with, however many records the gap may have held.
const maxResyncSeqs = 4 * ResyncWindow

// scanBudget is how many bytes of AEAD work (record bytes times the
// sequence numbers tried) each byte scanned while framing is lost may pay
// for: enough to try one record found with every sequence number of its
// window, and a bound on the work crafted bytes can cause.
const scanBudget = maxResyncSeqs + ResyncWindow + 2

// maxFailRun is how many records of a run of authentication failures are
// tried with the whole ResyncWindow; later ones only with the expected
// sequence number, so a wrong key costs one open per record.
const maxFailRun = 16

// tlsConn is the TLS state of a connection.
type tlsConn struct {
	info      Info
	reported  bool // TLS was called
	waiting   bool // for its key (Options.Wait)
	waitStart time.Time
	haveCH    bool // a ClientHello was read
	haveSH    bool // the ServerHello (not a HelloRetryRequest) was read
	keysKnown bool
	version   uint16
	s         *suite

	clientRandom [32]byte
	serverRandom [32]byte
	chSessionID  []byte
	chTicket     []byte
	shSessionID  []byte
	early        bool // the ClientHello offered 0-RTT data
	earlyWarned  bool
	ems          bool // extended_master_secret negotiated (TLS 1.2)
	master       [48]byte
	haveMaster   bool // master is the TLS 1.2 master secret

	dirs [2]tlsDir
}

// tlsDir is the TLS state of one direction.
type tlsDir struct {
	part []byte // a record split across Data calls; while lost, bytes scanned
	hs   hsReader
	ep   epoch // the record protection in use, once encrypted
	// next is what ep becomes: TLS 1.2, after change_cipher_spec; TLS 1.3,
	// the application traffic keys after the handshake's Finished.
	next      epoch
	encrypted bool // records are protected
	app       bool // TLS 1.3: ep holds the application traffic keys
	// probeApp: TLS 1.3 with only the traffic secrets: each record is tried
	// with the application key, sequence 0, until one opens.
	probeApp bool
	paused   bool // calls are held (key awaited, or the ServerHello)
	opened   bool // a record opened with ep
	failing  bool // in a run of authentication failures
	failRun  int
	lost     bool   // record framing lost (gap, bad header): scanning
	lostLo   uint64 // the first sequence number tried on a record found while lost
	lostN    int    // how many are tried
	budget   int    // AEAD work (bytes) the bytes scanned may still pay for
	records  uint64 // records read, for messages
	avg      int    // running average of record sizes
}

// feed reads bytes of dir as TLS records.
func (c *conn) feed(dir reassembly.Dir, b []byte, t time.Time) {
	tc := c.t
	d := &tc.dirs[dir]
	for len(b) > 0 && c.mode == modeTLS {
		if d.paused {
			if !c.hold(dir, b, false, 0, t) {
				c.holdOverflow(t)
			}
			break
		}
		if d.lost {
			b = c.scan(dir, d, b, t)
			continue
		}
		if len(d.part) > 0 || len(b) < 5 {
			if len(d.part) < 5 {
				n := min(5-len(d.part), len(b))
				d.part = append(d.part, b[:n]...)
				b = b[n:]
				if len(d.part) < 5 {
					break
				}
				if !c.checkHeader(dir, d, d.part, t) {
					d.part = d.part[:copy(d.part, d.part[1:])]
					c.loseFraming(dir, d, -1, t)
					continue
				}
			}
			need := 5 + recordLen(d.part) - len(d.part)
			n := min(need, len(b))
			if cap(d.part) < len(d.part)+need {
				d.part = append(c.h.getPart(), d.part...)
			}
			d.part = append(d.part, b[:n]...)
			b = b[n:]
			if n < need {
				break
			}
			if !c.record(dir, d, d.part, t) && !c.hold(dir, d.part, false, 0, t) {
				c.holdOverflow(t)
			}
			c.h.putPart(d.part)
			d.part = nil
			continue
		}
		if !c.checkHeader(dir, d, b, t) {
			c.loseFraming(dir, d, -1, t)
			b = b[1:]
			continue
		}
		n := 5 + recordLen(b)
		if len(b) < n {
			d.part = append(c.h.getPart(), b...)
			break
		}
		if !c.record(dir, d, b[:n], t) {
			continue // held from this record on
		}
		b = b[n:]
	}
	c.flush(dir, t)
}

func recordLen(h []byte) int { return int(h[3])<<8 | int(h[4]) }

// A record split across Data calls is gathered in a buffer of the largest
// record size, taken from the Handler's free list and given back once the
// record is whole: with thousands of connections, most of them between
// records at any time, this keeps their memory (and the garbage of buffers
// grown by appends) to the records actually in flight.
const (
	partSize     = 5 + maxRecordLen12
	maxFreeParts = 64
)

func (h *Handler) getPart() []byte {
	if n := len(h.freeParts); n > 0 {
		p := h.freeParts[n-1]
		h.freeParts = h.freeParts[:n-1]
		return p
	}
	return make([]byte, 0, partSize)
}

func (h *Handler) putPart(p []byte) {
	if cap(p) == partSize && len(h.freeParts) < maxFreeParts {
		h.freeParts = append(h.freeParts, p[:0])
	}
}

// limit returns the longest record the connection's version allows.
func (tc *tlsConn) limit() int {
	if tc.version == tls.VersionTLS13 {
		return maxRecordLen13
	}
	return maxRecordLen12
}

// checkHeader checks a record header, reporting one that is wrong.
func (c *conn) checkHeader(dir reassembly.Dir, d *tlsDir, h []byte, t time.Time) bool {
	n := recordLen(h)
	if n > c.t.limit() {
		c.tlsError(dir, "record of "+strconv.Itoa(n)+" bytes over the 16 KiB limit", t)
		return false
	}
	if h[0] < recordCCS || h[0] > recordAppData || h[1] != 3 {
		c.tlsError(dir, fmt.Sprintf("not a TLS record: header % x", h[:5]), t)
		return false
	}
	return true
}

// holdOverflow gives up on a connection whose held calls passed a bound.
func (c *conn) holdOverflow(t time.Time) {
	if c.t.waiting {
		c.noKey(t)
		return
	}
	c.fail("handshake not captured", t)
}

// record reads one whole record (header and body) of dir. It returns false
// when the record is to be held, unread, with what follows it.
func (c *conn) record(dir reassembly.Dir, d *tlsDir, rec []byte, t time.Time) bool {
	tc := c.t
	d.records++
	d.avg += (len(rec) - d.avg) / 8
	typ, body := rec[0], rec[5:]
	if d.encrypted {
		if tc.version == tls.VersionTLS13 {
			switch typ {
			case recordCCS:
				return true // middlebox compatibility (RFC 8446 D.4)
			case recordAlert:
				if len(body) == 2 { // an alert in the clear
					c.alert(dir, body, t)
					return true
				}
			case recordHandshake:
				return true // not after the ServerHello
			}
		}
		c.decrypt(dir, d, rec, t)
		return true
	}
	switch typ {
	case recordHandshake:
		if err := d.hs.feed(body, c, dir, t); err != nil {
			c.tlsError(dir, err.Error(), t)
		}
	case recordCCS:
		if tc.haveSH && tc.version != tls.VersionTLS13 && c.mode == modeTLS {
			// TLS 1.2: protected from the next record.
			d.ep = d.next
			d.encrypted = true
			d.hs.reset()
		}
		// Before the ServerHello: TLS 1.3 middlebox compatibility.
	case recordAlert:
		c.alert(dir, body, t)
	case recordAppData:
		if dir == reassembly.ClientToServer && !tc.haveSH {
			// Early data, or the server's hello delivered late: wait for it.
			d.paused = true
			return false
		}
	}
	return true
}

// decrypt opens a protected record and reads its plaintext.
func (c *conn) decrypt(dir reassembly.Dir, d *tlsDir, rec []byte, t time.Time) {
	h := c.h
	c.outTo(dir, t)
	start := len(h.out)
	if d.probeApp {
		out, ok := d.ep.open(h.out, rec, 0)
		if !ok {
			return // a record of the handshake, whose keys are not known
		}
		d.probeApp = false
		d.ep.seq = 1
		c.plaintext(dir, d, rec[0], start, out, t)
		return
	}
	seq := d.ep.seq
	out, ok := d.ep.open(h.out, rec, seq)
	if !ok && d.failing {
		n := 1
		if d.failRun < maxFailRun {
			n = ResyncWindow + 1
		}
		out, seq, ok = c.openWindow(&d.ep, rec, seq, n)
	}
	if ok {
		d.ep.seq = seq + 1
		d.failing = false
		d.failRun = 0
		c.plaintext(dir, d, rec[0], start, out, t)
		return
	}
	tc := c.t
	if dir == reassembly.ClientToServer && tc.version == tls.VersionTLS13 && !d.app && !d.opened && tc.early {
		// 0-RTT data, under keys that are not supported: skipped.
		if !tc.earlyWarned {
			tc.earlyWarned = true
			c.tlsError(dir, "early data (0-RTT) not decrypted: not supported", t)
		}
		return
	}
	h.stats.AuthFailures++
	d.ep.seq++
	d.failRun++
	if d.failing {
		return
	}
	d.failing = true
	c.tlsError(dir, "record "+strconv.FormatUint(d.records, 10)+" failed authentication (wrong key or damaged)", t)
	c.passGap(dir, t)
}

// openWindow tries rec with n sequence numbers from lo, returning the
// plaintext appended to Handler.out and the number that opened it.
func (c *conn) openWindow(e *epoch, rec []byte, lo uint64, n int) (out []byte, seq uint64, ok bool) {
	h := c.h
	if e.s.kind == kind12GCM && len(rec) >= 13 {
		// The explicit nonce is the sequence number in every common stack.
		s := uint64(0)
		for _, b := range rec[5:13] {
			s = s<<8 | uint64(b)
		}
		if s >= lo && s-lo < 1<<32 {
			if out, ok := e.open(h.out, rec, s); ok {
				return out, s, true
			}
		}
	}
	for i := range uint64(n) {
		if out, ok := e.open(h.out, rec, lo+i); ok {
			return out, lo + i, true
		}
	}
	return h.out, 0, false
}

// plaintext reads the plaintext of a record that opened: out is
// Handler.out with it appended from start.
func (c *conn) plaintext(dir reassembly.Dir, d *tlsDir, typ uint8, start int, out []byte, t time.Time) {
	h := c.h
	h.stats.Records++
	d.opened = true
	content := out[start:]
	if c.t.version == tls.VersionTLS13 {
		var ok bool
		content, typ, ok = innerType(content)
		if !ok {
			h.out = out[:start]
			c.tlsError(dir, "record "+strconv.FormatUint(d.records, 10)+" has no content type", t)
			return
		}
	}
	switch typ {
	case recordAppData:
		h.out = out[:start+len(content)]
		if len(h.out) >= MaxBatch {
			c.flush(dir, t)
		}
		return
	}
	// Not passed on. content stays valid in out's spare capacity: nothing
	// appends to Handler.out while it is read.
	h.out = out[:start]
	switch typ {
	case recordHandshake:
		if err := d.hs.feed(content, c, dir, t); err != nil {
			c.tlsError(dir, err.Error(), t)
		}
	case recordAlert:
		c.alert(dir, content, t)
	}
}

// outTo readies Handler.out for plaintext of dir, flushing that of the
// other direction.
func (c *conn) outTo(dir reassembly.Dir, t time.Time) {
	if h := c.h; h.outDir != dir {
		c.flush(dir, t)
		h.outDir = dir
	}
}

// flush hands the plaintext batched in Handler.out to the inner Conn. It
// is always plaintext of this connection, of direction Handler.outDir:
// every call that batches flushes before it returns.
func (c *conn) flush(_ reassembly.Dir, t time.Time) {
	h := c.h
	if len(h.out) == 0 {
		return
	}
	c.report(t)
	c.inner.Data(h.outDir, h.out, t)
	h.out = h.out[:0]
}

// passGap tells the inner Conn that plaintext of dir was lost.
func (c *conn) passGap(dir reassembly.Dir, t time.Time) {
	c.flush(dir, t)
	if c.t.info.Decrypted {
		c.report(t)
		c.inner.Gap(dir, -1, t)
	}
}

// tlsError reports a problem of dir to the inner Conn.
func (c *conn) tlsError(dir reassembly.Dir, msg string, t time.Time) {
	c.flush(dir, t)
	if c.tlsInner != nil {
		c.tlsInner.TLSError(dir, msg, t)
	}
}

// report calls TLS, once.
func (c *conn) report(t time.Time) {
	tc := c.t
	if tc.reported {
		return
	}
	tc.reported = true
	if c.tlsInner != nil {
		c.tlsInner.TLS(tc.info, t)
	}
}

// fail gives up decrypting the connection for reason: it is reported, and
// its bytes are dropped from now on.
func (c *conn) fail(reason string, t time.Time) {
	tc := c.t
	tc.info.Decrypted = false
	tc.info.Reason = reason
	tc.waiting = false
	c.mode = modeDrop
	c.dropHolds()
	for i := range tc.dirs {
		tc.dirs[i] = tlsDir{}
	}
	c.report(t)
}

// noKey gives up on a connection whose keys are not in the key log.
func (c *conn) noKey(t time.Time) {
	if c.h.keys == nil {
		c.fail("no key log given", t)
		return
	}
	c.fail("no key for its client random in the key log", t)
}

// alertNames names the alerts most often seen (RFC 8446 6).
var alertNames = map[uint8]string{
	10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
	42: "bad_certificate", 45: "certificate_expired", 46: "certificate_unknown",
	47: "illegal_parameter", 48: "unknown_ca", 50: "decode_error", 51: "decrypt_error",
	70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	90: "user_canceled", 109: "missing_extension", 112: "unrecognized_name",
	116: "certificate_required", 120: "no_application_protocol",
}

// alert reads an alert's body: a fatal one is reported.
func (c *conn) alert(dir reassembly.Dir, body []byte, t time.Time) {
	if len(body) < 2 || body[1] == 0 || body[0] != 2 {
		return // close_notify, or a warning
	}
	name := alertNames[body[1]]
	if name == "" {
		name = strconv.Itoa(int(body[1]))
	}
	c.tlsError(dir, "fatal alert "+name, t)
}

// keepHandshake says whether the body of a handshake message of typ is kept
// to be parsed.
func (c *conn) keepHandshake(dir reassembly.Dir, typ uint8) bool {
	switch typ {
	case hsClientHello:
		return dir == reassembly.ClientToServer
	case hsServerHello, hsEncryptedExtensions:
		return dir == reassembly.ServerToClient
	case hsNewSessionTicket:
		return dir == reassembly.ServerToClient && c.t.version == tls.VersionTLS12 && c.t.haveMaster
	}
	return false
}

// handshake reads one handshake message of dir; body is nil unless
// keepHandshake kept it.
func (c *conn) handshake(dir reassembly.Dir, typ uint8, body []byte, t time.Time) {
	tc := c.t
	if c.mode != modeTLS {
		return
	}
	d := &tc.dirs[dir]
	switch typ {
	case hsClientHello:
		if body == nil || tc.haveSH {
			return
		}
		ch, err := parseClientHello(body)
		if err != nil {
			c.tlsError(dir, "malformed ClientHello: "+err.Error(), t)
			if !tc.haveCH {
				c.fail("malformed ClientHello", t)
			}
			return
		}
		tc.haveCH = true
		tc.clientRandom = ch.random
		tc.chSessionID = append(tc.chSessionID[:0], ch.sessionID...)
		tc.chTicket = append(tc.chTicket[:0], ch.ticket...)
		tc.early = ch.early
		tc.info.SNI = ch.sni
	case hsServerHello:
		if body == nil || tc.haveSH {
			return
		}
		sh, err := parseServerHello(body)
		if err != nil {
			c.tlsError(dir, "malformed ServerHello: "+err.Error(), t)
			c.fail("malformed ServerHello", t)
			return
		}
		tc.info.Version = sh.version
		tc.info.Cipher = sh.cipher
		if sh.random == helloRetryRandom {
			return // a HelloRetryRequest: the ClientHello comes again
		}
		c.serverHello(&sh, t)
	case hsEncryptedExtensions:
		if body == nil || tc.version != tls.VersionTLS13 || !d.encrypted {
			return
		}
		alpn, _, err := parseEncryptedExtensions(body)
		if err != nil {
			c.tlsError(dir, "malformed EncryptedExtensions: "+err.Error(), t)
		}
		tc.info.ALPN = alpn
		c.report(t)
	case hsFinished:
		if tc.version == tls.VersionTLS13 && d.encrypted && !d.app {
			d.ep = d.next
			d.app = true
			d.opened = false
			d.hs.reset()
			if dir == reassembly.ServerToClient {
				c.report(t)
			}
		}
	case hsKeyUpdate:
		if tc.version == tls.VersionTLS13 && d.app {
			if err := d.ep.update13(); err != nil {
				c.tlsError(dir, "KeyUpdate: "+err.Error(), t)
			}
		}
	case hsNewSessionTicket:
		if body == nil {
			return
		}
		if ticket, err := parseTicket12(body); err == nil {
			c.h.remember(&c.h.tickets, ticket, &tc.master)
		}
	}
}

// serverHello sets the connection up from its ServerHello.
func (c *conn) serverHello(sh *serverHello, t time.Time) {
	tc := c.t
	tc.haveSH = true
	tc.version = sh.version
	tc.serverRandom = sh.random
	tc.shSessionID = append(tc.shSessionID[:0], sh.sessionID...)
	tc.ems = sh.ems
	if sh.version != tls.VersionTLS13 {
		tc.info.ALPN = sh.alpn
	}
	if !tc.haveCH {
		c.fail("handshake not captured", t)
		return
	}
	switch {
	case sh.version < tls.VersionTLS10 || sh.version > tls.VersionTLS13:
		c.fail(fmt.Sprintf("version %#04x not supported", sh.version), t)
		return
	}
	s := suiteByID(sh.cipher)
	if s == nil {
		c.fail("cipher suite "+tls.CipherSuiteName(sh.cipher)+" not supported", t)
		return
	}
	if (s.kind == kind13) != (sh.version == tls.VersionTLS13) {
		c.fail("cipher suite "+tls.CipherSuiteName(sh.cipher)+" not valid in TLS "+tc.info.VersionName(), t)
		return
	}
	tc.s = s
	if sh.version == tls.VersionTLS13 {
		tc.dirs[0].encrypted = true
		tc.dirs[1].encrypted = true
	}
	if c.lookupKeys(t) {
		return
	}
	if c.h.opts.Wait > 0 && c.h.keys != nil {
		tc.waiting = true
		tc.waitStart = t
		tc.dirs[0].paused = true
		tc.dirs[1].paused = true
		return
	}
	c.noKey(t)
}

// checkWait looks for the key of a waiting connection again, or gives up
// once the wait is over.
func (c *conn) checkWait(t time.Time) {
	if t.Sub(c.t.waitStart) > c.h.opts.Wait {
		c.noKey(t)
		return
	}
	c.h.keys.Refresh()
	c.lookupKeys(t)
}

// lookupKeys sets the connection's keys up when the key log has them,
// reading any calls held while they were awaited.
func (c *conn) lookupKeys(t time.Time) bool {
	tc := c.t
	h := c.h
	sec := h.keys.lookup(&tc.clientRandom)
	cl, sv := &tc.dirs[reassembly.ClientToServer], &tc.dirs[reassembly.ServerToClient]
	if tc.version == tls.VersionTLS13 {
		hl := tc.s.hashLen()
		fits := func(i int) bool { return sec.has(i) && int(sec.s[i].n) == hl }
		if !fits(secClientApp) || !fits(secServerApp) {
			return false
		}
		if err := cl.next.set13(tc.s, sec.s[secClientApp].bytes()); err != nil {
			return false
		}
		if err := sv.next.set13(tc.s, sec.s[secServerApp].bytes()); err != nil {
			return false
		}
		if fits(secClientHS) && fits(secServerHS) {
			if cl.ep.set13(tc.s, sec.s[secClientHS].bytes()) != nil || sv.ep.set13(tc.s, sec.s[secServerHS].bytes()) != nil {
				return false
			}
		} else {
			// No handshake secrets: the handshake is skipped.
			for _, d := range []*tlsDir{cl, sv} {
				d.ep, d.app, d.probeApp = d.next, true, true
			}
		}
	} else {
		switch {
		case sec.has(secMaster):
			copy(tc.master[:], sec.s[secMaster].bytes())
		default:
			m, ok := h.recall(h.tickets, tc.chTicket)
			if !ok && bytes.Equal(tc.shSessionID, tc.chSessionID) {
				m, ok = h.recall(h.sessions, tc.shSessionID)
			}
			if !ok {
				return false
			}
			tc.master = m
		}
		ce, se, err := keys12(tc.s, tc.master[:], tc.clientRandom[:], tc.serverRandom[:])
		if err != nil {
			return false
		}
		cl.next, sv.next = ce, se
		tc.haveMaster = true
		h.remember(&h.sessions, tc.shSessionID, &tc.master)
	}
	if sec != nil {
		h.keys.markUsed(sec)
	}
	h.stats.Decrypted++
	tc.keysKnown = true
	tc.info.Decrypted = true
	if tc.version != tls.VersionTLS13 || cl.probeApp {
		c.report(t) // TLS 1.3 with a handshake to read reports after EncryptedExtensions
	}
	if tc.waiting || cl.paused {
		tc.waiting = false
		cl.paused, sv.paused = false, false
		c.replay()
	}
	return true
}

// helloSeen says whether dir's hello was read.
func (tc *tlsConn) helloSeen(dir reassembly.Dir) bool {
	if dir == reassembly.ClientToServer {
		return tc.haveCH
	}
	return tc.haveSH
}

// gap reads a reassembly gap of dir.
func (c *conn) gap(dir reassembly.Dir, n int, t time.Time) {
	tc := c.t
	if c.mode != modeTLS {
		return
	}
	d := &tc.dirs[dir]
	if d.paused {
		if !c.hold(dir, nil, true, n, t) {
			c.holdOverflow(t)
		}
		return
	}
	if !tc.helloSeen(dir) {
		c.fail("handshake not captured", t)
		return
	}
	d.part = d.part[:0]
	c.loseFraming(dir, d, n, t)
}

// loseFraming makes dir look for a record to resume at, n bytes (n < 0:
// an unknown number) having been lost.
func (c *conn) loseFraming(dir reassembly.Dir, d *tlsDir, n int, t time.Time) {
	tc := c.t
	if !tc.helloSeen(dir) {
		c.fail("malformed handshake", t)
		return
	}
	if !d.lost {
		c.passGap(dir, t)
	}
	d.lost = true
	d.failing = false
	d.hs.reset()
	d.lostLo, d.lostN = d.ep.seq, ResyncWindow
	if n > 0 {
		least := uint64(n / (maxRecordLen12 + 5))
		avg := max(d.avg, 22)
		most := uint64(n/avg) + ResyncWindow
		d.lostLo += least
		d.lostN = int(min(most-least, maxResyncSeqs))
	}
}

// maxScan is the most bytes kept while looking for a record to resume at:
// a whole record and the header after it.
const maxScan = maxRecordLen12 + 10

// scan reads bytes of a direction whose framing is lost, looking for a
// record that opens; it returns the bytes it did not take.
func (c *conn) scan(dir reassembly.Dir, d *tlsDir, b []byte, t time.Time) []byte {
	n := min(maxScan-len(d.part), len(b))
	d.part = append(d.part, b[:n]...)
	b = b[n:]
	d.budget = min(d.budget+n*scanBudget, maxScan*scanBudget)
	p := d.part
	limit := c.t.limit()
	i := 0
	for ; i+5 <= len(p); i++ {
		j := bytes.IndexByte(p[i:], recordAppData)
		ccs := false
		if !d.encrypted {
			if k := bytes.Index(p[i:], []byte{recordCCS, 3, 3, 0, 1, 1}); k >= 0 && (j < 0 || k < j) {
				j, ccs = k, true
			}
		}
		if j < 0 {
			i = len(p)
			break
		}
		i += j
		if i+5 > len(p) {
			break
		}
		h := p[i:]
		if !ccs && (h[1] != 3 || h[2] != 3 || recordLen(h) < 17 || recordLen(h) > limit) {
			continue
		}
		end := i + 5 + recordLen(h)
		if end > len(p) {
			break // wait for the rest of it
		}
		if nx := p[end:]; len(nx) >= 5 && (nx[0] < recordCCS || nx[0] > recordAppData || nx[1] != 3 || recordLen(nx) > limit) {
			continue // the next header does not line up
		}
		if c.resync(dir, d, p[i:end], ccs, t) {
			rest := bytes.Clone(p[end:])
			d.part = d.part[:0]
			d.lost = false
			if c.mode == modeTLS {
				c.feedMore(dir, rest, t)
			}
			return b
		}
	}
	i = min(i, len(p))
	d.part = d.part[:copy(d.part, p[i:])]
	return b
}

// feedMore reads bytes of dir in the middle of a feed call.
func (c *conn) feedMore(dir reassembly.Dir, b []byte, t time.Time) {
	if len(b) > 0 {
		c.feed(dir, b, t)
	}
}

// resync tries a record found while dir's framing is lost.
func (c *conn) resync(dir reassembly.Dir, d *tlsDir, rec []byte, ccs bool, t time.Time) bool {
	tc := c.t
	if ccs {
		c.record(dir, d, rec, t)
		return true
	}
	if !tc.keysKnown {
		return false
	}
	if !d.encrypted {
		if tc.version == tls.VersionTLS13 {
			return false
		}
		// TLS 1.2 whose change_cipher_spec was lost.
		d.ep, d.encrypted = d.next, true
		d.lostLo, d.lostN = 0, ResyncWindow
	}
	c.outTo(dir, t)
	start := len(c.h.out)
	e := &d.ep
	tries := min(d.lostN, d.budget/len(rec)-1)
	if tries <= 0 {
		return false // too much work for the bytes scanned
	}
	d.budget -= (tries + 1) * len(rec)
	out, seq, ok := c.openWindow(e, rec, d.lostLo, tries)
	if !ok && tc.version == tls.VersionTLS13 && !d.app && d.budget >= ResyncWindow*len(rec) {
		// The handshake's end may have been lost too.
		d.budget -= ResyncWindow * len(rec)
		out, seq, ok = c.openWindow(&d.next, rec, 0, ResyncWindow)
		if ok {
			d.ep, d.app = d.next, true
		}
	}
	if !ok {
		return false
	}
	d.ep.seq = seq + 1
	d.probeApp = false
	d.records++
	c.plaintext(dir, d, rec[0], start, out, t)
	return true
}
