package capture

import (
	"fmt"
	"time"
)

// LiveOptions configures OpenLive.
type LiveOptions struct {
	Interface string        // "any" (also for ""), or an interface name as Interfaces lists them
	Ports     []uint16      // TCP ports to keep, filtered in the kernel; empty keeps all TCP
	Snaplen   int           // bytes kept of each packet; 0 = whole packets (MaxSnaplen)
	BufferMB  int           // kernel ring size; 0 = DefaultBufferMB
	Timeout   time.Duration // longest wait before Next returns a packet or ErrTimeout; 0 = DefaultTimeout
}

// Defaults for LiveOptions.
const (
	DefaultBufferMB = 32
	// DefaultTimeout keeps a packet no longer than 50 ms in the kernel
	// ring before Next returns it, and makes Next return ErrTimeout after
	// 50 ms without packets.
	DefaultTimeout = 50 * time.Millisecond
)

// withDefaults checks opts and fills in its defaults.
func (opts LiveOptions) withDefaults() (LiveOptions, error) {
	if opts.Interface == "" {
		opts.Interface = "any"
	}
	for _, p := range opts.Ports {
		if p == 0 {
			return opts, fmt.Errorf("%w 0: out of range 1-65535", ErrBadPort)
		}
	}
	if len(opts.Ports) > MaxPorts {
		return opts, fmt.Errorf("%w list: %d ports, at most %d", ErrBadPort, len(opts.Ports), MaxPorts)
	}
	switch {
	case opts.Snaplen < 0:
		return opts, fmt.Errorf("live capture: snaplen %d below 0", opts.Snaplen)
	case opts.Snaplen == 0 || opts.Snaplen > MaxSnaplen:
		opts.Snaplen = MaxSnaplen // as tcpdump does with -s 0 and with larger values
	}
	switch {
	case opts.BufferMB < 0:
		return opts, fmt.Errorf("live capture: buffer size %d MB below 0", opts.BufferMB)
	case opts.BufferMB == 0:
		opts.BufferMB = DefaultBufferMB
	}
	switch {
	case opts.Timeout < 0:
		return opts, fmt.Errorf("live capture: timeout %v below 0", opts.Timeout)
	case opts.Timeout == 0:
		opts.Timeout = DefaultTimeout
	case opts.Timeout < time.Millisecond:
		opts.Timeout = time.Millisecond // the ring's block timer counts milliseconds
	}
	return opts, nil
}

// permissionHint is the fix for ErrPermission, said in the error itself.
const permissionHint = "sudo setcap cap_net_raw,cap_net_admin=eip $(which chatsniff)"

// permError is a refused live capture: its text is ErrPermission's with the
// fix, and it matches both ErrPermission and the kernel's errno.
type permError struct{ errno error }

func (e *permError) Error() string   { return ErrPermission.Error() + ": " + permissionHint }
func (e *permError) Unwrap() []error { return []error{ErrPermission, e.errno} }
