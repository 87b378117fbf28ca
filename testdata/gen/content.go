package main

import (
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// corpusSize is the amount of chat text made up front. Every message's
// content is a slice of it, so contents cost no allocation, and it is larger
// than the largest message (hugeMax) so that any length can be cut.
const corpusSize = 1 << 20

// The bank of words and bits of chat the corpus is drawn from: several
// scripts (so that the server's \uXXXX escapes and surrogate pairs show up),
// the characters PHP's htmlspecialchars rewrites, quotes and backslashes that
// the client's JSON must escape, and newlines that nl2br turns into <br />.
var words = []string{
	"hi", "all", "hello", "ok", "lol", "yes", "no", "thanks", "see", "you",
	"tomorrow", "what", "about", "the", "meeting", "at", "5pm", "?", "!",
	"bonjour", "ça", "va", "très", "bien", "à", "demain", "déjà", "où",
	"你好", "大家好", "谢谢", "猪猪", "对", "没问题", "今天", "天气", "不错",
	"こんにちは", "ありがとう", "привет", "как", "дела", "γειά", "σου",
	"مرحبا", "שלום", "😀", "👍", "🎉", "🙈", "❤️", "🇫🇷",
	"<b>bold</b>", "a & b", `"quoted"`, "it's", "1 < 2", "x > y", `C:\path`,
	"http://127.0.0.1:55151/?room_id=2", "\n", "\n", "\r\n", "\t", "...",
}

// names are the nicknames users pick; some need escaping on the way back.
var names = []string{
	"alice", "bob", "carol", "mynick", "猪猪", "小明", "Zoë", "José",
	"Ольга", "ミク", "dave <x>", "O'Brien", "tom & jerry", `say "hi"`,
	"😀smile", "eve", "mallory", "trent", "peggy", "victor",
}

// makeCorpus returns corpusSize bytes (give or take a word) of chat text.
func makeCorpus(rng *rand.Rand) string {
	var b strings.Builder
	b.Grow(corpusSize + 64)
	for b.Len() < corpusSize {
		b.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(4) != 0 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// cut returns about n bytes of the corpus from a random place, on rune
// boundaries so that the text stays valid UTF-8.
func cut(rng *rand.Rand, corpus string, n int) string {
	if n >= len(corpus) {
		n = len(corpus) - 1
	}
	start := rng.IntN(len(corpus) - n)
	for start > 0 && !utf8.RuneStart(corpus[start]) {
		start--
	}
	end := start + n
	for end < len(corpus) && !utf8.RuneStart(corpus[end]) {
		end++
	}
	s := corpus[start:end]
	// A message never starts or ends with blanks: the page trims nothing,
	// but people do not type them, and " " alone would be an odd say.
	if t := strings.TrimSpace(s); t != "" {
		return t
	}
	return "hi, all !"
}
