package chat

import "testing"

func TestHTMLSpecialCharsAndNl2br(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`<script>alert("x" & 'y')</script>`, "&lt;script&gt;alert(&quot;x&quot; &amp; &#039;y&#039;)&lt;/script&gt;"},
		{"&lt;", "&amp;lt;"},
		{"a\nb", "a<br />\nb"},
		{"a\r\nb", "a<br />\r\nb"},
		{"a\n\rb", "a<br />\n\rb"},
		{"a\n\nb", "a<br />\n<br />\nb"},
		{"a\rb\r", "a<br />\rb<br />\r"},
		{"bad \xc3 utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := RelayedContent(tt.in); got != tt.want {
			t.Errorf("RelayedContent(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
