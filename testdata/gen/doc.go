// Command gen writes synthetic workerman-chat captures of any size, with the
// counts a decoder should find in them, for chatsniff's tests and for
// scripts/bench.
//
//	go run ./testdata/gen -o big.pcap -size 1GB
//	go run ./testdata/gen -o small.pcap -messages 5000 -protocol uid -deflate
//
// The capture is what a loopback tcpdump of a busy workerman-chat server
// would hold: browsers on 127.x.y.z (and ::1) connect to 127.0.0.1:7272 with
// a real TCP handshake and HTTP upgrade, log in, chat in rooms (or in the
// 2014 "uid" protocol), answer the server's pings and leave with a close
// frame or a bare FIN. Every say from a client is relayed by the server to
// every connection of its room, so server frames dominate as they do in
// reality. Along the way it produces what a decoder must cope with: MSS
// segmentation, several frames coalesced in one segment, masked client
// frames, fragmented messages with a ping between fragments, messages over
// 64 KiB (64-bit lengths), non-ASCII JSON, permessage-deflate with context
// takeover (-deflate), IPv6, and page loads on port 55151 that are not
// WebSocket at all. With -tls every WebSocket connection is wss:// (TLS
// 1.3, AES-128-GCM, the handshake as a browser makes it) and the secrets
// go to FILE.keys, for chatsniff --keylog and tshark.
//
// Beside FILE it writes FILE.json (see Expected): packets, connections, and
// messages per direction and opcode, so that a test or the benchmark can
// check a decoder's counts. The same flags and -seed give the same bytes.
//
// Packets are streamed through a bufio.Writer as they are made, so memory
// depends on the number of connections alive at once (-alive), never on the
// size of the file.
package main
