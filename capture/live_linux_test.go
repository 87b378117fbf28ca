package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
}

// echoServer accepts connections on ln and answers each read with "ack:"
// and what it read, until ln is closed.
func echoServer(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 512)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				c.Write(append([]byte("ack:"), buf[:n]...))
			}
		}()
	}
}

// chat dials addr, sends msgs one by one waiting for each answer, and
// closes.
func chat(ctx context.Context, addr string, msgs []string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 512)
	for _, m := range msgs {
		if _, err := c.Write([]byte(m)); err != nil {
			return err
		}
		if _, err := io.ReadAtLeast(c, buf, 4+len(m)); err != nil {
			return err
		}
	}
	return nil
}

type livePkt struct {
	data []byte
	link layers.LinkType
}

// collect reads src until it returns io.EOF (after Close), keeping copies.
func collect(t *testing.T, src Source) <-chan []livePkt {
	out := make(chan []livePkt, 1)
	go func() {
		var pkts []livePkt
		for {
			data, _, link, err := src.Next()
			if errors.Is(err, ErrTimeout) {
				continue
			}
			if err != nil {
				if err != io.EOF {
					t.Errorf("Next: %v", err)
				}
				out <- pkts
				return
			}
			pkts = append(pkts, livePkt{append([]byte(nil), data...), link})
		}
	}()
	return out
}

// TestLiveCapture captures real TCP traffic on loopback, IPv4 and IPv6,
// through "lo" and "any" with a port filter: every packet of the wanted
// ports arrives exactly once (not twice, as loopback shows them to
// AF_PACKET), and none of another port.
func TestLiveCapture(t *testing.T) {
	requireRoot(t)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no lo interface")
	}
	for _, iface := range []string{"lo", "any"} {
		t.Run(iface, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var lns []net.Listener
			for _, a := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}, {"tcp4", "127.0.0.1:0"}} {
				ln, err := net.Listen(a.network, a.addr)
				if err != nil {
					t.Fatalf("listen %s: %v", a.addr, err)
				}
				defer ln.Close()
				go echoServer(ln)
				lns = append(lns, ln)
			}
			port := func(ln net.Listener) uint16 { return uint16(ln.Addr().(*net.TCPAddr).Port) }
			wanted := []uint16{port(lns[0]), port(lns[1])}
			other := port(lns[2])

			src, err := OpenLive(LiveOptions{Interface: iface, Ports: wanted, Timeout: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			got := collect(t, src)
			msgs := []string{"hello", "how are you?", strings.Repeat("x", 300)}
			var wg sync.WaitGroup
			for _, ln := range lns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := chat(ctx, ln.Addr().String(), msgs); err != nil {
						t.Errorf("chat with %v: %v", ln.Addr(), err)
					}
				}()
			}
			wg.Wait()
			time.Sleep(300 * time.Millisecond) // FINs and ACKs, and the ring's block timer
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}
			var pkts []livePkt
			select {
			case pkts = <-got:
			case <-ctx.Done():
				t.Fatal("Next did not return after Close")
			}

			d := NewDecoder()
			seen := map[string]int{}
			sent := map[string]map[uint32][]byte{} // client->server payloads by connection and seq
			for i, p := range pkts {
				wantLink := layers.LinkTypeEthernet
				if iface == "any" {
					wantLink = layers.LinkTypeLinuxSLL2
				}
				if p.link != wantLink {
					t.Fatalf("packet %d: link type %d, want %d", i+1, p.link, wantLink)
				}
				if iface == "any" {
					// the cooked header comes from the kernel's sockaddr_ll:
					// lo's index, ARPHRD_LOOPBACK, PACKET_HOST, a 6-byte address
					h := p.data[:20]
					if idx, ha, pt, al := binary.BigEndian.Uint32(h[4:8]), binary.BigEndian.Uint16(h[8:10]), h[10], h[11]; int(idx) != lo.Index || ha != arphrdLoopback || pt != packetHost || al != 6 {
						t.Fatalf("packet %d: SLL2 ifindex %d hatype %d pkttype %d addrlen %d, want %d 772 0 6", i+1, idx, ha, pt, al, lo.Index)
					}
				}
				tp, ok, err := d.Decode(p.data, ciOf(p.data), p.link)
				if err != nil || !ok {
					t.Fatalf("packet %d does not decode: %v %+v", i+1, err, d.Stats())
				}
				if !slices.Contains(wanted, tp.Src.Port()) && !slices.Contains(wanted, tp.Dst.Port()) {
					t.Errorf("packet %d: %v -> %v passed the filter (other port %d)", i+1, tp.Src, tp.Dst, other)
				}
				hdr := 14
				if iface == "any" {
					hdr = 20
				}
				seen[string(p.data[hdr:])]++
				if slices.Contains(wanted, tp.Dst.Port()) && len(tp.TCP.Payload) > 0 {
					conn := tp.Src.String()
					if sent[conn] == nil {
						sent[conn] = map[uint32][]byte{}
					}
					sent[conn][tp.TCP.Seq] = append([]byte(nil), tp.TCP.Payload...)
				}
			}
			for pkt, n := range seen {
				if n != 1 {
					t.Errorf("a packet was captured %d times: %x", n, pkt[:min(len(pkt), 40)])
				}
			}
			if len(sent) != 2 {
				t.Fatalf("client data of %d connections seen, want 2 (%d packets)", len(sent), len(pkts))
			}
			for conn, bySeq := range sent {
				var stream []byte
				for _, seq := range slices.Sorted(mapKeys(bySeq)) {
					stream = append(stream, bySeq[seq]...)
				}
				if want := strings.Join(msgs, ""); string(stream) != want {
					t.Errorf("%s sent %q, want %q", conn, stream, want)
				}
			}
			if s := src.Stats(); s.Packets != uint64(len(pkts)) || s.Dropped != 0 {
				t.Errorf("stats %+v, %d packets read", s, len(pkts))
			}
			t.Logf("%d packets, decode stats %+v", len(pkts), d.Stats())
		})
	}
}

