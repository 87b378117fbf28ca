package demo

import (
	"fmt"
	"io"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/render"
	"github.com/chatsniff/chatsniff/sniff"
)

// Defaults for Options.
const (
	DefaultDuration = 15 * time.Second
	DefaultBots     = 3
	// DefaultRate keeps the conversation readable as it scrolls by.
	DefaultRate      = 1.5
	DefaultInterface = "lo"
	// DefaultWSAddr and DefaultHTTPAddr are workerman-chat's ports, used
	// when free; otherwise the kernel picks free ones.
	DefaultWSAddr   = "127.0.0.1:7272"
	DefaultHTTPAddr = "127.0.0.1:55151"
	// maxBots bounds the simulated users: the demo is for reading, not load
	// (chatsniff bots --load is).
	maxBots = 50
	// maxRate bounds the messages per second for the same reason.
	maxRate = 1000
	// settle is how long the capture goes on after the users left, so that
	// their closing handshakes and the logouts they cause are printed.
	settle = 300 * time.Millisecond
	// whisperEvery is how often the whisperer sends a private message.
	whisperEvery = 3 * time.Second
)

// Options configure a demo run. The zero value of a field means its default.
type Options struct {
	// Duration is how long the bots chat; negative runs until ctx ends
	// (Ctrl-C). Zero means DefaultDuration.
	Duration time.Duration
	// Bots is the number of bots that chat to everyone.
	Bots int
	// Rate is the messages per second the bots say, all together.
	Rate float64
	// Protocol is the chat protocol: chat.ProtocolRoom (default: today's
	// workerman-chat) or chat.ProtocolUID (the manual's walkthrough).
	Protocol chat.Protocol
	// NoWhisper leaves out the user who sends private messages.
	NoWhisper bool
	// Interface is where the capture runs: "lo" (default) or "any".
	Interface string
	// MaxMessages stops the demo after this many decoded messages (0: no limit).
	MaxMessages int
	// Format, Color and Compact choose the output, as for chatsniff live.
	Format  sniff.Format
	Color   render.ColorMode
	Compact bool
	// TLS runs the chat over wss:// (the page over https://) with a
	// self-signed certificate: the bots write their TLS secrets to a key
	// log of the demo's, which the capture follows to decrypt.
	TLS bool
	// WSAddr and HTTPAddr are where the server listens; empty tries
	// DefaultWSAddr and DefaultHTTPAddr, then free loopback ports.
	WSAddr, HTTPAddr string
	// Stdout gets the decoded conversation; Stderr the banner, the server's
	// warnings and the closing summary.
	Stdout, Stderr io.Writer
}

func (o Options) withDefaults() (Options, error) {
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Bots == 0 {
		o.Bots = DefaultBots
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Protocol == "" {
		o.Protocol = chat.ProtocolRoom
	}
	if o.Interface == "" {
		o.Interface = DefaultInterface
	}
	if o.Color == "" {
		o.Color = render.ColorAuto
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	switch {
	case o.Bots < 1 || o.Bots > maxBots:
		return o, fmt.Errorf("bots %d: want 1 to %d", o.Bots, maxBots)
	case o.Rate < 0 || o.Rate > maxRate:
		return o, fmt.Errorf("rate %g: want 0 to %d messages/s", o.Rate, maxRate)
	case o.MaxMessages < 0:
		return o, fmt.Errorf("-c %d: want a positive count", o.MaxMessages)
	case o.Protocol != chat.ProtocolRoom && o.Protocol != chat.ProtocolUID:
		return o, fmt.Errorf("protocol %q: want %q or %q", o.Protocol, chat.ProtocolRoom, chat.ProtocolUID)
	}
	return o, nil
}
