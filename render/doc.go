// Package render turns decoder events into output: a readable, coloured
// conversation, NDJSON for machines, or the packet-by-packet --explain
// walkthrough.
//
// It never sees a packet: it gets events, plain packet summaries, a writer
// and a colour scheme. Everything captured is attacker-controlled, so every
// string from the wire goes through the escapers in escape.go before it
// reaches a terminal.
package render
