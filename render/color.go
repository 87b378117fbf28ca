package render

import (
	"strings"

	"github.com/fatih/color"
)

// ColorMode is the --color flag's value.
type ColorMode string

const (
	ColorAuto   ColorMode = "auto"   // colour when stdout is a terminal and NO_COLOR is unset
	ColorAlways ColorMode = "always" // colour even into a pipe
	ColorNever  ColorMode = "never"
)

// UseColor resolves a ColorMode once, for the whole run. fatih/color has
// already looked at the terminal, TERM=dumb and NO_COLOR when the program
// started, which is what "auto" means.
func UseColor(m ColorMode) bool {
	switch m {
	case ColorAlways:
		return true
	case ColorNever:
		return false
	}
	return !color.NoColor
}

// span is an escape sequence pair around one coloured piece of text.
type span struct{ on, off string }

func (s span) wrap(dst []byte, text []byte) []byte {
	dst = append(dst, s.on...)
	dst = append(dst, text...)
	return append(dst, s.off...)
}

// Scheme holds the escape sequences for every coloured element; with colour
// off every sequence is empty, so callers never test whether colour is on.
type Scheme struct {
	Time, Dim, Client, Server, Chat, Error, Warn span
	Key, String, Number, Literal, Punct          span
	// Conns colour the connection label, so that interleaved connections
	// can be told apart; connection N gets Conns[N % len].
	Conns []span
}

// NewScheme returns the scheme for colour on or off. The sequences are made
// by fatih/color once, not per line: rendering is on the hot path.
func NewScheme(on bool) *Scheme {
	mk := func(attrs ...color.Attribute) span {
		if !on {
			return span{}
		}
		c := color.New(attrs...)
		c.EnableColor()
		on, off, _ := strings.Cut(c.Sprint("\x00"), "\x00")
		return span{on: on, off: off}
	}
	s := &Scheme{
		Time:    mk(color.Faint),
		Dim:     mk(color.Faint),
		Client:  mk(color.FgYellow),
		Server:  mk(color.FgCyan),
		Chat:    mk(color.Bold),
		Error:   mk(color.FgRed, color.Bold),
		Warn:    mk(color.FgYellow),
		Key:     mk(color.FgBlue),
		String:  mk(color.FgGreen),
		Number:  mk(color.FgCyan),
		Literal: mk(color.FgMagenta),
		Punct:   mk(color.Faint),
	}
	for _, a := range []color.Attribute{color.FgHiGreen, color.FgHiMagenta, color.FgHiBlue, color.FgHiYellow, color.FgHiCyan, color.FgHiRed} {
		s.Conns = append(s.Conns, mk(a, color.Bold))
	}
	return s
}

func (s *Scheme) conn(id uint64) span {
	return s.Conns[id%uint64(len(s.Conns))]
}
