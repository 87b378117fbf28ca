package socketio

import (
	"encoding/json"
	"unicode/utf8"
)

// The scanners below walk JSON text already checked by json.Valid: they
// find where values end, without decoding them. On any other input they
// still stop, within the slice, after at most one pass.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// trimSpace cuts JSON whitespace off both ends.
func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// stringEnd returns the index after the string that starts at b[i] == '"'.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '[', '{':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	default:
		for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != ']' && b[i] != '}' && b[i] != ':' {
			i++
		}
		return i
	}
}

// appendElems appends the elements of the array b (trimmed) to dst.
func appendElems(dst []json.RawMessage, b []byte) []json.RawMessage {
	if len(b) < 2 || b[0] != '[' {
		return dst
	}
	for i := 1; i < len(b); {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == ']' {
			break
		}
		end := valueEnd(b, i)
		if end <= i {
			break
		}
		dst = append(dst, json.RawMessage(b[i:end]))
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	return dst
}

// eachField calls fn with each key (quoted, as written) and value of the
// object b (trimmed) until fn returns false.
func eachField(b []byte, fn func(key, val []byte) bool) {
	if len(b) < 2 || b[0] != '{' {
		return
	}
	for i := 1; i < len(b); {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return
		}
		kend := stringEnd(b, i)
		key := b[i:kend]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return
		}
		i = skipSpace(b, i+1)
		end := valueEnd(b, i)
		if end <= i {
			return
		}
		if !fn(key, b[i:end]) {
			return
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

// keyIs reports whether the quoted key is name.
func keyIs(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	if len(key) < 2 || !hasByte(key, '\\') {
		return false
	}
	s, ok := unquote(key)
	return ok && s == name
}

// field returns the value of the first of names that the object b has.
func field(b []byte, names ...string) []byte {
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var found []byte
	best := len(names)
	eachField(b, func(k, v []byte) bool {
		for i, n := range names[:best] {
			if keyIs(k, n) {
				found, best = v, i
				break
			}
		}
		return best > 0
	})
	return found
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// unquote decodes a JSON string.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	if !hasByte(in, '\\') && utf8.Valid(in) {
		return string(in), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// isString reports whether raw is a JSON string.
func isString(raw []byte) bool { return len(raw) >= 2 && raw[0] == '"' }

// textOf is a JSON string's text, or a number's or boolean's as written.
func textOf(raw []byte) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		return unquote(raw)
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f':
		return string(raw), true
	}
	return "", false
}

// textBytes is textOf without an allocation for a string with no escapes
// (it then aliases raw).
func textBytes(raw []byte) ([]byte, bool) {
	if isString(raw) && raw[len(raw)-1] == '"' {
		in := raw[1 : len(raw)-1]
		if !hasByte(in, '\\') && utf8.Valid(in) {
			return in, true
		}
	}
	s, ok := textOf(raw)
	return []byte(s), ok
}

// appendCompact appends the JSON value raw without whitespace outside
// strings, stopping once dst holds limit bytes.
func appendCompact(dst, raw []byte, limit int) []byte {
	for i := 0; i < len(raw) && len(dst) < limit; i++ {
		c := raw[i]
		switch {
		case c == '"':
			end := stringEnd(raw, i)
			if room := limit - len(dst); end-i > room {
				end = i + room
			}
			dst = append(dst, raw[i:end]...)
			i = end - 1
		case isSpace(c):
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// maxDepth bounds the recursion of walkJSON: placeholders nested deeper are
// left as written.
const maxDepth = 32

// walkJSON appends raw to dst, compacted, with each binary placeholder
// object replaced by what repl appends (when repl reports true).
func walkJSON(dst, raw []byte, depth, limit int, repl func(dst []byte, num int) ([]byte, bool)) []byte {
	if len(raw) == 0 || len(dst) >= limit {
		return dst
	}
	if depth >= maxDepth || (raw[0] != '[' && raw[0] != '{') {
		return appendCompact(dst, raw, limit)
	}
	if raw[0] == '{' {
		if num, ok := placeholder(raw); ok {
			if out, ok := repl(dst, num); ok {
				return out
			}
		}
	}
	open := raw[0]
	dst = append(dst, open)
	first := true
	if open == '[' {
		var tmp [16]json.RawMessage
		for _, e := range appendElems(tmp[:0], raw) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = walkJSON(dst, e, depth+1, limit, repl)
			if len(dst) >= limit {
				return dst
			}
		}
		return append(dst, ']')
	}
	eachField(raw, func(k, v []byte) bool {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, k...)
		dst = append(dst, ':')
		dst = walkJSON(dst, v, depth+1, limit, repl)
		return len(dst) < limit
	})
	return append(dst, '}')
}

// placeholder reports whether the object raw is a binary placeholder,
// {"_placeholder":true,"num":K}, and its K.
func placeholder(raw []byte) (int, bool) {
	mark, num := false, -1
	eachField(raw, func(k, v []byte) bool {
		switch {
		case keyIs(k, "_placeholder"):
			mark = string(v) == "true"
		case keyIs(k, "num"):
			num = smallInt(v)
		}
		return true
	})
	return num, mark && num >= 0
}

// smallInt reads a non-negative integer of at most 9 digits, or -1.
func smallInt(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
