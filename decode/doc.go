// Package decode turns a TCP connection's reassembled byte streams into
// typed events: the HTTP/1.1 upgrade, RFC 6455 WebSocket frames and messages
// (unmasked, joined, inflated per RFC 7692). What the messages say is the
// next stage's (package app: workerman-chat JSON, Socket.IO).
//
// Client frames are unmasked in one place, Mask in mask.go.
//
// A Decoder is the reassembly.Handler of the pipeline; each connection gets
// a Conn that reads, in order:
//
//   - http.go, conn.go: HTTP heads until a GET with Upgrade: websocket and its
//     101 answer (keep-alive requests before it are passed over, bodies
//     skipped unread; an upgrade answered otherwise is a rejected event). The side that sends the request is the client. A
//     connection that never upgrades emits nothing.
//   - frame.go, stream.go: frames, parsed as bytes arrive (a split header
//     waits, at most 14 bytes; payload goes straight into the message
//     buffer, unmasked), fragments joined, control frames reported between
//     them. A protocol violation is an error event and a flag on its
//     message (Event.Violations), and decoding goes on wherever the frame's
//     header still says where it ends, as Wireshark and Zeek decode on;
//     only a header that cannot be right loses the framing, and the
//     direction then resumes as after a gap.
//   - inflate.go: permessage-deflate, one window per direction.
//   - polling.go: Engine.IO's HTTP long-polling (request targets with
//     transport=polling), which never upgrades: an open event for its
//     first request, then each request or response body as a message
//     (Polling set), de-chunked and its Content-Encoding undone.
//
// Without a captured handshake (Config.Midstream), and after bytes lost in a
// gap, decoding starts again at a Data call (a segment boundary) whose bytes
// are plausible frames.
//
// Nothing read from the wire decides an allocation: heads are bounded by
// MaxHead, a message by Config.MaxMessage (bytes past it are counted, not
// kept), inflated output by the same cap. Events are handed to the Sink one
// at a time in a reused Event, so a message costs no allocation in the
// steady state.
package decode
