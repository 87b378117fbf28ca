// Package pcaptest gives other packages' tests real captures and ways to
// damage them: its one job is test inputs and an independent reference.
//
// It has three parts:
//
//   - the real captures in the module's testdata/ directory (Captures, Path,
//     Load, TestdataDir), with what each one holds, as testdata/README.md
//     documents it;
//   - damage transforms (Reorder, Duplicate, Overlap, DropSegment,
//     CutHandshake, Snaplen, CutMidRecord) that turn a pcap or pcapng file
//     into a new pcap file of the same link type, the kind of input a sniffer
//     meets when the network reorders or retransmits, the kernel drops or
//     truncates packets, or a capture starts late or is cut short; TempFile
//     puts the result where a tool can read it;
//   - TsharkMessages, which runs Debian's tshark on a capture and returns the
//     WebSocket messages it sees (Tally counts them), so a test can compare
//     the decoder with Wireshark's dissector.
//
// Only tests import this package.
package pcaptest
