package bots

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/chatsniff/chatsniff/chat"
)

// Defaults.
const (
	DefaultClients  = 20
	DefaultRate     = 50
	DefaultRooms    = 1
	DefaultSize     = 64               // content bytes of a load-mode message
	DefaultStep     = 10 * time.Second // one load measurement
	DefaultCleanP99 = time.Second      // issue 7's reference table: "clean" is p99 under 1 s
	DefaultDrain    = 5 * time.Second  // wait for late deliveries after a step
	DefaultConnect  = 64               // connections opened at once
	// maxMessage bounds one message a bot reads.
	maxMessage = 1 << 20
)

// Options configure the bots. The zero value of a field means its default.
type Options struct {
	// URL is the server's WebSocket address, ws://host:port/ or wss://.
	URL string
	// TLS configures the wss:// connections (nil: Go's defaults, the
	// system's roots); its KeyLogWriter, if any, gets their secrets, so
	// that a capture of them can be decrypted (chatsniff demo --tls hands
	// in one it reads). InsecureSkipVerify takes the self-signed
	// certificate of chatsniff serve --tls (chatserver.SelfSignedTLS);
	// RootCAs holding that certificate checks it instead. ALPN offers
	// HTTP/1.1 unless NextProtos says otherwise. Unused for ws://.
	TLS *tls.Config
	// Protocol is the chat protocol: chat.ProtocolUID (default) or chat.ProtocolRoom.
	Protocol chat.Protocol
	// Clients is the number of simulated users.
	Clients int
	// Rooms spreads the clients over rooms 1..Rooms (room protocol only).
	Rooms int
	// Rate is the total number of messages the clients say per second.
	Rate float64
	// Duration is how long the demo runs (0: until ctx ends), or one load step.
	Duration time.Duration
	// Load switches to load mode: marked messages of Size bytes and a report.
	Load bool
	// Size is a load-mode message's content length in bytes.
	Size int
	// Ramp finds the highest clean rate, starting at Rate (load mode).
	Ramp bool
	// RampSteps bounds the ramp's steps.
	RampSteps int
	// CleanP99 is the p99 latency above which a step is not clean.
	CleanP99 time.Duration
	// Drain is how long a step waits for late deliveries.
	Drain time.Duration
	// Stall makes this many clients stop reading once logged in.
	Stall int
	// Deflate offers permessage-deflate.
	Deflate bool
	// Connect is how many connections are opened at once.
	Connect int
	// ServerPID, when set, adds the server's CPU and memory to the report.
	ServerPID int
	// AllowRemote lets the bots connect to a non-loopback address.
	AllowRemote bool
	// Quiet prints only rates and reports, no received messages.
	Quiet bool
	// JSON prints load reports as JSON lines.
	JSON bool
}

func (o Options) withDefaults(ctx context.Context) (Options, error) {
	switch o.Protocol {
	case "":
		o.Protocol = chat.ProtocolUID
	case chat.ProtocolUID, chat.ProtocolRoom:
	default:
		return o, fmt.Errorf("protocol %q: want %q or %q", o.Protocol, chat.ProtocolUID, chat.ProtocolRoom)
	}
	if o.Clients == 0 {
		o.Clients = DefaultClients
	}
	if o.Rooms == 0 {
		o.Rooms = DefaultRooms
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.CleanP99 == 0 {
		o.CleanP99 = DefaultCleanP99
	}
	if o.Drain == 0 {
		o.Drain = DefaultDrain
	}
	if o.Connect == 0 {
		o.Connect = DefaultConnect
	}
	if o.RampSteps == 0 {
		o.RampSteps = 12
	}
	if o.Load && o.Duration == 0 {
		o.Duration = DefaultStep
	}
	switch {
	case o.Clients < 1:
		return o, fmt.Errorf("clients %d: need at least 1", o.Clients)
	case o.Rooms < 1 || o.Rooms > o.Clients:
		return o, fmt.Errorf("rooms %d: need 1 to %d (the number of clients)", o.Rooms, o.Clients)
	case o.Rooms > 1 && o.Protocol != chat.ProtocolRoom:
		return o, fmt.Errorf("rooms %d: the uid protocol has no rooms; use --protocol room", o.Rooms)
	case o.Rate < 0:
		return o, fmt.Errorf("rate %g: must be positive", o.Rate)
	case o.Size < 40 || o.Size > maxMessage/2:
		return o, fmt.Errorf("size %d: need 40 (the marker) to %d bytes", o.Size, maxMessage/2)
	case o.Stall < 0 || o.Stall >= o.Clients:
		return o, fmt.Errorf("stall %d: need 0 to %d", o.Stall, o.Clients-1)
	case o.Connect < 1:
		return o, fmt.Errorf("connect %d: need at least 1", o.Connect)
	case o.Ramp && !o.Load:
		return o, fmt.Errorf("--ramp needs --load")
	}
	if err := checkURL(ctx, o.URL, o.AllowRemote); err != nil {
		return o, err
	}
	if u, _ := url.Parse(o.URL); u.Scheme == "wss" {
		o.TLS = clientTLS(o.TLS)
	} else {
		o.TLS = nil
	}
	return o, nil
}

// checkURL accepts ws:// and wss:// URLs whose host resolves to loopback
// addresses only, unless allowRemote: load is for the user's own machine.
func checkURL(ctx context.Context, raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("server address %q: %w", raw, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("server address %q: want ws://host:port/", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("server address %q: no host", raw)
	}
	if allowRemote {
		return nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("server address %q: %w", raw, err)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return fmt.Errorf("server address %q is not a loopback address (%s): bots load only this machine unless --allow-remote is given", raw, ip.IP)
		}
	}
	return nil
}
