package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
)

// liveAnySupported says whether live capture has the "any" pseudo-device.
const liveAnySupported = true

// OpenLive starts capturing on a live interface through an AF_PACKET
// TPACKET_V3 ring (pure Go: no libpcap, no cgo). Only TCP on opts.Ports gets
// past the kernel filter (see portFilter for the few exceptions).
//
// What Next returns depends on the interface, as with tcpdump -w:
//   - "any", and devices whose link header Decode does not know: Linux
//     cooked v2 frames (LINKTYPE_LINUX_SLL2), rebuilt from what the kernel
//     reports for each packet, as libpcap does.
//   - Ethernet and loopback devices: Ethernet frames, VLAN tags put back.
//   - devices without link header (tun, wireguard): raw IP.
//
// Packets sent on a loopback device are kept once, not twice. Next returns
// ErrTimeout after opts.Timeout without packets; Close may be called from
// another goroutine to stop a Next in progress (it then returns io.EOF).
func OpenLive(opts LiveOptions) (Source, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &liveSource{name: opts.Interface, hatypes: make(map[int]uint16)}
	bindName := ""
	socket := afpacket.SocketDgram
	fl := filterNetwork
	s.link, s.cooked = layers.LinkTypeLinuxSLL2, true
	if opts.Interface != "any" {
		ifi, err := net.InterfaceByName(opts.Interface)
		if err != nil {
			return nil, noInterface(opts.Interface)
		}
		if ifi.Flags&net.FlagUp == 0 {
			return nil, fmt.Errorf("live capture on %s: the interface is down", opts.Interface)
		}
		bindName = opts.Interface
		switch arphrdOf(ifi) {
		case arphrdEther, arphrdLoopback:
			socket, fl = afpacket.SocketRaw, filterEthernet
			s.link, s.cooked = layers.LinkTypeEthernet, false
		case arphrdNone:
			socket = afpacket.SocketRaw
			s.link, s.cooked = layers.LinkTypeRaw, false
		}
	}

	// One block must hold the largest packet with its headers; TPACKET_V3
	// fills blocks with as many packets as fit and hands a block over when
	// it is full or opts.Timeout has passed.
	blockSize := 64 << 10
	for blockSize < opts.Snaplen+4096 {
		blockSize <<= 1
	}
	numBlocks := max(opts.BufferMB<<20/blockSize, 4)
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(bindName),
		socket,
		afpacket.TPacketVersion3,
		afpacket.OptBlockSize(blockSize),
		afpacket.OptFrameSize(4096),
		afpacket.OptNumBlocks(numBlocks),
		afpacket.OptBlockTimeout(opts.Timeout),
		afpacket.OptPollTimeout(opts.Timeout),
		afpacket.OptAddVLANHeader(s.link == layers.LinkTypeEthernet),
	)
	if err != nil {
		return nil, openError(opts.Interface, err)
	}
	prog, err := portFilter(fl, opts.Ports, opts.Snaplen, true)
	if err == nil {
		err = tp.SetBPF(prog)
	}
	if err != nil {
		tp.Close()
		return nil, fmt.Errorf("live capture on %s: attach filter: %w", opts.Interface, err)
	}
	// The socket took packets between its bind and the filter: those
	// stamped before now are skipped, as if the capture started now.
	s.notBefore = time.Now()
	s.tp = tp
	return s, nil
}

// openError turns a failure to open the socket into a one-line error.
func openError(name string, err error) error {
	switch {
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return &permError{errno: err}
	case errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return noInterface(name)
	}
	return fmt.Errorf("live capture on %s: %w", name, err)
}

// noInterface says that name does not exist and which interfaces do.
func noInterface(name string) error {
	names := []string{}
	if list, err := Interfaces(); err == nil {
		for _, i := range list {
			names = append(names, i.Name)
		}
	}
	return fmt.Errorf("%w %q (available: %s)", ErrNoInterface, name, joinNames(names))
}

