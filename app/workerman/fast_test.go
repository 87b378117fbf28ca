package workerman

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/chat"
)

// chatFastSeeds are JSON documents the fast path must treat exactly as
// encoding/json does, whether it handles them or hands them over.
var chatFastSeeds = []string{
	`{"type":"say","from_client_id":"7f00000108fd00000001","from_client_name":"alice","to_client_id":"all","content":"hi, all !","time":"2026-11-24 18:42:37"}`,
	" {\n \"type\" : \"say\" ,\t\"to_uid\" : 12 , \"content\":\"a\\/b \\u4f60\\u597d \\ud83d\\ude00\"}\r\n",
	`{"type":"login","client_name":"bob","room_id":"1"}`,
	`{"type":"login","client_id":"x","client_name":"bob","client_list":{"x":"bob","y":"al"}}`,
	`{"type":"user_list","user_list":[{"uid":1,"name":"a"}]}`,
	`{"type":"login","client_id":"x","client_list":{}}`,
	`{"type":"login","client_list":{"a\u0041":"\u732a","b":"c","a\u0041":"d"}}`,
	`{"type":"login","client_list":{"a":1}}`,
	`{"type":"login","client_list":{"a":null}}`,
	`{"type":"login","client_list":null}`,
	`{"type":"login","client_list":{"a":"b"},"client_list":{"c":"d"}}`,
	`{"type":"login","Client_List":{"a":"b"}}`,
	`{"type":"say","content":"lone \ud800 surrogate \udc00 and \ud800\u0041"}`,
	`{"type":"say","content":"invalid ` + "\xff\xfe" + ` utf-8"}`,
	`{"Type":"say","content":"case folded key"}`,
	`{"\u0074ype":"say"}`,
	`{"type":"say","content":null}`,
	`{"type":"say","uid":null}`,
	`{"type":"say","content":12}`,
	`{"type":"say","time":1}`,
	`{"type":"say","to_uid":1.5e3,"from_uid":-0}`,
	`{"type":"say","to_uid":true}`,
	`{"type":"ping"}`,
	`{"type":"ping","extra":{"a":[1,2,{"b":"}"}],"c":"]"}}`,
	`{"type":"say","type":"pong"}`,
	`{"type":"say","ſontent":"unicode fold"}`,
	`{}`,
	`{"a":01}`,
	`{"a":1.}`,
	`{"a":-}`,
	`{"a":"\x"}`,
	"{\"a\":\"\x01\"}",
	`{"a":"\u12G4"}`,
	`{"a":1}x`,
	`{"a":[1,2,]}`,
	`{"a":tru}`,
	`[1,2]`,
	`"str"`,
	`{"type":"say","content":"` + strings.Repeat(`quotes \" and backslashes \\ `, 20) + `"}`,
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
}

// TestFastCompact checks fastCompact against json.Compact on the seeds.
func TestFastCompact(t *testing.T) {
	for _, s := range chatFastSeeds {
		checkFastCompact(t, []byte(s))
	}
}

// TestFastMessage checks fastMessage against json.Unmarshal on the seeds
// and that the usual messages take the fast path.
func TestFastMessage(t *testing.T) {
	for _, s := range chatFastSeeds {
		checkFastMessage(t, []byte(s))
	}
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{chatFastSeeds[0], true},
		{chatFastSeeds[1], true},
		{`{"type":"ping"}`, true},
		{`{"type":"say","to_uid":1,"from_uid":2,"content":"x"}`, true},
		{`{"Type":"say"}`, false},
		{`{"type":"say","content":null}`, false},
		{`{"type":"user_list","user_list":[]}`, false},
		{`{"type":"login","client_id":"x","client_list":{"x":"bob","y":"al"}}`, true},
		{`{"type":"login","client_list":{"x":1}}`, false},
	} {
		var fields []member
		js, _, ok := fastCompactFields(nil, []byte(tc.in), &fields)
		if !ok {
			t.Fatalf("fastCompact(%q) failed", tc.in)
		}
		var m chat.Message
		var fs fastState
		if got := fastMessage(js, fields, &m, &fs); got != tc.fast {
			t.Errorf("fastMessage(%q) = %v, want %v", tc.in, got, tc.fast)
		}
	}
}

