package main

import (
	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/demo"
	"github.com/chatsniff/chatsniff/render"
	"github.com/chatsniff/chatsniff/sniff"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var (
		opts     demo.Options
		protocol string
		json     bool
		color    = colorValue(render.ColorAuto)
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the bundled chat server, a few bots and a live capture on loopback (root or CAP_NET_RAW)",
		Long: `Start a workerman-chat compatible server on 127.0.0.1 (ports 7272 and 55151
when free), capture its port live on lo, let a few bots chat (non-ASCII text,
permessage-deflate, and a user who sends private messages), and print the
conversation as chatsniff decodes it, as it happens. Open the page it names in
a browser to join in. It stops after --duration, or on Ctrl-C, and prints the
capture summary.`,
		Example: `  sudo go run ./cmd/chatsniff demo
  chatsniff demo --duration 0 --protocol uid
  chatsniff demo --json | jq -c 'select(.event == "message")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Protocol = chat.Protocol(protocol)
			opts.Color = render.ColorMode(color)
			if json {
				opts.Format = sniff.FormatNDJSON
			}
			if opts.Duration == 0 {
				opts.Duration = -1 // the flag's 0 means until Ctrl-C
			}
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return demo.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&opts.Duration, "duration", demo.DefaultDuration, "how long the demo runs (0: until Ctrl-C)")
	f.IntVarP(&opts.Bots, "bots", "n", demo.DefaultBots, "number of bots chatting to everyone")
	f.Float64Var(&opts.Rate, "rate", demo.DefaultRate, "messages per second, all bots together")
	f.StringVar(&protocol, "protocol", "room", "chat protocol: room (today's workerman-chat) or uid (the manual's)")
	f.BoolVar(&opts.TLS, "tls", false, "chat over wss:// and show it decrypted with the bots' own key log")
	f.BoolVar(&opts.NoWhisper, "no-whisper", false, "leave out the user who sends private messages")
	f.StringVarP(&opts.Interface, "interface", "i", demo.DefaultInterface, "interface to capture on: lo or any")
	f.IntVarP(&opts.MaxMessages, "count", "c", 0, "stop after `N` messages")
	f.BoolVar(&json, "json", false, "write NDJSON, one event per line")
	f.BoolVar(&opts.Compact, "compact", false, "print each message's JSON on its line instead of pretty-printed under it")
	f.Var(&color, "color", "colour output: auto, always or never (NO_COLOR is honoured by auto)")
	return cmd
}
