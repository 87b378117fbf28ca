package tlsdecrypt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
)

// MaxKeyLogLine is the longest key log line read, its line ending not
// counted. The longest valid line (a 31-byte label, a 64-digit random and a
// 96-digit secret) is under 200 bytes; a longer line is malformed and is
// skipped to its newline without being kept.
const MaxKeyLogLine = 1024

// MaxKeyLogRandoms bounds the client randoms a KeyLog holds secrets for
// (each costs about 300 bytes). Lines for further randoms are dropped, with
// one warning.
const MaxKeyLogRandoms = 1 << 20

// MaxKeyLogWarnings bounds the warnings a KeyLog keeps between two calls of
// Warnings; past it, malformed lines are only counted.
const MaxKeyLogWarnings = 100

// refreshChunk is how many bytes Refresh reads from a followed file at a
// time.
const refreshChunk = 32 << 10

// Key log labels of the NSS key log format.
const (
	labelClientRandom    = "CLIENT_RANDOM"
	labelClientHandshake = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	labelServerHandshake = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	labelClientTraffic   = "CLIENT_TRAFFIC_SECRET_0"
	labelServerTraffic   = "SERVER_TRAFFIC_SECRET_0"
)

// Which secret of a connection a line gives, as an index into secrets.s.
const (
	secMaster = iota // CLIENT_RANDOM: the TLS 1.2 master secret
	secClientHS
	secServerHS
	secClientApp
	secServerApp
	numSecrets
)

// secret is one secret of up to 48 bytes (SHA-384's size).
type secret struct {
	b [48]byte
	n uint8 // 0: absent
}

func (s *secret) bytes() []byte { return s.b[:s.n] }

// secrets are those logged for one client random.
type secrets struct {
	s    [numSecrets]secret
	used bool // matched to a connection
}

func (s *secrets) has(i int) bool { return s != nil && s.s[i].n > 0 }

// KeyLog holds TLS secrets, indexed by the 32-byte client random of the
// connection they belong to, read from NSS key log files (SSLKEYLOGFILE)
// and pcapng Decryption Secrets Blocks. It is not safe for concurrent use:
// the packet loop's one goroutine reads and uses it.
type KeyLog struct {
	m        map[[32]byte]*secrets
	used     int
	warnings []string
	dropped  int  // warnings past MaxKeyLogWarnings
	full     bool // MaxKeyLogRandoms was reached and warned about

	// follow is the file Follow reads from, nil when not following.
	follow *followed
}

// followed is a key log file read as it grows.
type followed struct {
	name   string
	off    int64 // bytes of the file read so far
	lines  lineReader
	warned bool // a read error was reported; cleared by a good read
	buf    []byte
}

// NewKeyLog returns an empty KeyLog.
func NewKeyLog() *KeyLog {
	return &KeyLog{m: make(map[[32]byte]*secrets)}
}

// KeyStats counts the client randoms of a KeyLog.
type KeyStats struct {
	Read int // distinct client randoms with at least one secret
	Used int // those matched to a connection
}

// Stats returns the counts of randoms read and used.
func (k *KeyLog) Stats() KeyStats { return KeyStats{Read: len(k.m), Used: k.used} }

// Warnings returns the warnings since the last call, each malformed line
// once, as "keys.log: line 3: ...", and forgets them.
func (k *KeyLog) Warnings() []string {
	w := k.warnings
	if k.dropped > 0 {
		w = append(w, fmt.Sprintf("%d more malformed key log lines", k.dropped))
	}
	k.warnings, k.dropped = nil, 0
	return w
}

func (k *KeyLog) warn(msg string) {
	if len(k.warnings) >= MaxKeyLogWarnings {
		k.dropped++
		return
	}
	k.warnings = append(k.warnings, msg)
}

// Read reads a key log in the NSS format from r, name being what warnings
// call it. Malformed lines are warnings (see Warnings); the error is only
// r's read error.
func (k *KeyLog) Read(r io.Reader, name string) error {
	lr := lineReader{name: name}
	buf := make([]byte, refreshChunk)
	for {
		n, err := r.Read(buf)
		lr.feed(k, buf[:n])
		if err == io.EOF {
			lr.finish(k)
			return nil
		}
		if err != nil {
			lr.finish(k)
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
}

// ReadFile reads the key log file name, as Read does. Its error is one line
// naming the file.
func (k *KeyLog) ReadFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return openError(name, err)
	}
	defer f.Close()
	return k.Read(f, name)
}

// openError words a failure to open a key log file.
func openError(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("key log %s: no such file", name)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("key log %s: permission denied", name)
	}
	return fmt.Errorf("key log %s: %w", name, err)
}

// Follow reads the key log file name as ReadFile does, and remembers it:
// Refresh then reads the lines appended since, for a live capture whose
// browser writes keys as it makes connections. A last line without its
// newline waits for it.
func (k *KeyLog) Follow(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return openError(name, err)
	}
	defer f.Close()
	k.follow = &followed{name: name, lines: lineReader{name: name}}
	return k.readFollowed(f)
}

// Refresh reads what was appended to the followed file since the last read.
// It does nothing unless Follow was called, and costs a stat when the file
// has not grown. A read error is reported once, as a warning. A file that
// shrank (truncated, rewritten) is read again from its start.
func (k *KeyLog) Refresh() {
	fl := k.follow
	if fl == nil {
		return
	}
	st, err := os.Stat(fl.name)
	if err != nil {
		k.refreshFailed(err)
		return
	}
	if st.Size() == fl.off {
		return
	}
	if st.Size() < fl.off {
		fl.off = 0
		fl.lines = lineReader{name: fl.name}
	}
	f, err := os.Open(fl.name)
	if err != nil {
		k.refreshFailed(err)
		return
	}
	defer f.Close()
	if err := k.readFollowed(f); err != nil {
		k.refreshFailed(err)
	}
}