func checkFastCompact(t *testing.T, p []byte) {
	t.Helper()
	got, ok := fastCompact([]byte("prefix"), p)
	var want bytes.Buffer
	err := json.Compact(&want, p)
	if !ok {
		if !bytes.Equal(got, []byte("prefix")) {
			t.Fatalf("fastCompact(%q) failed but wrote %q", p, got)
		}
		// Giving up is allowed on valid JSON only when it is deep.
		if err == nil && maxDepth(want.Bytes()) < maxFastDepth {
			t.Fatalf("fastCompact(%q) failed; json.Compact accepts it", p)
		}
		return
	}
	if err != nil {
		t.Fatalf("fastCompact(%q) accepted what json.Compact rejects: %v", p, err)
	}
	if !bytes.Equal(got[len("prefix"):], want.Bytes()) {
		t.Fatalf("fastCompact(%q) = %q, json.Compact %q", p, got[len("prefix"):], want.Bytes())
	}
}

func maxDepth(js []byte) int {
	d, m := 0, 0
	inStr := false
	for i := 0; i < len(js); i++ {
		switch c := js[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			d++
			m = max(m, d)
		case !inStr && (c == '}' || c == ']'):
			d--
		}
	}
	return m
}

// fuzzState is shared by the checks, so that interned strings are reused
// across inputs as they are across messages.
var fuzzState fastState

func checkFastMessage(t *testing.T, p []byte) {
	t.Helper()
	var fields []member
	js, _, ok := fastCompactFields(nil, p, &fields)
	if !ok || len(js) == 0 || js[0] != '{' {
		return
	}
	var fast chat.Message
	if !fastMessage(js, fields, &fast, &fuzzState) {
		return
	}
	if fuzzState.content != nil {
		fast.Content = string(appendUnquoted(nil, fuzzState.content))
	}
	var slow chat.Message
	if err := json.Unmarshal(js, &slow); err != nil {
		t.Fatalf("fastMessage(%q) succeeded; json.Unmarshal fails: %v", js, err)
	}
	slow.Time = "" // not decoded by the fast path: nothing reads it
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fastMessage(%q) = %+v, json.Unmarshal %+v", js, fast, slow)
	}
	want := orderedClientList(js)
	if len(want) != len(fuzzState.list) || (len(want) > 0 && !reflect.DeepEqual(want, fuzzState.list)) {
		t.Fatalf("fastMessage(%q) client list %v, orderedClientList %v", js, fuzzState.list, want)
	}
}

// FuzzChatFast is a differential test: whatever the fast path accepts, it
// must decode as encoding/json does.
func FuzzChatFast(f *testing.F) {
	for _, s := range chatFastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		checkFastCompact(t, p)
		checkFastMessage(t, p)
	})
}

// BenchmarkChatParse measures the chat layer alone on a typical broadcast,
// with its human line (text output) and without (NDJSON).
func BenchmarkChatParse(b *testing.B) {
	short := `{"type":"say","from_client_id":"7f00000108fd00000001","from_client_name":"alice","to_client_id":"all","content":"hello everyone, this is a message of ordinary length \u4f60\u597d","time":"2026-11-24 18:42:37"}`
	// A long say as PHP's json_encode writes mixed-script text.
	long := `{"type":"say","from_client_id":"7f00000108fc00000002","from_client_name":"mynick","to_client_id":"all","content":"` +
		strings.Repeat(`\u0430\u043a atC:\\path \u00e7a \u0434\u0435\u043b\u0430a &amp; b the \u043a\u0430\u043a it&#039;s \u03c3\u03bf\u03c5\u8c22\u8c22 what<br \/>\n`, 40) +
		`","time":"2026-11-24 18:42:03"}`
	for _, tc := range []struct {
		name  string
		p     string
		lines bool
		// repeated parses the same payload every time, as the copies of
		// a broadcast are; otherwise each payload differs from the last
		// few, so every one is read.
		repeated bool
	}{
		{"short/lines", short, true, false}, {"short/nolines", short, false, false},
		{"long/lines", long, true, false}, {"long/nolines", long, false, false},
		{"long/lines/repeated", long, true, true}, {"long/nolines/repeated", long, false, true},
	} {
		lines := tc.lines
		// Payloads that differ in the time's last digit, more of them
		// than the parser remembers.
		var ps [][]byte
		for d := range 10 {
			n := len(tc.p) - len(`7"}`)
			ps = append(ps, []byte(tc.p[:n]+strconv.Itoa(d)+tc.p[n+1:]))
		}
		if tc.repeated {
			ps = ps[:1]
		}
		b.Run(tc.name, func(b *testing.B) {
			r := &chatReader{}
			r.chatParser = newChatParser(Options{NoLines: !lines})
			cc := &chatConn{server: testServer}
			b.SetBytes(int64(len(ps[0])))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if js, line := r.message(cc, ps[i], false); js == nil || (line == "") == lines {
					b.Fatal("not decoded")
				}
				i = (i + 1) % len(ps)
			}
		})
	}
}

