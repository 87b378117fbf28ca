// Package socketio reads WebSocket messages and HTTP long-polling bodies as
// Engine.IO and Socket.IO, the protocols of socket.io servers and clients.
//
// Engine.IO is the transport layer: revision 3 (socket.io 1.x and 2.x,
// EIO=3) and revision 4 (socket.io 3.x and 4.x, EIO=4), over WebSocket and
// over HTTP long-polling, with each revision's payload framing (engine.go:
// v4 packets separated by 0x1e with binary as "b"+base64; v3 string payloads
// of "<length>:<packet>" where the length counts UTF-16 code units, v3
// binary payloads with lengths written as bytes 0-9 and a 0xff separator).
// Socket.IO is the packet format inside an Engine.IO message (packet.go):
// protocol revisions 4 and 5, as socket.io 2.x, 3.x and 4.x write them,
// with namespaces, ack ids and binary attachments.
//
// A Reader (reader.go) turns each Input, one message of one TCP
// connection, into one Message per Engine.IO packet, each with a human
// line (line.go, chat.go). Its state is keyed by the Engine.IO session id,
// the sid of the open packet and of every later request's query: a session
// that starts on long-polling uses several TCP connections (each GET and
// POST may have its own) and then upgrades to a WebSocket connection, and
// only the sid says they are one session, so that the protocol version,
// a binary packet's attachments, the emits waiting for an ack and the
// user's name carry across them. Binary packets are joined with their
// attachments (binary.go); chat events of the Socket.IO tutorial chat and
// its variants are read as conversation lines (chat.go).
//
// Nothing read from the wire decides an allocation: a v3 length is checked
// against the bytes present before anything is read, attachments are held
// up to MaxAttachments and MaxHeldBytes, and sessions, connections and names
// are bounded tables that start again empty when full.
//
// The package imports only the standard library; package app adapts it to
// the pipeline's events.
package socketio