func (k *KeyLog) refreshFailed(err error) {
	if k.follow.warned {
		return
	}
	k.follow.warned = true
	k.warn(fmt.Sprintf("%s: %v (keys written later are not read)", k.follow.name, err))
}

// readFollowed reads the followed file f from its offset to its end.
func (k *KeyLog) readFollowed(f *os.File) error {
	fl := k.follow
	if fl.buf == nil {
		fl.buf = make([]byte, refreshChunk)
	}
	for {
		n, err := f.ReadAt(fl.buf, fl.off)
		fl.off += int64(n)
		fl.lines.feed(k, fl.buf[:n])
		if err == io.EOF {
			fl.warned = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", fl.name, err)
		}
	}
}

// AddSecrets adds the key log text of a pcapng Decryption Secrets Block,
// source being what warnings call it.
func (k *KeyLog) AddSecrets(data []byte, source string) {
	lr := lineReader{name: source}
	lr.feed(k, data)
	lr.finish(k)
}

// lookup returns the secrets logged for random, nil when none.
func (k *KeyLog) lookup(random *[32]byte) *secrets {
	if k == nil {
		return nil
	}
	return k.m[*random]
}

// markUsed counts s as matched to a connection.
func (k *KeyLog) markUsed(s *secrets) {
	if !s.used {
		s.used = true
		k.used++
	}
}

// lineReader splits a key log into lines as its bytes come, keeping at
// most MaxKeyLogLine bytes of a line.
type lineReader struct {
	name    string
	line    int    // number of the line being read, from 1
	part    []byte // the start of the line being read
	tooLong bool   // the line being read is over MaxKeyLogLine: skip to its end
}

// feed reads b, parsing each line it completes.
func (lr *lineReader) feed(k *KeyLog, b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lr.keep(b)
			return
		}
		lr.keep(b[:i])
		lr.end(k)
		b = b[i+1:]
	}
}

// keep adds b to the line being read.
func (lr *lineReader) keep(b []byte) {
	if lr.tooLong {
		return
	}
	if len(lr.part)+len(b) > MaxKeyLogLine+1 { // +1: a '\r' before the '\n'
		lr.tooLong = true
		lr.part = lr.part[:0]
		return
	}
	lr.part = append(lr.part, b...)
}

// finish parses a last line that has no newline.
func (lr *lineReader) finish(k *KeyLog) {
	if len(lr.part) > 0 || lr.tooLong {
		lr.end(k)
	}
}

// end parses the line read and starts the next.
func (lr *lineReader) end(k *KeyLog) {
	lr.line++
	line := lr.part
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if lr.tooLong || len(line) > MaxKeyLogLine {
		k.warn(fmt.Sprintf("%s: line %d: longer than %d bytes", lr.name, lr.line, MaxKeyLogLine))
	} else if msg := k.parseLine(line); msg != "" {
		k.warn(lr.name + ": line " + strconv.Itoa(lr.line) + ": " + msg)
	}
	lr.part = lr.part[:0]
	lr.tooLong = false
}

// parseLine adds the secret of one line (without its line ending) and
// returns what is wrong with it, "" when nothing.
func (k *KeyLog) parseLine(line []byte) string {
	var f [4][]byte
	n := 0
	for _, w := range bytes.Fields(line) {
		if n == len(f) {
			n++
			break
		}
		f[n] = w
		n++
	}
	if n == 0 || f[0][0] == '#' {
		return ""
	}
	label := string(f[0]) // no allocation: compared only
	which, size := -1, ""
	switch label {
	case labelClientRandom:
		which, size = secMaster, "a 48-byte"
	case labelClientHandshake:
		which, size = secClientHS, "a 32- or 48-byte"
	case labelServerHandshake:
		which, size = secServerHS, "a 32- or 48-byte"
	case labelClientTraffic:
		which, size = secClientApp, "a 32- or 48-byte"
	case labelServerTraffic:
		which, size = secServerApp, "a 32- or 48-byte"
	default:
		return "" // EXPORTER_SECRET, CLIENT_EARLY_TRAFFIC_SECRET, RSA, ...
	}
	bad := label + " needs a 32-byte random and " + size + " secret in hex"
	if n != 3 {
		return bad
	}
	var random [32]byte
	var sec secret
	if hex.DecodedLen(len(f[1])) != 32 || len(f[2])%2 != 0 {
		return bad
	}
	sl := hex.DecodedLen(len(f[2]))
	if which == secMaster && sl != 48 || which != secMaster && sl != 32 && sl != 48 {
		return bad
	}
	if _, err := hex.Decode(random[:], f[1]); err != nil {
		return bad
	}
	if _, err := hex.Decode(sec.b[:sl], f[2]); err != nil {
		return bad
	}
	sec.n = uint8(sl)
	s := k.m[random]
	if s == nil {
		if len(k.m) >= MaxKeyLogRandoms {
			if !k.full {
				k.full = true
				k.warn(fmt.Sprintf("key log: more than %d client randoms; the rest are ignored", MaxKeyLogRandoms))
			}
			return ""
		}
		s = new(secrets)
		k.m[random] = s
	}
	s.s[which] = sec
	return ""
}
