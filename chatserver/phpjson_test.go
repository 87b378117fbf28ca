package chatserver

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/chat"
)

func TestPHPJSON(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"manual's user_list", chat.UIDUserList{Type: "user_list", UserList: []chat.User{{UID: 783654164, Name: "猪猪"}, {UID: 783700053, Name: "mynick"}}},
			`{"type":"user_list","user_list":[{"uid":783654164,"name":"\u732a\u732a"},{"uid":783700053,"name":"mynick"}]}`},
		{"say with string to_uid", chat.UIDSayNotice{Type: "say", FromUID: 783700053, ToUID: chat.StringID("all"), Content: "hi, all !", Time: "2014-08-12 17:51:02"},
			`{"type":"say","from_uid":783700053,"to_uid":"all","content":"hi, all !","time":"2014-08-12 17:51:02"}`},
		{"say with number to_uid", chat.UIDSayNotice{Type: "say", FromUID: 1, ToUID: chat.NumberID(2), Content: "x", Time: "t"},
			`{"type":"say","from_uid":1,"to_uid":2,"content":"x","time":"t"}`},
		{"slash and html left alone", "</b> <a href=\"x\">&amp;",
			`"<\/b> <a href=\"x\">&amp;"`},
		{"controls", "a\nb\tc\r\x01\x1f\\",
			`"a\nb\tc\r\u0001\u001f\\"`},
		{"astral plane as a surrogate pair", "🙂", `"\ud83d\ude42"`},
		{"line separators", "\u2028\u2029", `"\u2028\u2029"`},
		{"invalid UTF-8", "a\xffb", `"a\ufffdb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := phpJSON(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// FuzzPHPJSON: whatever the string, the PHP-style encoding is pure ASCII,
// has no bare "/", and decodes back to what encoding/json decodes from its
// own encoding.
func FuzzPHPJSON(f *testing.F) {
	for _, s := range []string{"", "猪猪", "a/b", "🙂\u2028", "\xff\xfe", "<b>&</b>\n", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := phpJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range got {
			if c >= utf8.RuneSelf {
				t.Fatalf("non-ASCII byte %#x at %d in %s", c, i, got)
			}
		}
		for i := 0; i < len(got); i++ {
			switch got[i] {
			case '\\':
				i++ // skip the escaped character
			case '/':
				t.Fatalf("bare slash at %d in %s", i, got)
			}
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s does not decode: %v", got, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want && !strings.ContainsRune(want, utf8.RuneError) {
			t.Fatalf("round trip: got %q, want %q", back, want)
		}
	})
}
