// Package reassembly turns TCP segments into ordered byte streams, one per
// direction of each connection, with lost bytes reported as gaps and idle
// connections ended by capture time.
//
// It is its own engine, made for one loop feeding it with no goroutine per
// stream: the sniffer's packet loop is one goroutine, and gopacket's general
// reassembly, which this package wrapped before (locks, a map keyed by two
// Flows, page lists, a flush walking every connection each second), cost
// more than half of that loop's per-packet budget. In-order data is handed
// over straight from the packet, with no copy and no allocation; only
// out-of-order data is copied, into reused buffers, within bounds per
// connection and in total. Timeouts look only at the connections they may
// concern. Its consumer implements Handler and Conn; the decoder (package
// decode) is that consumer.
package reassembly
