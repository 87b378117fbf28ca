package workerman

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/internal/jsonstr"
)

// The chat layer's fast path. encoding/json's Compact and Unmarshal (with
// reflection) were 70% of `chatsniff read`'s profile on chat traffic, so the
// common shape - one flat object of string and number fields - is compacted
// and read by hand here. Anything this code is not sure to treat exactly as
// encoding/json does (keys that only match a field case-insensitively or
// through escapes, values of another kind, nulls, user and client lists,
// deep nesting, invalid JSON) makes it give up, and chatMessage falls back
// to encoding/json: the results are the same either way, which
// FuzzChatFast checks.

// maxFastDepth bounds the nesting fastCompact follows; deeper documents go
// to encoding/json (which allows 10000).
const maxFastDepth = 64

// fastCompact appends p, one JSON value with optional surrounding
// whitespace, to dst without its insignificant whitespace, byte for byte as
// json.Compact writes it. ok is false when p is not valid JSON or is nested
// deeper than maxFastDepth.
func fastCompact(dst, p []byte) (out []byte, ok bool) {
	out, same, ok := fastCompactFields(dst, p, nil)
	if same {
		out = append(dst, out...)
	}
	return out, ok
}

// fastCompactFields is fastCompact that also records the members of a
// top-level object in *fields (reset first), offsets in out. When p has no
// whitespace to remove, as JSON from PHP's json_encode or JSON.stringify
// has none, nothing is copied: out is p itself and same is true (dst is
// then untouched).
func fastCompactFields(dst, p []byte, fields *[]member) (out []byte, same, ok bool) {
	if fields != nil {
		*fields = (*fields)[:0]
	}
	s := compactor{p: p, out: dst, fields: fields}
	if !s.value(0) {
		return dst, false, false
	}
	s.ws()
	if s.i != len(p) {
		return dst, false, false
	}
	if !s.copying {
		return p, true, true
	}
	return append(s.out, p[s.mark:]...), false, true
}

// compactor validates JSON and removes its whitespace. Tokens are not
// copied one by one: the bytes between two stretches of whitespace are
// copied at once when the second is met, and not at all when there is none.
type compactor struct {
	p       []byte
	i       int
	out     []byte
	copying bool // whitespace was met: out holds p[:mark] compacted
	mark    int  // p[mark:i] is still to be copied to out
	skipped int  // whitespace bytes left out so far
	// fields, when not nil, collects where the top-level object's members
	// are in the output, so that fastMessage need not scan them again.
	fields *[]member
}

// member is one key and value of the top-level object, as offsets in the
// compacted output: the key without its quotes, the value as written.
type member struct{ k0, k1, v0, v1 int }

// pos is the offset in the output of p[s.i].
func (s *compactor) pos() int { return s.i - s.skipped }

func (s *compactor) ws() {
	start := s.i
	for s.i < len(s.p) {
		switch s.p[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
			continue
		}
		break
	}
	if n := s.i - start; n > 0 {
		s.out = append(s.out, s.p[s.mark:start]...)
		s.copying = true
		s.mark = s.i
		s.skipped += n
	}
}

