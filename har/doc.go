// Package har writes the WebSocket connections of a capture as a HAR 1.2
// file, as Chrome DevTools exports them: one entry per connection, its
// upgrade request and 101 answer as request and response, and its messages
// in Chrome's "_webSocketMessages" extension, so that a capture can be
// opened where HAR files are read (DevTools' Network panel, HAR viewers).
//
// The Writer is a decode.Sink. An entry is written when its connection
// closes, so the file grows as the capture is read and entries are in the
// order their connections closed (HAR does not require an order; Chrome
// sorts by startedDateTime when it imports). Messages of the connections
// still open are held until then, within MaxHeld bytes in all.
package har
