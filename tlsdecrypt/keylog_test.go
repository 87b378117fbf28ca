package tlsdecrypt

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var (
	hexRandom = strings.Repeat("ab", 32)
	hex48     = strings.Repeat("01", 48)
	hex32     = strings.Repeat("02", 32)
)

func TestKeyLogLines(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		which int    // the secret expected for hexRandom, -1: none
		warn  string // the warning expected, "" none
	}{
		{"client random", "CLIENT_RANDOM " + hexRandom + " " + hex48, secMaster, ""},
		{"upper case hex", "CLIENT_RANDOM " + strings.ToUpper(strings.Repeat("ab", 32)) + " " + hex48, secMaster, ""},
		{"tabs and spaces", "CLIENT_RANDOM\t" + hexRandom + "   " + hex48, secMaster, ""},
		{"crlf", "CLIENT_RANDOM " + hexRandom + " " + hex48 + "\r", secMaster, ""},
		{"client hs 32", "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + hexRandom + " " + hex32, secClientHS, ""},
		{"server hs 48", "SERVER_HANDSHAKE_TRAFFIC_SECRET " + hexRandom + " " + hex48, secServerHS, ""},
		{"client app", "CLIENT_TRAFFIC_SECRET_0 " + hexRandom + " " + hex32, secClientApp, ""},
		{"server app", "SERVER_TRAFFIC_SECRET_0 " + hexRandom + " " + hex32, secServerApp, ""},
		{"comment", "# CLIENT_RANDOM " + hexRandom + " " + hex48, -1, ""},
		{"blank", "", -1, ""},
		{"spaces only", "   \r", -1, ""},
		{"exporter ignored", "EXPORTER_SECRET " + hexRandom + " " + hex32, -1, ""},
		{"early ignored", "CLIENT_EARLY_TRAFFIC_SECRET " + hexRandom + " " + hex32, -1, ""},
		{"rsa ignored", "RSA 0123456789abcdef " + hex48, -1, ""},
		{"master 32 bytes", "CLIENT_RANDOM " + hexRandom + " " + hex32, -1,
			"k: line 1: CLIENT_RANDOM needs a 32-byte random and a 48-byte secret in hex"},
		{"traffic 40 bytes", "SERVER_TRAFFIC_SECRET_0 " + hexRandom + " " + strings.Repeat("aa", 40), -1,
			"k: line 1: SERVER_TRAFFIC_SECRET_0 needs a 32-byte random and a 32- or 48-byte secret in hex"},
		{"bad hex", "CLIENT_RANDOM " + hexRandom + " " + strings.Repeat("zz", 48), -1,
			"k: line 1: CLIENT_RANDOM needs a 32-byte random and a 48-byte secret in hex"},
		{"odd hex", "CLIENT_RANDOM " + hexRandom + " " + hex48 + "0", -1,
			"k: line 1: CLIENT_RANDOM needs a 32-byte random and a 48-byte secret in hex"},
		{"short random", "CLIENT_RANDOM abcd " + hex48, -1,
			"k: line 1: CLIENT_RANDOM needs a 32-byte random and a 48-byte secret in hex"},
		{"too few fields", "CLIENT_RANDOM " + hexRandom, -1,
			"k: line 1: CLIENT_RANDOM needs a 32-byte random and a 48-byte secret in hex"},
		{"too many fields", "CLIENT_RANDOM " + hexRandom + " " + hex48 + " x", -1,
			"k: line 1: CLIENT_RANDOM needs a 32-byte random and a 48-byte secret in hex"},
		{"overlong", "CLIENT_RANDOM " + hexRandom + " " + strings.Repeat("0", 2000), -1,
			"k: line 1: longer than 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKeyLog()
			if err := k.Read(strings.NewReader(tt.line+"\n"), "k"); err != nil {
				t.Fatal(err)
			}
			w := k.Warnings()
			switch {
			case tt.warn == "" && len(w) != 0:
				t.Errorf("warnings %q, want none", w)
			case tt.warn != "" && (len(w) != 1 || w[0] != tt.warn):
				t.Errorf("warnings %q, want %q", w, tt.warn)
			}
			var r [32]byte
			for i := range r {
				r[i] = 0xab
			}
			s := k.lookup(&r)
			for i := range numSecrets {
				if got, want := s.has(i), i == tt.which; got != want {
					t.Errorf("secret %d present: %v, want %v", i, got, want)
				}
			}
			if tt.which >= 0 && k.Stats().Read != 1 {
				t.Errorf("Stats().Read = %d, want 1", k.Stats().Read)
			}
		})
	}
}

