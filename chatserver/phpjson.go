package chatserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/chat"
)

// phpJSON encodes v as PHP's json_encode (no flags) writes it: struct fields
// in declaration order (package chat orders them as the real server does),
// "/" written "\/", every non-ASCII character written \uXXXX (UTF-16
// surrogate pairs past the BMP, lower-case hex), "<", ">" and "&" left as
// they are. encoding/json does the structure; chat.AppendPHPEscaped rewrites its
// strings, which is safe because "/" and non-ASCII bytes occur in
// encoding/json's output only inside strings.
func phpJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return chat.AppendPHPEscaped(nil, out), nil
}

// htmlEscaper is PHP 8's htmlspecialchars with its default flags
// (ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML401).
var htmlEscaper = strings.NewReplacer(
	"&", "&amp;",
	`"`, "&quot;",
	"'", "&#039;",
	"<", "&lt;",
	">", "&gt;",
)

// htmlSpecialChars escapes s as PHP's htmlspecialchars does; ENT_SUBSTITUTE
// replaces invalid UTF-8 with U+FFFD.
func htmlSpecialChars(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return htmlEscaper.Replace(s)
}

// nl2br inserts "<br />" before every line break ("\r\n", "\n\r", "\n",
// "\r"), keeping the break, as PHP's nl2br does.
func nl2br(s string) string {
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

// chatContent is what workerman-chat does to a message before relaying it:
// nl2br(htmlspecialchars(content)).
func chatContent(s string) string { return nl2br(htmlSpecialChars(s)) }
