package filter

import (
	"regexp"
	"testing"
)

// TestMatcher: the strings' way finds what the regular expression finds,
// and is taken for plain strings and alternations of them only.
func TestMatcher(t *testing.T) {
	inputs := []string{"", "hello", "say hello, all", "bonjour à tous", "HELLO", "hel", "你好, alice", "a|b", "x.y", "a\xffb"}
	for _, tc := range []struct {
		expr string
		lits int // strings looked for; 0: the regexp's automaton
	}{
		{"hello", 1},
		{"hello|bonjour", 2},
		{"你好|hello|tous", 3},
		{`a\|b`, 1},
		{`x\.y`, 1},
		{"(?i)hello", 0},
		{"^hello", 0},
		{"hel+o", 0},
		{"hello|", 0},
		{"x.y", 0},
		{"hel(lo|p)", 0},
		{"a�b", 0},
	} {
		m, err := newMatcher(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.lits) != tc.lits {
			t.Errorf("%q: %d strings, want %d", tc.expr, len(m.lits), tc.lits)
		}
		re := regexp.MustCompile(tc.expr)
		for _, in := range inputs {
			if got, want := m.match([]byte(in)), re.MatchString(in); got != want {
				t.Errorf("%q on %q: %t, regexp says %t", tc.expr, in, got, want)
			}
			if got, want := m.matchString(in), re.MatchString(in); got != want {
				t.Errorf("%q on %q (string): %t, regexp says %t", tc.expr, in, got, want)
			}
		}
	}
}

// FuzzMatcher: whatever the expression and the text, the matcher agrees
// with Go's regexp.
func FuzzMatcher(f *testing.F) {
	f.Add("hello|bonjour", "say bonjour")
	f.Add(`a\|b|c`, "xa|b")
	f.Add("(?i)x|y", "X")
	f.Fuzz(func(t *testing.T, expr, text string) {
		m, err := newMatcher(expr)
		if err != nil {
			return
		}
		want := m.re.MatchString(text)
		if got := m.match([]byte(text)); got != want {
			t.Fatalf("%q on %q: %t, regexp says %t", expr, text, got, want)
		}
		if got := m.matchString(text); got != want {
			t.Fatalf("%q on %q (string): %t, regexp says %t", expr, text, got, want)
		}
	})
}
