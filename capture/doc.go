// Package capture reads packets from capture files (pcap, pcapng, gzipped,
// or stdin) and live interfaces (AF_PACKET, pure Go), and decodes each one's
// link and network layers down to TCP.
package capture