// BenchmarkUnquote decodes a string as PHP's json_encode writes it: every
// non-ASCII character escaped.
func BenchmarkUnquote(b *testing.B) {
	q := []byte(`"onjour yes\ud83c\uddeb\ud83c\uddf7\u05e9\u05dc\u05d5\u05dd hello? \ud83c\uddeb\ud83c\uddf7 \u2764\ufe0f <br \/>\n va all \u043f\u0440\u0438\u0432\u0435\u0442"`)
	var scratch []byte
	b.SetBytes(int64(len(q)))
	b.ReportAllocs()
	for b.Loop() {
		_ = unquote(q, &scratch)
	}
}

// checkUnquotedCut checks appendUnquotedCut against appendUnquoted: the
// cut text is the longest start of the whole text within max bytes that
// ends between characters, and the length returned is the whole text's.
func checkUnquotedCut(t *testing.T, q []byte, max int) {
	t.Helper()
	full := appendUnquoted(nil, q)
	got, n := appendUnquotedCut([]byte("x"), q, max)
	got = got[1:]
	if n != len(full) || !bytes.HasPrefix(full, got) {
		t.Fatalf("appendUnquotedCut(%q, %d) = %q, %d; whole text %q", q, max, got, n, full)
	}
	if max <= 0 {
		if len(got) != len(full) {
			t.Fatalf("appendUnquotedCut(%q, %d) cut: %q", q, max, got)
		}
		return
	}
	if len(got) > max || (len(got) < len(full) && len(got) <= max-4) {
		t.Fatalf("appendUnquotedCut(%q, %d) = %d bytes of %d", q, max, len(got), len(full))
	}
	if rest := full[len(got):]; len(rest) > 0 && !utf8.RuneStart(rest[0]) {
		t.Fatalf("appendUnquotedCut(%q, %d) splits a character", q, max)
	}
}

func TestUnquotedCut(t *testing.T) {
	long := `"` + strings.Repeat(`\u0430\u043a atC:\\path \u8c22 \ud83d\ude00 \ud83d é \"q\" `, 30) + `"`
	for _, max := range []int{0, 1, 2, 3, 4, 5, 10, 100, 1023, 1024, 5000} {
		for _, q := range []string{`""`, `"abc"`, `"\u732a\u732a"`, `"\ud83d\ude00"`, `"\udc00x"`, long} {
			checkUnquotedCut(t, []byte(q), max)
		}
	}
}

func FuzzUnquotedCut(f *testing.F) {
	f.Add([]byte(`"\u0430\u043a at\\ \ud83d\ude00 é"`), 7)
	f.Fuzz(func(t *testing.T, q []byte, max int) {
		var s string
		if len(q) < 2 || q[0] != '"' || !utf8.Valid(q) || json.Unmarshal(q, &s) != nil {
			return // appendUnquotedCut takes valid JSON strings of valid UTF-8 only
		}
		checkUnquotedCut(t, q, max%2000)
	})
}
