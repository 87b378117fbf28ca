//go:build !linux

package capture

import (
	"errors"
	"runtime"
)

// liveAnySupported says whether live capture has the "any" pseudo-device.
const liveAnySupported = false

// OpenLive is only implemented on Linux (AF_PACKET); elsewhere it returns an
// error.
func OpenLive(opts LiveOptions) (Source, error) {
	if _, err := opts.withDefaults(); err != nil {
		return nil, err
	}
	return nil, errors.New("live capture is only supported on Linux, not " + runtime.GOOS + ": capture with tcpdump -w and use the read command")
}
