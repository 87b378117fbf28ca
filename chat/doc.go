// Package chat holds the message types of the two workerman-chat protocols,
// and the PHP json_encode escaping that reproduces the real server's bytes:
// the only code the sniffer and the bundled chat server share.
//
// Two protocols are in use on the wire (see README, "Chat protocols"):
//
//   - "uid", the 2014 protocol of the Workerman manual's tcpdump walkthrough:
//     users are numbered (uid is a JSON number) and there are no rooms.
//   - "room", today's workerman-chat: users have a 20-hex-digit client_id,
//     log in to a room, and the server pings every 10 s.
//
// Each struct's fields are in the order the real server writes its keys, so
// that an encoder walking the fields reproduces the bytes of the real thing.
package chat