// liveSource reads an AF_PACKET ring.
type liveSource struct {
	name   string
	link   layers.LinkType
	cooked bool // SOCK_DGRAM: Next puts a Linux SLL2 header in front

	mu        sync.Mutex // held by Next while it waits; Close takes it to free the ring
	tp        *afpacket.TPacket
	notBefore time.Time
	started   bool           // a packet at or after notBefore was seen
	statsAt   time.Time      // capture time of the last read of the kernel's counters
	buf       []byte         // the SLL2 header and packet of a cooked capture
	hatypes   map[int]uint16 // ARPHRD type by ifindex, when the ring's sockaddr_ll is not readable

	closed  atomic.Bool
	packets atomic.Uint64
	dropped atomic.Uint64
}

// Next returns the next packet, ErrTimeout when none came within the
// timeout, or io.EOF once the source is closed. data is valid until the next
// call or Close.
func (s *liveSource) Next() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed.Load() {
			return nil, ci, 0, io.EOF
		}
		data, ci, err = s.tp.ZeroCopyReadPacketData()
		if err != nil {
			s.updateStats()
			if errors.Is(err, afpacket.ErrTimeout) {
				if s.closed.Load() {
					return nil, ci, 0, io.EOF
				}
				return nil, ci, 0, ErrTimeout
			}
			return nil, ci, 0, fmt.Errorf("live capture on %s: %w", s.name, err)
		}
		if !s.started {
			if ci.Timestamp.Before(s.notBefore) {
				continue
			}
			s.started = true
		}
		if s.cooked {
			data = s.cook(data, &ci)
		}
		// The drop counter is a system call away: read it now and then.
		if n := s.packets.Add(1); n%4096 == 0 || ci.Timestamp.Sub(s.statsAt) > time.Second {
			s.statsAt = ci.Timestamp
			s.updateStats()
		}
		return data, ci, s.link, nil
	}
}

// cook puts a Linux SLL2 header in front of a packet read from a SOCK_DGRAM
// ring, from the sockaddr_ll the kernel stored with it.
func (s *liveSource) cook(data []byte, ci *gopacket.CaptureInfo) []byte {
	var (
		proto   uint16
		ifindex = ci.InterfaceIndex
		hatype  uint16
		pkttype uint8
		addr    []byte
	)
	if sa, ok := ringSockaddr(data); ok {
		proto = binary.BigEndian.Uint16(sa.Protocol[:])
		ifindex, hatype, pkttype = int(sa.Ifindex), sa.Hatype, sa.Pkttype
		addr = sa.Addr[:min(int(sa.Halen), len(sa.Addr))]
	} else {
		// Only IP passes the filter, so the version tells the protocol.
		if len(data) > 0 && data[0]>>4 == 6 {
			proto = etherTypeIPv6
		} else {
			proto = etherTypeIPv4
		}
		hatype = s.hatypeOf(ifindex)
		pkttype = packetHost
	}
	s.buf = appendSLL2(s.buf[:0], proto, uint32(ifindex), hatype, pkttype, addr)
	s.buf = append(s.buf, data...)
	ci.CaptureLength = len(s.buf)
	ci.Length += len(s.buf) - len(data)
	return s.buf
}

// hatypeOf returns the ARPHRD type of interface ifindex, cached.
func (s *liveSource) hatypeOf(ifindex int) uint16 {
	if t, ok := s.hatypes[ifindex]; ok {
		return t
	}
	var t uint16
	if ifi, err := net.InterfaceByIndex(ifindex); err == nil {
		t = arphrdOf(ifi)
	}
	s.hatypes[ifindex] = t
	return t
}

// updateStats reads the kernel's drop counter. Callers hold s.mu.
func (s *liveSource) updateStats() {
	if _, v3, err := s.tp.SocketStats(); err == nil {
		s.dropped.Store(uint64(v3.Drops()))
	}
}

// Stats reports the packets returned and those the kernel dropped because
// the ring was full. It is safe to call from another goroutine.
func (s *liveSource) Stats() Stats {
	return Stats{Packets: s.packets.Load(), Dropped: s.dropped.Load()}
}

// Close stops the capture, waiting for a Next in progress to return (at
// most the timeout). It is safe to call from another goroutine, and more
// than once.
func (s *liveSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateStats()
	s.tp.Close()
	return nil
}