// value checks one value after optional whitespace.
func (s *compactor) value(depth int) bool {
	s.ws()
	if s.i >= len(s.p) {
		return false
	}
	switch c := s.p[s.i]; c {
	case '{', '[':
		if depth >= maxFastDepth {
			return false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		s.ws()
		if s.i < len(s.p) && s.p[s.i] == end {
			s.i++
			return true
		}
		record := c == '{' && depth == 0 && s.fields != nil
		for {
			var m member
			if c == '{' {
				s.ws()
				m.k0 = s.pos() + 1
				if s.i >= len(s.p) || s.p[s.i] != '"' || !s.str() {
					return false
				}
				m.k1 = s.pos() - 1
				s.ws()
				if s.i >= len(s.p) || s.p[s.i] != ':' {
					return false
				}
				s.i++
				s.ws()
			}
			m.v0 = s.pos()
			if !s.value(depth + 1) {
				return false
			}
			if record {
				m.v1 = s.pos()
				*s.fields = append(*s.fields, m)
			}
			s.ws()
			if s.i >= len(s.p) {
				return false
			}
			switch s.p[s.i] {
			case ',':
				s.i++
			case end:
				s.i++
				return true
			default:
				return false
			}
		}
	case '"':
		return s.str()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

func (s *compactor) literal(lit string) bool {
	if len(s.p)-s.i < len(lit) || string(s.p[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, the
// grammar of RFC 8259 section 6.
func (s *compactor) number() bool {
	p, i := s.p, s.i
	if i < len(p) && p[i] == '-' {
		i++
	}
	switch {
	case i < len(p) && p[i] == '0':
		i++
	case i < len(p) && p[i] >= '1' && p[i] <= '9':
		i = digits(p, i)
	default:
		return false
	}
	if i < len(p) && p[i] == '.' {
		j := digits(p, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(p) && (p[i] == 'e' || p[i] == 'E') {
		i++
		if i < len(p) && (p[i] == '+' || p[i] == '-') {
			i++
		}
		j := digits(p, i)
		if j == i {
			return false
		}
		i = j
	}
	s.i = i
	return true
}

func digits(p []byte, i int) int {
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	return i
}

// str checks the string starting at s.i: invalid UTF-8 is allowed
// (encoding/json's scanner allows it), control characters and bad escapes
// are not.
func (s *compactor) str() bool {
	p := s.p
	i := s.i + 1
	for {
		if i+8 <= len(p) {
			w := binary.LittleEndian.Uint64(p[i:])
			// PHP's escapes come one after another (\u732a\u732a): a
			// \uXXXX is checked within the word that starts with it.
			if uint16(w) == 'u'<<8|'\\' && jsonstr.IsHex4Word(uint32(w>>16)) {
				i += 6
				continue
			}
			m := stringSpecial(w)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else if i >= len(p) {
			return false
		}
		switch c := p[i]; {
		case c == '"':
			s.i = i + 1
			return true
		case c == '\\':
			if i+1 >= len(p) {
				return false
			}
			switch p[i+1] {
			case 'u':
				if len(p)-i < 6 || jsonstr.Hex4(p[i+2:i+6]) < 0 {
					return false
				}
				i += 6
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			default:
				return false
			}
		case c < 0x20: // a control character
			return false
		default: // a plain byte of the last few
			i++
		}
	}
}

// stringSpecial flags, by their high bits, the bytes of w that end a run of
// ordinary string bytes: a quote, a backslash or a control character. The
// lowest flag is exact; those above it may come from a borrow.
func stringSpecial(w uint64) uint64 {
	q := w ^ ('"' * swarOnes)
	bs := w ^ ('\\' * swarOnes)
	// The classic "has less than" and "has zero" tests.
	return ((w-0x20*swarOnes)&^w | (q-swarOnes)&^q | (bs-swarOnes)&^bs) & swarHighs
}

// SWAR constants: a byte repeated over a 64-bit word.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// plainRun returns the index of the first byte at or after i that ends a
// run of ordinary string bytes: a quote, a backslash or a control
// character (or len(p)). Eight bytes are checked at once, and the first
// that ends the run is found from the word's flags, since chat content
// makes up most of the bytes scanned, and PHP's \uXXXX escapes make its
// runs short.
func plainRun(p []byte, i int) int {
	for ; i+8 <= len(p); i += 8 {
		if m := stringSpecial(binary.LittleEndian.Uint64(p[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// fastMessage fills m from js, a JSON object compacted by
// fastCompactFields with its members in fields, as json.Unmarshal(js, m)
// would. ok is false when it cannot be sure of that: the caller then runs
// json.Unmarshal. fs is reused from message to message.
func fastMessage(js []byte, fields []member, m *chat.Message, fs *fastState) (ok bool) {
	if len(js) < 2 || js[0] != '{' {
		return false
	}
	fs.list, fs.content = fs.list[:0], nil
	for _, f := range fields {
		if !setField(m, js[f.k0:f.k1], js[f.v0:f.v1], fs) {
			return false
		}
	}
	return true
}

// setField stores val, the raw JSON value of key, in m; false means "let
// encoding/json decide".
func setField(m *chat.Message, key, val []byte, fs *fastState) bool {
	var dst *string
	switch string(key) {
	case "type":
		if len(val) == 0 || val[0] != '"' {
			return false
		}
		// The usual types without an allocation.
		switch string(val) {
		case `"say"`:
			m.Type = chat.TypeSay
		case `"ping"`:
			m.Type = chat.TypePing
		case `"pong"`:
			m.Type = chat.TypePong
		case `"login"`:
			m.Type = chat.TypeLogin
		case `"logout"`:
			m.Type = chat.TypeLogout
		default:
			m.Type = fs.strings.intern(val, &fs.unq)
		}
		return true
	case "time":
		// Decoded by encoding/json but read by no one: only its kind
		// matters (a number there makes Unmarshal fail).
		return len(val) > 0 && val[0] == '"'
	case "name":
		dst = &m.Name
	case "client_name":
		dst = &m.ClientName
	case "client_id":
		dst = &m.ClientID
	case "to_client_id":
		dst = &m.ToClientID
	case "to_client_name":
		dst = &m.ToClientName
	case "from_client_id":
		dst = &m.FromClientID
	case "from_client_name":
		dst = &m.FromClientName
	case "content":
		dst = &m.Content
	case "uid":
		return setID(&m.UID, val)
	case "from_uid":
		return setID(&m.FromUID, val)
	case "to_uid":
		return setID(&m.ToUID, val)
	case "room_id":
		return setID(&m.RoomID, val)
	case "client_list":
		return setClientList(m, val, fs)
	case "user_list":
		return false
	default:
		// encoding/json also matches keys case-insensitively (with
		// Unicode folding) and after unescaping: leave any key that might
		// match a field that way to it; others are ignored, as there.
		return !mayFoldToField(key)
	}
	if len(val) == 0 || val[0] != '"' {
		return false
	}
	if dst == &m.Content {
		// Left quoted: the parser decodes it into its own buffer, which
		// spares a string the size of the message.
		fs.content = val
		return true
	}
	*dst = fs.strings.intern(val, &fs.unq)
	return true
}

// setClientList reads a room login's client_list, an object of client IDs
// to names, into m.ClientList as encoding/json would, and into fs.list in
// the order written (which chatLine shows). Any value but a string, or a
// second client_list (which encoding/json would merge), is left to
// encoding/json.
func setClientList(m *chat.Message, val []byte, fs *fastState) bool {
	if len(val) < 2 || val[0] != '{' || m.ClientList != nil {
		return false
	}
	m.ClientList = make(map[string]string)
	for i := 1; val[i] != '}'; {
		k := stringEnd(val, i)
		if val[k+1] != '"' { // val[k] is the colon
			return false
		}
		v := stringEnd(val, k+1)
		id := fs.strings.intern(val[i:k], &fs.unq)
		name := fs.strings.intern(val[k+1:v], &fs.unq)
		m.ClientList[id] = name
		fs.list = append(fs.list, listedUser{id, name})
		i = v
		if val[i] == ',' {
			i++
		}
	}
	return true
}

// stringEnd returns the index just past the string starting at js[i], in
// valid JSON.
func stringEnd(js []byte, i int) int {
	i++
	for {
		i = plainRun(js, i)
		if js[i] == '"' {
			return i + 1
		}
		i += 2 // a backslash and the byte it escapes (\uXXXX's digits are plain)
	}
}

// setID stores a number or string ID as chat.ID's own decoder does.
func setID(id *chat.ID, val []byte) bool {
	if len(val) == 0 || !(val[0] == '"' || val[0] == '-' || val[0] >= '0' && val[0] <= '9') {
		return false
	}
	return id.UnmarshalJSON(val) == nil
}

// chatFields are the JSON names of chat.Message's fields.
var chatFields = []string{
	"type", "name", "uid", "from_uid", "to_uid", "user_list", "client_name", "room_id",
	"client_id", "to_client_id", "to_client_name", "from_client_id", "from_client_name",
	"client_list", "content", "time",
}

// mayFoldToField reports whether key, not one of chatFields exactly, might
// still select a field in encoding/json: it has escapes or non-ASCII bytes,
// or equals a field name but for ASCII case.
func mayFoldToField(key []byte) bool {
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	for _, f := range chatFields {
		if len(f) == len(key) && asciiEqualFold(f, key) {
			return true
		}
	}
	return false
}

func asciiEqualFold(a string, b []byte) bool {
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// unquote returns the text of q, a valid JSON string with its quotes, as
// encoding/json decodes it: escapes resolved, invalid UTF-8 and lone
// surrogates replaced by U+FFFD.
func unquote(q []byte, scratch *[]byte) string {
	s := q[1 : len(q)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	return string(unescape(s, scratch))
}

// intern returns q's text like unquote, from a table for short strings:
// IDs and names come back in every message, and the table spares an
// allocation for each.
func (t *internTable) intern(q []byte, scratch *[]byte) string {
	if len(q) > maxInterned+2 {
		return unquote(q, scratch)
	}
	if str, ok := t.m[string(q)]; ok { // no allocation for the lookup
		return str
	}
	str := unquote(q, scratch)
	if t.m == nil || len(t.m) >= maxInternedStrings {
		t.m = make(map[string]string, 64)
	}
	t.m[string(q)] = str
	return str
}

// fastState is the fast path's reusable state.
type fastState struct {
	unq     []byte // unescaping scratch
	strings internTable
	list    []listedUser // the message's client_list, in order
	// content is the message's content, still a quoted JSON string (nil
	// when it had none): fastMessage leaves m.Content empty.
	content []byte
}

// internTable maps quoted JSON strings to their text.
type internTable struct{ m map[string]string }

// Bounds of the intern table: strings up to maxInterned bytes, at most
// maxInternedStrings of them (then it starts again empty).
const (
	maxInterned        = 64
	maxInternedStrings = 4096
)

// appendUnquoted appends the text of q, a valid JSON string with its
// quotes, as unquote decodes it.
func appendUnquoted(b, q []byte) []byte {
	s := q[1 : len(q)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return append(b, s...)
	}
	return appendUnescaped(b, s)
}

// appendUnquotedCut is appendUnquoted that stops after at most max bytes
// of text (0: no limit) without splitting a character, and returns the
// whole text's length too. Past the cut the string is only measured,
// which costs a fraction of decoding it.
func appendUnquotedCut(b, q []byte, max int) (_ []byte, n int) {
	b0 := len(b)
	s := q[1 : len(q)-1]
	if max <= 0 || len(s) <= max && utf8.Valid(s) { // escapes only shrink
		b = appendUnquoted(b, q)
		return b, len(b) - b0
	}
	i, n := 0, 0
	for i < len(s) {
		e, t := textUnit(s, i)
		if n+t > max {
			break
		}
		i, n = i+e, n+t
	}
	b = appendUnescaped(b, s[:i])
	return b, n + unescapedLen(s[i:])
}

// unescapedLen is len(appendUnescaped(nil, s)) for s valid UTF-8, as
// every chat payload is (a text message that is not is never read as
// chat), counted without writing. A valid character decodes to its own
// bytes, so only escapes change the count: runs without one are skipped
// by bytes.IndexByte, and PHP's runs of \uXXXX are read in a tight loop.
func unescapedLen(s []byte) int {
	n := len(s)
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			k := bytes.IndexByte(s[i:], '\\')
			if k < 0 {
				break
			}
			i += k
		}
		// A valid JSON string has what follows a backslash.
		if s[i+1] != 'u' {
			n, i = n-1, i+2
			continue
		}
		switch r := jsonstr.Hex4(s[i+2:]); {
		case r < 0x80:
			n -= 5
		case r < 0x800:
			n -= 4
		case r < 0xd800 || r >= 0xe000:
			n -= 3
		default:
			e, t := textUnit(s, i) // a surrogate: a pair, or a lone half
			n, i = n-e+t, i+e
			continue
		}
		i += 6
	}
	return n
}

// textUnit measures the character that starts at s[i], in s, the inside of
// a valid JSON string: e bytes of s that decode to t bytes of text, as
// appendUnescaped decodes them (a surrogate pair is one character, a lone
// half or an invalid byte U+FFFD).
func textUnit(s []byte, i int) (e, t int) {
	c := s[i]
	switch {
	case c < utf8.RuneSelf && c != '\\':
		return 1, 1
	case c == '\\' && s[i+1] != 'u':
		return 2, 1
	case c == '\\':
		switch r := jsonstr.Hex4(s[i+2:]); {
		case r < 0x80:
			return 6, 1
		case r < 0x800:
			return 6, 2
		case r < 0xd800 || r >= 0xe000:
			return 6, 3
		case len(s)-i >= 12 && s[i+6] == '\\' && s[i+7] == 'u' && utf16.DecodeRune(r, jsonstr.Hex4(s[i+8:])) != unicode.ReplacementChar:
			return 12, 4
		default:
			return 6, 3
		}
	}
	r, size := utf8.DecodeRune(s[i:])
	if r == utf8.RuneError && size == 1 {
		return 1, 3
	}
	return size, size
}

// unescape decodes s, the inside of a valid JSON string, into scratch.
func unescape(s []byte, scratch *[]byte) []byte {
	b := appendUnescaped((*scratch)[:0], s)
	*scratch = b
	return b
}

// appendUnescaped appends s, the inside of a valid JSON string, decoded.
func appendUnescaped(b, s []byte) []byte {
	for i := 0; i < len(s); {
		// Runs of ASCII and of \uXXXX escapes of non-ASCII characters of
		// the Basic Multilingual Plane, as PHP writes any non-ASCII text,
		// are written in a tight loop into spare room: neither writes more
		// bytes than it reads.
		if cap(b)-len(b) < len(s)-i {
			b = slices.Grow(b, len(s)-i)
		}
		out := b[len(b):cap(b)]
		j := 0
		for i < len(s) {
			c := s[i]
			if c == '\\' {
				if len(s)-i < 6 || s[i+1] != 'u' {
					break
				}
				// s is a valid JSON string: the digits need no check.
				r := jsonstr.Hex4Value(binary.LittleEndian.Uint32(s[i+2:]))
				if r < 0x80 || (r >= 0xd800 && r < 0xe000) {
					break // ASCII and surrogates: the general case below
				}
				if r < 0x800 {
					out[j], out[j+1] = 0xc0|byte(r>>6), 0x80|byte(r)&0x3f
					j += 2
				} else {
					out[j], out[j+1], out[j+2] = 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f
					j += 3
				}
				i += 6
				continue
			}
			if c >= utf8.RuneSelf {
				break
			}
			out[j] = c
			j++
			i++
		}
		b = b[:len(b)+j]
		if i == len(s) {
			break
		}
		// One other escape or non-ASCII character.
		c := s[i]
		switch {
		case c == '\\':
			e := s[i+1]
			i += 2
			switch e {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := jsonstr.Hex4(s[i:])
				i += 4
				switch {
				case r < 0x80:
					b = append(b, byte(r))
					continue
				case r < 0x800:
					b = append(b, 0xc0|byte(r>>6), 0x80|byte(r)&0x3f)
					continue
				case r < 0xd800 || r >= 0xe000:
					b = append(b, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
					continue
				}
				// A surrogate: a pair makes one rune above U+FFFF.
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
						r2 = jsonstr.Hex4(s[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
						i += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
			default: // '"', '\\', '/'
				b = append(b, e)
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, unicode.ReplacementChar)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return b
}
