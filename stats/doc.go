// Package stats counts a capture's messages per connection and per user,
// and each server's fan-out, for `chatsniff read --stats`.
//
// A Collector is a decode.Sink placed where the conversation view would
// be: it keeps counters, never events, so its memory grows with the
// connections and users of the capture, not with its messages. Fan-out
// (one broadcast sent as N identical copies, one per client) is found by
// matching a server's identical server → client payloads across
// connections within FanoutWindow of a group's first copy (fanout.go);
// the groups still open are the only state kept per message, and they are
// evicted as capture time passes the window.
//
// Report returns the figures; WriteText prints them as aligned tables,
// WriteJSON as one JSON object (the --stats --json output).
package stats
