package workerman

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// checkRecall parses payloads in order with one parser, which remembers
// recent payloads, and checks each result against a parser that has seen
// nothing before. After each parse the payload's buffer is overwritten,
// as the batches' arenas are reused, so nothing may be kept by reference.
func checkRecall(t *testing.T, opts Options, payloads [][]byte) {
	t.Helper()
	p := newChatParser(opts)
	var pc Parsed
	for i, payload := range payloads {
		buf := bytes.Clone(payload)
		js := p.parse(buf, &pc)
		fresh := newChatParser(opts)
		var want Parsed
		wantJS := fresh.parse(payload, &want)
		if !bytes.Equal(js, wantJS) || (js == nil) != (wantJS == nil) {
			t.Fatalf("%+v: payload %d %q: JSON %q, want %q", opts, i, payload, js, wantJS)
		}
		if isPayload, wantIsPayload := len(js) > 0 && &js[0] == &buf[0], len(wantJS) > 0 && &wantJS[0] == &payload[0]; isPayload != wantIsPayload {
			t.Fatalf("%+v: payload %d %q: JSON is the payload: %t, want %t", opts, i, payload, isPayload, wantIsPayload)
		}
		if !sameParsed(&pc, &want) {
			t.Fatalf("%+v: payload %d %q:\n got %+v\nwant %+v", opts, i, payload, pc, want)
		}
		for k := range buf {
			buf[k] = '#'
		}
	}
}

// sameParsed compares two ParsedChats, empty and nil slices alike.
func sameParsed(a, b *Parsed) bool {
	return a.known == b.known && reflect.DeepEqual(a.msg, b.msg) && a.contentLen == b.contentLen &&
		string(a.content) == string(b.content) && len(a.list) == len(b.list) && (len(a.list) == 0 || reflect.DeepEqual(a.list, b.list))
}

var recallOptions = []Options{{}, {NoLines: true}, {MaxContent: 10}}

func TestChatParserRecall(t *testing.T) {
	say := func(content string) []byte {
		return []byte(`{"type":"say","from_client_id":"7f0000010b5400000001","from_client_name":"alice","to_client_id":"all","content":"` + content + `","time":"2026-11-24 18:42:37"}`)
	}
	login := []byte(`{"type":"login","client_id":"x","client_name":"bob","time":"t","client_list":{"x":"bob","y":"al"}}`)
	spaced := []byte(` { "type" : "say", "to_uid" : 12, "content" : "a\/b \u4f60" } `)
	long := strings.Repeat(`\u4f60\u597d \"q\" `, 50)
	payloads := [][]byte{
		say("hi"), say("hi"), say("ho"), say("h"), say("hi"),
		login, login, spaced, spaced, // compacted: the JSON is a copy
		say(long), say(long), say(long + "x"), say(long),
		[]byte("not json"), []byte("not json"), []byte(`{"type":"say","content":1}`), []byte(`{"type":"say","content":1}`),
		[]byte(""), []byte(""), say("hi"),
	}
	for _, opts := range recallOptions {
		checkRecall(t, opts, payloads)
	}
}

// FuzzChatParserRecall parses a run of payloads made from two, in the
// order the input picks.
func FuzzChatParserRecall(f *testing.F) {
	for _, s := range chatFastSeeds {
		f.Add([]byte(s), []byte(chatFastSeeds[0]), []byte{0, 0, 1, 0, 2, 1, 1})
	}
	f.Fuzz(func(t *testing.T, p0, p1, order []byte) {
		if len(order) > 64 {
			order = order[:64]
		}
		choices := [][]byte{p0, p1, append(bytes.Clone(p0), p1...)}
		var payloads [][]byte
		for _, k := range order {
			payloads = append(payloads, choices[int(k)%len(choices)])
		}
		for _, opts := range recallOptions {
			checkRecall(t, opts, payloads)
		}
	})
}
