// Package chatserver is the bundled workerman-chat compatible server: it
// speaks both workerman-chat protocols ("uid" and "room") over WebSocket and
// serves the chat web page, so that what users capture from it is what they
// would capture from the real thing.
//
// The WebSocket handshake, the reading of client frames (unmasking,
// fragments, permessage-deflate, read limits, ping/pong, close) are done by
// github.com/coder/websocket. Writing is not: every server message is
// encoded once, framed once (and deflated at most once) per broadcast, and
// the same bytes are queued to each receiver's bounded queue; one writer
// goroutine per client drains its queue with a single writev. See frame.go
// for the framing, client.go for the queue and writer, hub.go for rooms and
// broadcast, phpjson.go for the bytes PHP's json_encode would write.
//
// Nothing here is shared with the sniffer except package chat's message types.
package chatserver
