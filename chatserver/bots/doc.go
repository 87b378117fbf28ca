// Package bots is `chatsniff bots`: simulated users who connect to a
// workerman-chat compatible server over real WebSocket connections, log in
// and chat, for demos and for load.
//
// In demo mode they say varied messages (some non-ASCII, some long) at a
// given total rate and print what one of them receives. In load mode
// (Options.Load) every message carries a marker in its content (step,
// sender, sequence number, send time), so that each receiver counts what
// it got, spots duplicates and gaps per sender, and measures latency; the
// report gives sent, delivered, expected, lost, duplicated, p50/p99/max
// latency, errors and, given its pid, the server's CPU and memory. A ramp
// finds the highest rate that stays clean.
package bots
