package capture

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
)

// Fragments are rebuilt by gopacket's ip4defrag and ip6defrag. Both keep
// what they are given, so each fragment is copied out of the reader's
// buffer; both bound one datagram (64 KiB, 8192 fragments) but not how many
// datagrams they hold. The Decoder bounds that: it mirrors each incomplete
// datagram in pending with the bytes it holds, drops datagrams idle for
// fragmentTimeout of capture time, and drops everything past
// maxFragmentBytes. fragBytes never undercounts what the defragmenters hold.

// fragKey names one datagram under reassembly (RFC 791 and RFC 8200:
// source, destination and identification; the protocol is always TCP here
// for IPv4).
type fragKey struct {
	flow gopacket.Flow
	id   uint32
	v6   bool
}

// fragEntry is the bookkeeping for one datagram under reassembly.
type fragEntry struct {
	bytes int   // bytes held for it, overhead included
	last  int64 // capture time (ns) of its latest fragment
}

// holdFragment accounts for n more bytes held for key, after making room.
func (d *Decoder) holdFragment(key fragKey, n int, now int64) {
	d.sweepFragments(now)
	n += fragmentOverhead
	if d.fragBytes+n > maxFragmentBytes {
		d.resetFragments()
	}
	if d.pending == nil {
		d.pending = make(map[fragKey]*fragEntry)
	}
	e := d.pending[key]
	if e == nil {
		e = &fragEntry{}
		d.pending[key] = e
	}
	e.bytes += n
	e.last = now
	d.fragBytes += n
}

// releaseFragments forgets key: its datagram was rebuilt or dropped.
func (d *Decoder) releaseFragments(key fragKey) {
	if e := d.pending[key]; e != nil {
		d.fragBytes -= e.bytes
		delete(d.pending, key)
	}
}

// resetFragments drops every fragment held.
func (d *Decoder) resetFragments() {
	d.frag4, d.frag6, d.pending, d.fragBytes = nil, nil, nil, 0
}

// sweepFragments drops the datagrams that waited longer than
// fragmentTimeout, at most once a second of capture time.
func (d *Decoder) sweepFragments(now int64) {
	if since := now - d.fragSweep; since < int64(time.Second) && since > -int64(time.Second) {
		return // captures merged from several hosts may step back a little
	}
	d.fragSweep = now
	cutoff := now - fragmentTimeout
	if d.frag4 != nil {
		// ip4defrag ages datagrams by the capture times it is given, as
		// this map does.
		d.frag4.DiscardOlderThan(time.Unix(0, cutoff))
	}
	// ip6defrag ages datagrams by wall-clock time, which means nothing
	// when reading a file; its datagrams are dropped all at once when the
	// newest one this map knows is too old, so that none is forgotten here
	// while still held there.
	v6Fresh := false
	for k, e := range d.pending {
		if k.v6 {
			if e.last >= cutoff {
				v6Fresh = true
			}
			continue
		}
		if e.last < cutoff {
			d.releaseFragments(k)
		}
	}
	if !v6Fresh && d.frag6 != nil {
		for k := range d.pending {
			if k.v6 {
				d.releaseFragments(k)
			}
		}
		d.frag6 = nil
	}
}

// fragment4 hands an IPv4 fragment (data holds exactly the IP packet) to
// the defragmenter and decodes the datagram once it is whole.
func (d *Decoder) fragment4(data []byte, src, dst netip.Addr, ci gopacket.CaptureInfo) outcome {
	ip := &layers.IPv4{}
	buf := append([]byte(nil), data...)
	if err := ip.DecodeFromBytes(buf, gopacket.NilDecodeFeedback); err != nil {
		return outMalformed // bad options
	}
	flow := gopacket.NewFlow(layers.EndpointIPv4, data[12:16], data[16:20])
	key := fragKey{flow: flow, id: uint32(ip.Id)}
	now := captureNanos(ci)
	d.holdFragment(key, len(buf), now)
	if d.frag4 == nil {
		d.frag4 = ip4defrag.NewIPv4Defragmenter()
	}
	out, err := d.frag4.DefragIPv4WithTimestamp(ip, time.Unix(0, now))
	if err != nil {
		// Overlapping, oversized or contradictory fragments: the
		// defragmenter dropped the datagram, as a receiver would.
		d.releaseFragments(key)
		return outMalformed
	}
	if out == nil {
		return outFragment
	}
	d.releaseFragments(key)
	d.stats.Defragmented++
	d.pkt.NetFlow = flow
	return d.tcpSegment(out.Payload, src, dst, int(out.IHL)*4+len(out.Payload), 0, ci)
}

// fragment6 hands an IPv6 fragment to the defragmenter: hdr is the fixed
// header, frag the fragment header and what follows it. The datagram, once
// whole, has its remaining extension headers walked and is decoded.
func (d *Decoder) fragment6(hdr, frag []byte, src, dst netip.Addr, ci gopacket.CaptureInfo) outcome {
	field := binary.BigEndian.Uint16(frag[2:4])
	fg := &layers.IPv6Fragment{
		NextHeader:     layers.IPProtocol(frag[0]),
		FragmentOffset: field >> 3,
		MoreFragments:  field&1 != 0,
		Identification: binary.BigEndian.Uint32(frag[4:8]),
	}
	fg.Payload = append([]byte(nil), frag[8:]...)
	ip := &layers.IPv6{
		Version:      6,
		TrafficClass: hdr[0]<<4 | hdr[1]>>4,
		FlowLabel:    uint32(hdr[1]&0x0f)<<16 | uint32(hdr[2])<<8 | uint32(hdr[3]),
		HopLimit:     hdr[7],
		SrcIP:        append([]byte(nil), hdr[8:24]...),
		DstIP:        append([]byte(nil), hdr[24:40]...),
	}
	flow := gopacket.NewFlow(layers.EndpointIPv6, hdr[8:24], hdr[24:40])
	key := fragKey{flow: flow, id: fg.Identification, v6: true}
	d.holdFragment(key, len(fg.Payload)+40, captureNanos(ci))
	if d.frag6 == nil {
		d.frag6 = ip6defrag.NewIPv6Defragmenter()
	}
	out := d.frag6.DefragIPv6(ip, fg)
	if out == nil {
		return outFragment // waiting, or dropped as a receiver would (overlap...)
	}
	d.releaseFragments(key)
	d.stats.Defragmented++
	o, nh, seg := d.ipv6Chain(byte(out.NextHeader), out.Payload)
	if o != outTCP || nh == ipProtoFragment {
		if o == outTCP {
			return outMalformed // a fragment inside a fragment
		}
		return o
	}
	d.pkt.NetFlow = flow
	return d.tcpSegment(seg, src, dst, 40+len(out.Payload), 0, ci)
}

// captureNanos is a packet's capture time in Unix nanoseconds, 0 for none
// (pcapng simple packet blocks carry no time, and the zero time.Time has no
// int64 Unix nanoseconds).
func captureNanos(ci gopacket.CaptureInfo) int64 {
	if ci.Timestamp.IsZero() {
		return 0
	}
	return ci.Timestamp.UnixNano()
}
