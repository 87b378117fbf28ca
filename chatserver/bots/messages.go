package bots

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Demo names and lines: some non-ASCII (CJK, accents, emoji, right to
// left), some with markup the server must escape, some long.
var (
	demoNames = []string{"alice", "bob", "猪猪", "Zoé", "Δημήτρης", "Ольга", "مريم", "ken<b>", "O'Brien", "🐧tux"}
	demoLines = []string{
		"hi, all !",
		"hello from the bots",
		"你好，世界",
		"ça va ? très bien, merci",
		"Добрый день",
		"مرحبا بالجميع",
		"emoji time 🎉🚀✨",
		"<b>not bold</b> & <script>alert(1)</script>",
		"a line\nand another line",
		"path/with/slashes and \"quotes\" and \\backslashes",
		"tab\tseparated\tvalues",
		"ok",
	}
)

func demoName(i int) string {
	return fmt.Sprintf("%s%d", demoNames[i%len(demoNames)], i)
}

// demoLine picks a line; about one in ten is long (a few hundred bytes to
// about 20 KB: frames with a 16-bit extended length, worth deflating).
func demoLine(r *rand.Rand) string {
	if r.IntN(10) == 0 {
		base := demoLines[r.IntN(len(demoLines))]
		return strings.Repeat(base+" ", 50+r.IntN(400))
	}
	return demoLines[r.IntN(len(demoLines))]
}
