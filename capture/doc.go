// Package capture reads packets from capture files (pcap, pcapng, gzipped,
// or stdin) and live interfaces (AF_PACKET, pure Go), and decodes each one's
// link and network layers down to TCP.
//
// Its one job is to turn "bytes from somewhere" into TCP segments with their
// capture time; reassembly takes it from there. The pieces:
//
//   - file.go: OpenFile and NewReader, a Source over pcap (µs or ns, either
//     byte order) and pcapng (each packet with its interface's link type),
//     gzip detected by its magic, never seeking, so "-" reads stdin.
//   - pcapng.go: a pcapng interface of a link type the Decoder cannot read
//     has its packets skipped and is warned about once (Warner); a file
//     with no other interface is an error.
//   - decode.go, defrag.go: Decoder, link layers (Ethernet with VLAN tags
//     and PPPoE, Linux SLL and SLL2, BSD loopback, raw IP) and IPv4/IPv6 down
//     to a gopacket layers.TCP, with IP fragments rebuilt within bounds.
//   - live.go, live_linux.go, ring_linux.go, bpf.go: OpenLive, a TPACKET_V3
//     ring (gopacket/afpacket) with a kernel BPF port filter; "any" gives
//     Linux SLL2 frames as libpcap does, loopback packets are kept once.
//   - writer.go: Writer, a pcap writer for -w that tcpdump and tshark read.
//   - interfaces.go, ports.go: Interfaces (tcpdump -D) and ParsePorts.
//
// Errors are one line that names the file or interface, and wrap the
// sentinels in errors.go for errors.Is.
package capture
