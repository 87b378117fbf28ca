package capture

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Interface describes a network interface live capture can open, as
// tcpdump -D lists them.
type Interface struct {
	Index       int      // kernel interface index; 0 for "any"
	Name        string   // what LiveOptions.Interface takes
	Flags       string   // "Up, Running, Loopback", as tcpdump -D writes them
	Addrs       []string // addresses in CIDR form, "127.0.0.1/8"
	Description string   // the interface's alias (ip link set NAME alias ...), or what "any" is
}

// anyDescription is libpcap's description of the "any" device.
const anyDescription = "Pseudo-device that captures on all interfaces"

// Interfaces lists the interfaces live capture can open, "any" included on
// Linux, in tcpdump -D's order: interfaces that are up and running first,
// loopback after the others.
func Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	type ranked struct {
		Interface
		merit uint32
	}
	var list []ranked
	for _, ifi := range ifs {
		it := Interface{Index: ifi.Index, Name: ifi.Name, Flags: flagNames(ifi.Flags)}
		if addrs, err := ifi.Addrs(); err == nil {
			for _, a := range addrs {
				it.Addrs = append(it.Addrs, a.String())
			}
		}
		if alias, err := os.ReadFile("/sys/class/net/" + ifi.Name + "/ifalias"); err == nil {
			it.Description = strings.TrimSpace(string(alias))
		}
		list = append(list, ranked{it, figureOfMerit(ifi.Name, ifi.Flags)})
	}
	if liveAnySupported {
		list = append(list, ranked{
			Interface{Name: "any", Flags: "Up, Running", Description: anyDescription},
			figureOfMerit("any", net.FlagUp|net.FlagRunning),
		})
	}
	// libpcap's order (get_figure_of_merit): lower is better.
	slices.SortStableFunc(list, func(a, b ranked) int {
		if a.merit != b.merit {
			if a.merit < b.merit {
				return -1
			}
			return 1
		}
		return a.Index - b.Index
	})
	out := make([]Interface, len(list))
	for i, r := range list {
		out[i] = r.Interface
	}
	return out, nil
}

// figureOfMerit ranks an interface in the order tcpdump -D shows: other
// interfaces by the number at the end of their names, then "any", then
// loopback, then those not up or not running.
func figureOfMerit(name string, f net.Flags) uint32 {
	var n uint32
	if name == "any" {
		n = 0x1fffffff
	} else {
		i := len(name)
		for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
			i--
		}
		if v, err := strconv.ParseUint(name[i:], 10, 28); err == nil {
			n = uint32(v)
		}
	}
	if f&net.FlagRunning == 0 {
		n |= 0x80000000
	}
	if f&net.FlagUp == 0 {
		n |= 0x40000000
	}
	if f&net.FlagLoopback != 0 {
		n |= 0x20000000
	}
	return n
}

// flagNames writes interface flags as tcpdump -D does.
func flagNames(f net.Flags) string {
	var names []string
	if f&net.FlagUp != 0 {
		names = append(names, "Up")
	}
	if f&net.FlagRunning != 0 {
		names = append(names, "Running")
	}
	if f&net.FlagLoopback != 0 {
		names = append(names, "Loopback")
	}
	return strings.Join(names, ", ")
}

// arphrdOf returns an interface's ARPHRD type (/sys/class/net/NAME/type on
// Linux), or a guess from its flags and address when that is unreadable.
func arphrdOf(ifi *net.Interface) uint16 {
	if b, err := os.ReadFile("/sys/class/net/" + ifi.Name + "/type"); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 16); err == nil {
			return uint16(v)
		}
	}
	switch {
	case ifi.Flags&net.FlagLoopback != 0:
		return arphrdLoopback
	case len(ifi.HardwareAddr) == 6:
		return arphrdEther
	}
	return 0
}

// joinNames lists names for an error message.
func joinNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