func ciOf(data []byte) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{CaptureLength: len(data), Length: len(data)}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestLiveTimeoutAndClose: with nothing to capture, Next returns
// ErrTimeout about every Timeout; Close from another goroutine ends a
// waiting Next with io.EOF.
func TestLiveTimeoutAndClose(t *testing.T) {
	requireRoot(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unused := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // nothing will use this port
	src, err := OpenLive(LiveOptions{Interface: "lo", Ports: []uint16{unused}, Timeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, _, _, err := src.Next(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Next = %v, want ErrTimeout", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("ErrTimeout after %v", waited)
	}
	done := make(chan error, 1)
	go func() {
		for {
			_, _, _, err := src.Next()
			if !errors.Is(err, ErrTimeout) {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("Next after Close = %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waiting 5 s after Close")
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, _, err := src.Next(); err != io.EOF {
		t.Errorf("Next after Close = %v", err)
	}
}

// TestLivePermission opens a capture from a thread without CAP_NET_RAW
// (capabilities are per thread on Linux): the kernel says EPERM, and the
// error says how to fix it.
func TestLivePermission(t *testing.T) {
	errc := make(chan error, 1)
	go func() {
		// This thread's capabilities are lowered and never restored: it
		// stays locked, so the runtime ends it with this goroutine.
		runtime.LockOSThread()
		if os.Geteuid() == 0 {
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			if err := unix.Capget(&hdr, &data[0]); err != nil {
				errc <- fmt.Errorf("capget: %w", err)
				return
			}
			data[0].Effective &^= 1 << unix.CAP_NET_RAW
			if err := unix.Capset(&hdr, &data[0]); err != nil {
				errc <- fmt.Errorf("capset: %w", err)
				return
			}
		}
		src, err := OpenLive(LiveOptions{Interface: "lo"})
		if err == nil {
			src.Close()
			err = errors.New("OpenLive succeeded without CAP_NET_RAW")
		}
		errc <- err
	}()
	err := <-errc
	want := "live capture needs root or CAP_NET_RAW: sudo setcap cap_net_raw,cap_net_admin=eip $(which chatsniff)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrPermission) || !errors.Is(err, unix.EPERM) {
		t.Fatalf("got %v, want %q wrapping EPERM", err, want)
	}
}

func TestLiveNoInterface(t *testing.T) {
	_, err := OpenLive(LiveOptions{Interface: "nosuch0"})
	if err == nil || !errors.Is(err, ErrNoInterface) || !strings.HasPrefix(err.Error(), `no such interface "nosuch0" (available: `) || !strings.Contains(err.Error(), "any") || !strings.Contains(err.Error(), "lo") {
		t.Fatalf("got %v", err)
	}
	ifs, _ := net.Interfaces()
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 {
			_, err := OpenLive(LiveOptions{Interface: ifi.Name})
			if want := "live capture on " + ifi.Name + ": the interface is down"; err == nil || err.Error() != want {
				t.Errorf("down interface: %v, want %q", err, want)
			}
			break
		}
	}
}

func TestInterfaces(t *testing.T) {
	list, err := Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	pos := map[string]int{}
	for i, it := range list {
		names = append(names, it.Name)
		pos[it.Name] = i
	}
	anyPos, ok := pos["any"]
	if !ok || list[anyPos].Description != anyDescription || list[anyPos].Index != 0 {
		t.Fatalf("no proper any in %v", names)
	}
	loPos, ok := pos["lo"]
	if !ok {
		t.Skip("no lo")
	}
	if lo := list[loPos]; !strings.Contains(lo.Flags, "Loopback") || !strings.HasPrefix(lo.Flags, "Up, Running") || !slices.Contains(lo.Addrs, "127.0.0.1/8") || lo.Index == 0 {
		t.Errorf("lo: %+v", lo)
	}
	if loPos < anyPos {
		t.Errorf("lo listed before any: %v (tcpdump -D lists any first)", names)
	}
	for i, it := range list {
		if !strings.HasPrefix(it.Flags, "Up") && i < loPos {
			t.Errorf("%s (down) listed before lo: %v", it.Name, names)
		}
	}
	t.Log(names)
}
