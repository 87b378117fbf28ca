package render

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// The conversation view's JSON strings were once decoded into a buffer,
// cut, then escaped, in three passes; appendShownString does it in one.
// The three-pass version stays here as the reference it must agree with.

// refShownString is appendShownString in three passes.
func refShownString(src []byte, sc *Scheme) (out []byte, decoded []byte, ok bool) {
	end, ok := refDecodeJSONString(src, 0, nil)
	if !ok {
		return nil, nil, false
	}
	shown, cut := cutText(end.decoded, MaxShownText)
	out = append(out, sc.String.on...)
	out = append(out, '"')
	out = refQuotedContent(out, shown)
	out = append(out, '"')
	out = append(out, sc.String.off...)
	if cut {
		out = appendCutMark(out, len(end.decoded), sc)
	}
	return out, end.decoded, true
}

func checkShownString(t *testing.T, src []byte) {
	t.Helper()
	sc := NewScheme(true)
	want, decoded, wantOK := refShownString(src, sc)
	got, next, ok := appendShownString([]byte("x"), src, 0, sc.String, sc)
	if ok != wantOK {
		t.Fatalf("%q: ok %v, want %v", src, ok, wantOK)
	}
	if !ok {
		if string(got) != "x" || next != 0 {
			t.Fatalf("%q: failed but wrote %q, next %d", src, got, next)
		}
		return
	}
	// Where invalid UTF-8 meets the cut, the two cut differently (the
	// reference backs up over continuation bytes): chat JSON comes from
	// text messages, which are valid UTF-8.
	if !utf8.Valid(decoded) && len(decoded) > MaxShownText {
		return
	}
	if got := got[1:]; !bytes.Equal(got, want) {
		t.Fatalf("%q:\n got %q\nwant %q", src, got, want)
	}
	if next != bytes.IndexByte(src[1:], '"')+2 && !bytes.Contains(src, []byte(`\"`)) {
		t.Fatalf("%q: next %d", src, next)
	}
}

func TestAppendShownString(t *testing.T) {
	long := strings.Repeat(`\u732a`, MaxShownText/3+5)
	for _, s := range []string{
		`""`, `"abc"`, `"a\"b\\c\/d"`, `"\u732a\u732a"`, `"\ud83d\ude00 smile"`, `"\ud83d alone"`, `"\ude00"`,
		`"\u0000\u001b[31m\u007f\u0085\u202e"`, `"\b\f\n\r\t"`, "\"raw \x01 \x7f é \xff\"",
		`"` + long + `"`, `"` + strings.Repeat("a", MaxShownText) + `"`, `"` + strings.Repeat("a", MaxShownText+1) + `"`,
		`"` + strings.Repeat("a", MaxShownText-1) + `\u732a"`, `"` + strings.Repeat("é", MaxShownText) + `"`,
		`"unterminated`, `"bad \x escape"`, `"\u12"`, `"\u12zz"`, `"trailing \`,
	} {
		checkShownString(t, []byte(s))
	}
}

func FuzzShownString(f *testing.F) {
	f.Add([]byte(`"\u732a\u732a say \"hi\" \ud83d\ude00"`))
	f.Add([]byte("\"\x1b[2J\u202e\xff\""))
	f.Fuzz(func(t *testing.T, s []byte) {
		if len(s) == 0 || s[0] != '"' {
			s = append([]byte{'"'}, s...)
		}
		checkShownString(t, s)
	})
}

// appendQuotedContent escapes decoded string content for display between
// double quotes: quotes and backslashes as in JSON, the rest as appendEscaped.
func refQuotedContent(dst, s []byte) []byte {
	start := 0
	for i, c := range s {
		if c == '"' || c == '\\' {
			dst = appendEscaped(dst, s[start:i])
			dst = append(dst, '\\', c)
			start = i + 1
		}
	}
	return appendEscaped(dst, s[start:])
}

type decodedString struct {
	decoded []byte
	next    int // index after the closing quote
}

// decodeJSONString decodes the JSON string starting at src[pos] (a quote)
// into buf.
func refDecodeJSONString(src []byte, pos int, buf []byte) (decodedString, bool) {
	i := pos + 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			return decodedString{decoded: buf, next: i + 1}, true
		case c != '\\':
			// Copy the run up to the next quote or escape at once.
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\\' {
				j++
			}
			buf = append(buf, src[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(src) {
			return decodedString{}, false
		}
		e := src[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(src, i)
			if !ok {
				return decodedString{}, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(src, i+2); ok && i+1 < len(src) && src[i] == '\\' && src[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					}
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return decodedString{}, false
		}
	}
	return decodedString{}, false
}
