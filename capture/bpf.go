package capture

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// The kernel filter of a live capture is classic BPF, assembled here rather
// than compiled from a tcpdump expression: there is no libpcap to compile
// one. It keeps TCP over IPv4 and IPv6 whose source or destination port is
// one of the wanted ports (every TCP port when none is given), and lets
// through what it cannot judge without following headers:
//   - IPv4 fragments other than the first: the TCP header is in the first;
//     the Decoder rebuilds the datagram and the caller checks its ports.
//   - IPv6 packets with extension headers (fragments included), which cBPF
//     cannot walk without loops. They are rare on TCP.
// So the filter is coarse on those, and the caller should still check
// ports on what it decodes.
//
// Accepted packets are cut to the snap length by the filter's return value,
// as libpcap does.

// filterLink says where the network header starts in what the filter sees.
type filterLink int

const (
	// filterEthernet: Ethernet frames, possibly with one or two VLAN tags
	// still in the frame (the kernel usually strips them first).
	filterEthernet filterLink = iota
	// filterNetwork: the network header at offset 0 (cooked SOCK_DGRAM
	// sockets, and raw IP devices such as tun).
	filterNetwork
)

// Kernel constants for the loopback rule.
const (
	packetOutgoing = 4 // PACKET_OUTGOING, skb->pkt_type of a sent packet
)

// portFilter assembles the filter. With dropLoopbackOutgoing, a prologue
// drops packets sent on loopback devices: the kernel shows each of those
// twice, once sent and once received, and libpcap keeps only the received
// copy. The prologue uses ancillary loads (packet type, ARPHRD type) that
// bpf.VM cannot run, so tests run the rest without it.
func portFilter(link filterLink, ports []uint16, snaplen int, dropLoopbackOutgoing bool) ([]bpf.RawInstruction, error) {
	if len(ports) > MaxPorts {
		return nil, fmt.Errorf("%w list: %d ports, at most %d", ErrBadPort, len(ports), MaxPorts)
	}
	var a asm
	if dropLoopbackOutgoing {
		a.emit(bpf.LoadExtension{Num: bpf.ExtType})
		a.jumpIf(bpf.JumpNotEqual, packetOutgoing, "link", "")
		a.emit(bpf.LoadExtension{Num: bpf.ExtLinkLayerType})
		a.jumpIf(bpf.JumpEqual, arphrdLoopback, "reject", "")
	}
	a.label("link")
	switch link {
	case filterEthernet:
		// A = ethertype, X = offset of the network header.
		a.emit(bpf.LoadAbsolute{Off: 12, Size: 2})
		a.jumpIf(bpf.JumpEqual, etherTypeVLAN, "vlan1", "")
		a.jumpIf(bpf.JumpEqual, etherTypeQinQ, "vlan1", "")
		a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: 14})
		a.jump("l3")
		a.label("vlan1")
		a.emit(bpf.LoadAbsolute{Off: 16, Size: 2})
		a.jumpIf(bpf.JumpEqual, etherTypeVLAN, "vlan2", "")
		a.jumpIf(bpf.JumpEqual, etherTypeQinQ, "vlan2", "")
		a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: 18})
		a.jump("l3")
		a.label("vlan2")
		a.emit(bpf.LoadAbsolute{Off: 20, Size: 2})
		a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: 22})
		a.label("l3")
		a.jumpIf(bpf.JumpEqual, etherTypeIPv4, "ipv4", "")
		a.jumpIf(bpf.JumpEqual, etherTypeIPv6, "ipv6", "reject")
	case filterNetwork:
		// The IP version nibble tells the protocol: only IP is kept.
		a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: 0})
		a.emit(bpf.LoadAbsolute{Off: 0, Size: 1})
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4})
		a.jumpIf(bpf.JumpEqual, 4, "ipv4", "")
		a.jumpIf(bpf.JumpEqual, 6, "ipv6", "reject")
	default:
		return nil, fmt.Errorf("filter: unknown link %d", link)
	}

	a.label("ipv4")
	a.emit(bpf.LoadIndirect{Off: 9, Size: 1}) // protocol
	a.jumpIf(bpf.JumpEqual, ipProtoTCP, "", "reject")
	a.emit(bpf.LoadIndirect{Off: 6, Size: 2}) // flags and fragment offset
	a.jumpIf(bpf.JumpBitsSet, 0x1fff, "accept", "")
	// X += 4 * IHL. "ldxb 4*([k]&0xf)" takes an absolute offset only, and
	// the header may start at 14, 18 or 22.
	a.emit(bpf.LoadIndirect{Off: 0, Size: 1})
	a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x0f})
	a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2})
	a.emit(bpf.ALUOpX{Op: bpf.ALUOpAdd})
	a.emit(bpf.TAX{})
	a.jump("tcp")

	a.label("ipv6")
	a.emit(bpf.LoadIndirect{Off: 6, Size: 1}) // next header
	a.jumpIf(bpf.JumpEqual, ipProtoTCP, "", "ext6")
	a.emit(bpf.TXA{})
	a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 40})
	a.emit(bpf.TAX{})
	a.jump("tcp")
	a.label("ext6")
	for _, nh := range []uint32{ipProtoHopByHop, ipProtoRouting, ipProtoFragment, ipProtoDestOpts, ipProtoAH, ipProtoMobility, ipProtoHIP, ipProtoShim6} {
		a.jumpIf(bpf.JumpEqual, nh, "accept", "")
	}
	a.jump("reject")

	// X = offset of the TCP header.
	a.label("tcp")
	if len(ports) == 0 {
		a.jump("accept")
	} else {
		for _, off := range []uint32{0, 2} { // source port, then destination port
			a.emit(bpf.LoadIndirect{Off: off, Size: 2})
			for _, p := range ports {
				a.jumpIf(bpf.JumpEqual, uint32(p), "accept", "")
			}
		}
	}
	a.label("reject")
	a.emit(bpf.RetConstant{Val: 0})
	a.label("accept")
	a.emit(bpf.RetConstant{Val: uint32(snaplen)})
	return a.assemble()
}

