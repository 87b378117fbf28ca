package chatserver

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/chatsniff/chatsniff/chat"
)

// Defaults, workerman-chat's where it has one.
const (
	// DefaultWSAddr is workerman-chat's WebSocket gateway port.
	DefaultWSAddr = ":7272"
	// DefaultHTTPAddr is workerman-chat's web page port.
	DefaultHTTPAddr = ":55151"
	// DefaultPingInterval is workerman-chat's gateway pingInterval (room protocol).
	DefaultPingInterval = 10 * time.Second
	// DefaultMaxMessage bounds one client message, after inflation; a larger
	// one is closed with 1009. workerman allows 10 MB; a chat line needs far
	// less, and the bound is what a client can make the server hold.
	DefaultMaxMessage = 1 << 20
	// DefaultQueueMessages bounds the messages waiting for one client; a
	// client whose queue is full cannot keep up and is dropped. At the
	// 4,000 messages/s a client of a busy 50-client room gets, that is half
	// a second of backlog on top of what the socket buffers hold.
	DefaultQueueMessages = 2048
	// DefaultQueueBytes bounds the bytes waiting for one client, so that a
	// few large messages fill the queue as many small ones do.
	DefaultQueueBytes = 4 << 20
	// DefaultSendBuffer caps the kernel's send buffer per connection (it
	// would otherwise grow to megabytes on loopback), so that a stalled
	// reader fills its bounded queue, and is dropped, in seconds rather
	// than after a minute of buffering.
	DefaultSendBuffer = 256 << 10
	// DefaultCoalesce is the least time between two writes to one client.
	DefaultCoalesce = 10 * time.Millisecond
	// DefaultWriteTimeout drops a client whose socket accepts nothing for
	// this long.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultCompressMin is the smallest server message worth deflating
	// when the client negotiated permessage-deflate: below it the deflate
	// block overhead eats the gain.
	DefaultCompressMin = 64
	// DefaultShutdownTimeout bounds a shutdown: clients have this long to
	// take the 1001 close frame and answer it (a round trip for one that
	// reads) before their sockets are closed under them. It stays well
	// inside the second that chatsniff serve has to exit after SIGTERM,
	// loaded machine and race detector included.
	DefaultShutdownTimeout = 500 * time.Millisecond
)

// Options configure the server. The zero value of a field means its default.
type Options struct {
	// WSAddr is the WebSocket listen address (host:port).
	WSAddr string
	// HTTPAddr is the web page's listen address; "-" serves no page.
	HTTPAddr string
	// Protocol is the chat protocol spoken: chat.ProtocolUID (default) or chat.ProtocolRoom.
	Protocol chat.Protocol
	// NoDeflate stops the server offering permessage-deflate.
	NoDeflate bool
	// CompressMin is the smallest message deflated for clients that
	// negotiated it; negative never deflates server messages (client
	// messages are still inflated).
	CompressMin int
	// MaxMessage bounds one client message in bytes.
	MaxMessage int64
	// QueueMessages and QueueBytes bound each client's send queue.
	QueueMessages int
	QueueBytes    int
	// SendBuffer is SO_SNDBUF for each connection; negative leaves the kernel's default.
	SendBuffer int
	// Coalesce is the least time between two writes to one client; what
	// is queued meanwhile goes out in one writev. Negative: no wait.
	Coalesce time.Duration
	// WriteTimeout drops a client whose socket takes nothing for this long.
	WriteTimeout time.Duration
	// PingInterval is the room protocol's ping period; negative sends no ping.
	PingInterval time.Duration
	// ShutdownTimeout bounds the closing handshakes when the server stops:
	// at its end, connections still open are closed without one.
	ShutdownTimeout time.Duration
	// TLS, when set, makes both listeners speak TLS: wss:// and https://
	// (the page then connects with wss://). See SelfSignedTLS and LoadTLS;
	// its KeyLogWriter, if any, gets the secrets of every connection.
	TLS *tls.Config
	// PprofAddr, when set, serves net/http/pprof there (profiling the
	// server under load; keep it on loopback).
	PprofAddr string
	// Logger receives structured logs; nil logs to slog.Default().
	Logger *slog.Logger
}

// withDefaults fills the zero fields and checks the others.
func (o Options) withDefaults() (Options, error) {
	if o.WSAddr == "" {
		o.WSAddr = DefaultWSAddr
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultHTTPAddr
	}
	switch o.Protocol {
	case "":
		o.Protocol = chat.ProtocolUID
	case chat.ProtocolUID, chat.ProtocolRoom:
	default:
		return o, fmt.Errorf("protocol %q: want %q or %q", o.Protocol, chat.ProtocolUID, chat.ProtocolRoom)
	}
	if o.CompressMin == 0 {
		o.CompressMin = DefaultCompressMin
	}
	if o.MaxMessage == 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.MaxMessage < 0 {
		return o, fmt.Errorf("max message %d: must be positive", o.MaxMessage)
	}
	if o.QueueMessages == 0 {
		o.QueueMessages = DefaultQueueMessages
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.QueueMessages < 0 || o.QueueBytes < 0 {
		return o, fmt.Errorf("send queue bounds %d messages, %d bytes: must be positive", o.QueueMessages, o.QueueBytes)
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = DefaultSendBuffer
	}
	if o.Coalesce == 0 {
		o.Coalesce = DefaultCoalesce
	}
	if o.Coalesce < 0 {
		o.Coalesce = 0
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
