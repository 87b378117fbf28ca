package filter

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// matcher is --grep's regular expression, with a faster way for the
// commonest kind: a plain string, or strings joined by |. Go's regexp
// finds a literal by bytes.Index already, but runs its automaton for an
// alternation (hello|bonjour), three times the cost of the text view on
// a chat capture (scripts/bench); each string looked for by bytes.Index
// is a few percent.
type matcher struct {
	re   *regexp.Regexp
	lits [][]byte // when set, a match is any of them found
}

func newMatcher(expr string) (*matcher, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	m := &matcher{re: re}
	if p, err := syntax.Parse(expr, syntax.Perl); err == nil {
		m.lits = literals(p.Simplify())
	}
	return m, nil
}

// literals returns the strings re is an alternation of, or nil when it
// is anything else.
func literals(re *syntax.Regexp) [][]byte {
	lit := func(r *syntax.Regexp) []byte {
		if r.Op != syntax.OpLiteral || r.Flags&syntax.FoldCase != 0 || len(r.Rune) == 0 {
			return nil
		}
		// regexp matches U+FFFD on an invalid byte too, which
		// bytes.Contains would not.
		if slices.Contains(r.Rune, utf8.RuneError) {
			return nil
		}
		return []byte(string(r.Rune))
	}
	if l := lit(re); l != nil {
		return [][]byte{l}
	}
	if re.Op != syntax.OpAlternate {
		return nil
	}
	var out [][]byte
	for _, sub := range re.Sub {
		l := lit(sub)
		if l == nil {
			return nil
		}
		out = append(out, l)
	}
	return out
}

func (m *matcher) match(b []byte) bool {
	if m.lits == nil {
		return m.re.Match(b)
	}
	for _, l := range m.lits {
		if bytes.Contains(b, l) {
			return true
		}
	}
	return false
}

func (m *matcher) matchString(s string) bool {
	if m.lits == nil {
		return m.re.MatchString(s)
	}
	for _, l := range m.lits {
		if strings.Contains(s, string(l)) {
			return true
		}
	}
	return false
}
