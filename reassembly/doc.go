// Package reassembly turns TCP segments into ordered byte streams, one per
// direction of each connection, with lost bytes reported as gaps and idle
// connections flushed by capture time.
//
// It wraps github.com/gopacket/gopacket/reassembly: one Assembler, fed by one
// loop, with no goroutine per stream. Its consumer implements Handler and
// Conn; the decoder (package decode) is that consumer.
package reassembly
