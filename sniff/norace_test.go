//go:build !race

package sniff

// raceSlowdown: see race_test.go.
const raceSlowdown = 1
