package chat

import (
	"strings"
	"unicode/utf8"
)

// What workerman-chat's PHP server does to the text it relays: names and
// contents through htmlspecialchars, contents through nl2br too. The
// bundled server does it to be byte-compatible, and the capture generator
// to write what a real server would.

// htmlEscaper is PHP 8's htmlspecialchars with its default flags
// (ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML401).
var htmlEscaper = strings.NewReplacer(
	"&", "&amp;",
	`"`, "&quot;",
	"'", "&#039;",
	"<", "&lt;",
	">", "&gt;",
)

// HTMLSpecialChars escapes s as PHP's htmlspecialchars does; ENT_SUBSTITUTE
// replaces invalid UTF-8 with U+FFFD.
func HTMLSpecialChars(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return htmlEscaper.Replace(s)
}

// NL2BR inserts "<br />" before every line break ("\r\n", "\n\r", "\n",
// "\r"), keeping the break, as PHP's nl2br does.
func NL2BR(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\r' && c != '\n' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("<br />")
		b.WriteByte(c)
		if i+1 < len(s) && (s[i+1] == '\r' || s[i+1] == '\n') && s[i+1] != c {
			b.WriteByte(s[i+1])
			i++
		}
	}
	return b.String()
}

// RelayedContent is what workerman-chat does to a say's content before
// relaying it: nl2br(htmlspecialchars(content)).
func RelayedContent(s string) string { return NL2BR(HTMLSpecialChars(s)) }
