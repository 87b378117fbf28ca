package capture

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxPorts is the most ports a live capture filters on: each costs two
// instructions of the kernel filter, whose jumps reach at most 255 ahead.
const MaxPorts = 100

// ParsePorts parses a comma-separated list of TCP ports such as "7272" or
// "7272,8080" (spaces allowed around each). It returns them sorted, without
// repeats. An empty string gives no ports.
func ParsePorts(s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ports []uint16
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%w list %q: empty item", ErrBadPort, s)
		}
		n, err := strconv.ParseUint(item, 10, 16)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("%w %q: not a number", ErrBadPort, item)
		}
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w %s: out of range 1-65535", ErrBadPort, item)
		}
		ports = append(ports, uint16(n))
	}
	slices.Sort(ports)
	ports = slices.Compact(ports)
	if len(ports) > MaxPorts {
		return nil, fmt.Errorf("%w list: %d ports, at most %d", ErrBadPort, len(ports), MaxPorts)
	}
	return ports, nil
}
