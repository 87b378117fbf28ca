// Package workerman reads workerman-chat's JSON (both protocols of
// package chat) out of WebSocket text messages: each object compacted into
// Event.Chat and written as one human line, Event.ChatLine, such as
// `mynick → all: hi, all !`, with the names learned from what each server
// announced. It is one of the app stage's protocols (package app).
//
// The work has two steps so that it can be spread over cores: parsing
// (Parser, no state but scratch buffers: compacting the JSON and decoding
// its fields, most of the cost) may run on several goroutines in any
// order, and naming (Reader.Line, the names each server announced) sees
// the messages one by one in capture order. Reader.Event does both.
package workerman
