package capture

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// gopacket's afpacket hands out each packet's bytes but not the
// sockaddr_ll the kernel writes next to them (protocol, ifindex, ARPHRD
// type, packet type, source address), which a cooked capture needs to
// rebuild the link header libpcap writes for "-i any". The kernel ABI
// (Documentation/networking/packet_mmap.rst, "TPACKET_V3") lays out each
// packet as:
//
//	start                       struct tpacket3_hdr (tp_snaplen at 12, tp_mac at 24, tp_net at 26)
//	start + 48                  struct sockaddr_ll  (TPACKET_ALIGN(sizeof(tpacket3_hdr)))
//	start + tp_mac              the packet data that afpacket returns
//
// On a SOCK_DGRAM socket (no vnet header, no tp_reserve) tp_mac is
// TPACKET_ALIGN(48 + 20) + 16 = 96, so start is data - 96. ringSockaddr
// checks that guess against the header found there (tp_mac, tp_net and
// tp_snaplen must agree, the family must be AF_PACKET) before trusting it,
// and callers fall back to what they can learn otherwise when it fails.
// data - 96 is always inside the mapped ring: every packet follows a 48-byte
// block descriptor and its own tp_mac >= 96 bytes of header.
const (
	tpacket3HdrAligned = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
	dgramMacOffset     = 96 // tp_mac of a SOCK_DGRAM TPACKET_V3 ring
	tp3SnaplenOffset   = 12
	tp3MacOffset       = 24
	tp3NetOffset       = 26
)

// sockaddrLL mirrors struct sockaddr_ll in host byte order, except
// Protocol, which the kernel stores in network order.
type sockaddrLL struct {
	Family   uint16
	Protocol [2]byte
	Ifindex  int32
	Hatype   uint16
	Pkttype  uint8
	Halen    uint8
	Addr     [8]byte
}

// ringSockaddr returns the sockaddr_ll of a packet that a SOCK_DGRAM
// TPACKET_V3 ring returned as data. It must be called while the ring block
// holding data is still the reader's (before the next read).
func ringSockaddr(data []byte) (sockaddrLL, bool) {
	if len(data) == 0 {
		return sockaddrLL{}, false
	}
	start := unsafe.Add(unsafe.Pointer(unsafe.SliceData(data)), -dgramMacOffset)
	mac := *(*uint16)(unsafe.Add(start, tp3MacOffset))
	net := *(*uint16)(unsafe.Add(start, tp3NetOffset))
	snaplen := *(*uint32)(unsafe.Add(start, tp3SnaplenOffset))
	if mac != dgramMacOffset || net != dgramMacOffset || snaplen != uint32(len(data)) {
		return sockaddrLL{}, false
	}
	sa := *(*sockaddrLL)(unsafe.Add(start, tpacket3HdrAligned))
	if sa.Family != unix.AF_PACKET {
		return sockaddrLL{}, false
	}
	return sa, true
}
