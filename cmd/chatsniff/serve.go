package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/chatserver"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var (
		opts     chatserver.Options
		protocol string
		logLevel string
		logJSON  bool
		useTLS   bool
		certFile string
		keyFile  string
		keyLog   string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a workerman-chat compatible chat server and its web page",
		Long: `Run a chat server that behaves like workerman-chat on the wire: WebSocket on
:7272, its web page on :55151 (workerman-chat's ports). Open the page in a
browser, pick a nickname and chat; capture the traffic with chatsniff live.

--protocol uid is the 2014 protocol of the Workerman manual's walkthrough
(numbered users, no rooms); --protocol room is today's workerman-chat
(client_ids, rooms from ?room_id=, a ping every 10 s).
permessage-deflate is offered (browsers then compress); --no-deflate stops it,
as the real workerman-chat never negotiates it.

--tls serves wss:// and the page over https:// (the page then connects with
wss://), TLS 1.2 and 1.3, ALPN http/1.1. The certificate is made at start,
self-signed (ECDSA P-256, valid 7 days for localhost, 127.0.0.1, ::1 and the
listen hosts), its SHA-256 fingerprint logged so that the browser's warning
can be checked against it; --cert FILE --key FILE (PEM) serve another.
--keylog FILE, or $SSLKEYLOGFILE when it is not given, appends the TLS secrets
in the NSS key log format, with which chatsniff read/live --keylog (or
Wireshark) decrypts a capture. Bots take the self-signed certificate with
chatsniff bots --insecure wss://127.0.0.1:7272/.`,
		Example: `  chatsniff serve
  chatsniff serve --ws 127.0.0.1:7272 --http 127.0.0.1:55151 --protocol room
  chatsniff serve --tls --keylog /tmp/keys.log     # wss:// and https://, secrets for chatsniff --keylog`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: %w", logLevel, err)
			}
			hopts := &slog.HandlerOptions{Level: lvl}
			if logJSON {
				opts.Logger = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), hopts))
			} else {
				opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), hopts))
			}
			opts.Protocol = chat.Protocol(protocol)
			if keyLog == "" {
				keyLog = os.Getenv("SSLKEYLOGFILE")
			} else if !useTLS {
				return fmt.Errorf("--keylog needs --tls")
			}
			cfg, closeKeys, err := serveTLS(opts, useTLS, certFile, keyFile, keyLog)
			if err != nil {
				return err
			}
			defer closeKeys()
			opts.TLS = cfg
			return chatserver.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.WSAddr, "ws", chatserver.DefaultWSAddr, "WebSocket listen address")
	f.StringVar(&opts.HTTPAddr, "http", chatserver.DefaultHTTPAddr, `web page listen address ("-" for none)`)
	f.StringVar(&protocol, "protocol", string(chat.ProtocolUID), "chat protocol: uid or room")
	f.BoolVar(&opts.NoDeflate, "no-deflate", false, "do not offer permessage-deflate")
	f.IntVar(&opts.CompressMin, "compress-min", chatserver.DefaultCompressMin, "smallest server message deflated for clients that negotiated it (-1: never)")
	f.Int64Var(&opts.MaxMessage, "max-message", chatserver.DefaultMaxMessage, "largest client message in bytes; larger ones are closed with 1009")
	f.IntVar(&opts.QueueMessages, "queue", chatserver.DefaultQueueMessages, "messages queued per client before a client that cannot keep up is dropped")
	f.IntVar(&opts.QueueBytes, "queue-bytes", chatserver.DefaultQueueBytes, "bytes queued per client before it is dropped")
	f.IntVar(&opts.SendBuffer, "sndbuf", chatserver.DefaultSendBuffer, "kernel send buffer per connection in bytes (-1: the kernel's default)")
	f.DurationVar(&opts.Coalesce, "coalesce", chatserver.DefaultCoalesce, "least time between two writes to one client; messages queued meanwhile share one write (negative: none)")
	f.DurationVar(&opts.PingInterval, "ping", chatserver.DefaultPingInterval, "room protocol ping interval (negative: no ping)")
	f.BoolVar(&useTLS, "tls", false, "serve wss:// and the page over https://, with a self-signed certificate unless --cert and --key are given")
	f.StringVar(&certFile, "cert", "", "PEM certificate `FILE` for --tls")
	f.StringVar(&keyFile, "key", "", "PEM private key `FILE` for --tls")
	f.StringVar(&keyLog, "keylog", "", "with --tls, append the TLS secrets to key log `FILE` (NSS format; default $SSLKEYLOGFILE), for chatsniff --keylog")
	f.StringVar(&opts.PprofAddr, "pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.BoolVar(&logJSON, "log-json", false, "log as JSON lines instead of text")
	return cmd
}

// serveTLS makes the server's TLS configuration from the flags: nil
// without --tls, a self-signed certificate for the listen hosts unless
// --cert and --key name one, and the key log when asked for.
func serveTLS(opts chatserver.Options, useTLS bool, certFile, keyFile, keyLog string) (*tls.Config, func(), error) {
	none := func() {}
	if !useTLS {
		if certFile != "" || keyFile != "" {
			return nil, none, fmt.Errorf("--cert and --key need --tls")
		}
		return nil, none, nil
	}
	var cfg *tls.Config
	switch {
	case certFile != "" && keyFile != "":
		var err error
		if cfg, err = chatserver.LoadTLS(certFile, keyFile); err != nil {
			return nil, none, err
		}
	case certFile != "" || keyFile != "":
		return nil, none, fmt.Errorf("--cert and --key go together")
	default:
		var hosts []string
		for _, a := range []string{opts.WSAddr, opts.HTTPAddr} {
			if h, _, err := net.SplitHostPort(a); err == nil {
				hosts = append(hosts, h)
			}
		}
		var fp string
		var err error
		if cfg, fp, err = chatserver.SelfSignedTLS(hosts); err != nil {
			return nil, none, err
		}
		opts.Logger.Info("self-signed certificate", slog.String("sha256", fp))
	}
	if keyLog == "" {
		return cfg, none, nil
	}
	w, err := chatserver.KeyLogFile(keyLog, func(err error) { opts.Logger.Warn("key log", slog.Any("err", err)) })
	if err != nil {
		return nil, none, err
	}
	cfg.KeyLogWriter = w
	return cfg, func() { w.Close() }, nil
}