func TestKeyLogLineNumbers(t *testing.T) {
	log := "# a comment\r\n" +
		"CLIENT_RANDOM " + hexRandom + " " + hex48 + "\r\n" +
		"CLIENT_RANDOM nothex " + hex48 + "\r\n" +
		"\n" +
		strings.Repeat("x", 5000) + "\n" +
		"SERVER_TRAFFIC_SECRET_0 " + strings.Repeat("cd", 32) + " " + hex32 + "\n" +
		"CLIENT_TRAFFIC_SECRET_0 " + strings.Repeat("cd", 32) // no newline at the end
	k := NewKeyLog()
	// One byte per read: lines split at every place.
	if err := k.Read(iotest.OneByteReader(strings.NewReader(log)), "keys.log"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"keys.log: line 3: CLIENT_RANDOM needs a 32-byte random and a 48-byte secret in hex",
		"keys.log: line 5: longer than 1024 bytes",
		"keys.log: line 7: CLIENT_TRAFFIC_SECRET_0 needs a 32-byte random and a 32- or 48-byte secret in hex",
	}
	if got := k.Warnings(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := k.Warnings(); len(got) != 0 {
		t.Errorf("warnings not drained: %q", got)
	}
	if st := k.Stats(); st.Read != 2 || st.Used != 0 {
		t.Errorf("Stats = %+v, want 2 read, 0 used", st)
	}
}

func TestKeyLogReadFileMissing(t *testing.T) {
	k := NewKeyLog()
	name := filepath.Join(t.TempDir(), "nope.log")
	err := k.ReadFile(name)
	if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "\n") {
		t.Errorf("ReadFile of a missing file: %v, want one line naming it", err)
	}
	if err := k.Follow(name); err == nil {
		t.Error("Follow of a missing file: no error")
	}
}

func TestKeyLogFollow(t *testing.T) {
	name := filepath.Join(t.TempDir(), "keys.log")
	line := func(label, random, sec string) string { return label + " " + random + " " + sec + "\n" }
	r1, r2, r3 := strings.Repeat("11", 32), strings.Repeat("22", 32), strings.Repeat("33", 32)
	if err := os.WriteFile(name, []byte(line("CLIENT_RANDOM", r1, hex48)), 0o600); err != nil {
		t.Fatal(err)
	}
	k := NewKeyLog()
	if err := k.Follow(name); err != nil {
		t.Fatal(err)
	}
	if got := k.Stats().Read; got != 1 {
		t.Fatalf("after Follow: %d randoms, want 1", got)
	}
	k.Refresh() // nothing new
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l2 := line("CLIENT_RANDOM", r2, hex48)
	f.WriteString(l2[:30]) // a partial line waits for its newline
	k.Refresh()
	if got := k.Stats().Read; got != 1 {
		t.Errorf("after a partial line: %d randoms, want 1", got)
	}
	if w := k.Warnings(); len(w) != 0 {
		t.Errorf("partial line warned: %q", w)
	}
	f.WriteString(l2[30:] + "CLIENT_RANDOM bad\n" + line("CLIENT_RANDOM", r3, hex48)[:10])
	k.Refresh()
	if got := k.Stats().Read; got != 2 {
		t.Errorf("after the rest of the line: %d randoms, want 2", got)
	}
	if w := k.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], name+": line 3: ") {
		t.Errorf("warnings %q, want one for line 3", w)
	}
	f.WriteString(line("CLIENT_RANDOM", r3, hex48)[10:])
	k.Refresh()
	if got := k.Stats().Read; got != 3 {
		t.Errorf("after the third line: %d randoms, want 3", got)
	}
	// A read error is warned about once.
	os.Remove(name)
	k.Refresh()
	k.Refresh()
	if w := k.Warnings(); len(w) != 1 {
		t.Errorf("warnings after removal: %q, want one", w)
	}
}

func TestKeyLogAddSecrets(t *testing.T) {
	k := NewKeyLog()
	k.AddSecrets([]byte("CLIENT_RANDOM "+hexRandom+" "+hex48+"\nCLIENT_RANDOM x y\n"), "the capture's key log")
	if k.Stats().Read != 1 {
		t.Errorf("Stats().Read = %d, want 1", k.Stats().Read)
	}
	if w := k.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], "the capture's key log: line 2: ") {
		t.Errorf("warnings %q", w)
	}
	k.Refresh() // not following: no-op
}

func TestKeyLogWarningsBounded(t *testing.T) {
	k := NewKeyLog()
	log := bytes.Repeat([]byte("CLIENT_RANDOM x y\n"), 3*MaxKeyLogWarnings)
	k.AddSecrets(log, "s")
	w := k.Warnings()
	if len(w) != MaxKeyLogWarnings+1 || !strings.Contains(w[len(w)-1], "200 more") {
		t.Errorf("%d warnings, last %q", len(w), w[len(w)-1])
	}
}
