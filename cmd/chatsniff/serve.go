package main

import (
	"fmt"
	"log/slog"

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
as the real workerman-chat never negotiates it.`,
		Example: `  chatsniff serve
  chatsniff serve --ws 127.0.0.1:7272 --http 127.0.0.1:55151 --protocol room`,
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
	f.StringVar(&opts.PprofAddr, "pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.BoolVar(&logJSON, "log-json", false, "log as JSON lines instead of text")
	return cmd
}
