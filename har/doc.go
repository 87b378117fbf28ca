// Package har writes the WebSocket connections of a capture as a HAR 1.2
// file, as Chrome DevTools exports them.
//
// Each WebSocket connection is one entry: its upgrade request and 101
// answer as request and response (header by header as sent, from
// decode.Handshake; made up from the open event when the upgrade was not
// captured, with headersSize -1 and a comment), and its messages in
// Chrome's "_webSocketMessages" extension: "send" from the client,
// "receive" from the server, epoch seconds with microseconds, the opcode,
// and the payload after unmasking and inflating. Control frames (close,
// ping, pong) are included. A binary message's data is base64, as Chrome
// writes it; a payload of another opcode that is not UTF-8 (a text frame
// breaking RFC 6455, a close frame's status code) is base64 too, marked
// "encoding": "base64". A rejected upgrade is an entry of its own with the
// server's status and no messages, as DevTools lists a failed WebSocket;
// Engine.IO long-polling and TLS that could not be decrypted are left out.
// "connection" is the server's port and "_connectionId" the client's, as
// Chrome's export and importer have them.
//
// The Writer is a decode.Sink. An entry is written when its connection
// closes (or at Close for those still open, in the order they opened), so
// the file grows as the capture is read, and entries are in the order
// their connections closed: HAR requires no order, and DevTools sorts by
// startedDateTime when it imports. Messages of the connections still open
// are held until then, within MaxHeld bytes in all; past it messages are
// not kept and their number is in the entry's comment.
package har