// asm assembles cBPF with named jump targets. Jumps only go forward.
type asm struct {
	ins    []bpf.Instruction
	labels map[string]int
	fixes  []fixup
}

// fixup is a jump whose targets are labels, resolved by assemble.
type fixup struct {
	at      int
	cond    bpf.JumpTest
	val     uint32
	ifTrue  string // "" is the next instruction
	ifFalse string
	always  bool // an unconditional jump to ifTrue
}

func (a *asm) emit(i bpf.Instruction) { a.ins = append(a.ins, i) }

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = make(map[string]int)
	}
	a.labels[name] = len(a.ins)
}

// jumpIf emits "if A cond val goto ifTrue else goto ifFalse".
func (a *asm) jumpIf(cond bpf.JumpTest, val uint32, ifTrue, ifFalse string) {
	a.fixes = append(a.fixes, fixup{at: len(a.ins), cond: cond, val: val, ifTrue: ifTrue, ifFalse: ifFalse})
	a.ins = append(a.ins, nil)
}

// jump emits "goto target".
func (a *asm) jump(target string) {
	a.fixes = append(a.fixes, fixup{at: len(a.ins), always: true, ifTrue: target})
	a.ins = append(a.ins, nil)
}

func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	skip := func(from int, label string) (uint32, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := a.labels[label]
		if !ok {
			return 0, fmt.Errorf("filter: no label %q", label)
		}
		d := to - from - 1
		if d < 0 {
			return 0, fmt.Errorf("filter: backward jump to %q", label)
		}
		return uint32(d), nil
	}
	for _, f := range a.fixes {
		t, err := skip(f.at, f.ifTrue)
		if err != nil {
			return nil, err
		}
		if f.always {
			a.ins[f.at] = bpf.Jump{Skip: t}
			continue
		}
		e, err := skip(f.at, f.ifFalse)
		if err != nil {
			return nil, err
		}
		if t > 255 || e > 255 {
			return nil, fmt.Errorf("filter: jump too far (%d, %d)", t, e)
		}
		a.ins[f.at] = bpf.JumpIf{Cond: f.cond, Val: f.val, SkipTrue: uint8(t), SkipFalse: uint8(e)}
	}
	return bpf.Assemble(a.ins)
}
