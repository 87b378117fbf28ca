//go:build race

package sniff

// raceSlowdown scales the live test's latency bound: the race detector
// makes code 2–20 times slower (Go's "Data Race Detector" page), and on
// CI's two cores, shared with Chromium and the chat server, a flush that
// takes 60 ms without it took 104 ms with it. The unscaled bound is
// checked by the test command's second, race-free run of the live test.
const raceSlowdown = 2
