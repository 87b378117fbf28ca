package main

import (
	"context"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/spf13/cobra"
)

func newLiveCmd() *cobra.Command {
	var (
		o        outputFlags
		live     capture.LiveOptions
		write    string
		duration time.Duration
	)
	cmd := &cobra.Command{
		Use:   "live",
		Short: "Decode WebSocket chats live from a network interface (root or CAP_NET_RAW)",
		Example: `  chatsniff live -i any -p 7272
  chatsniff live -i lo -p 7272 -w out.pcap --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.command(cmd, capture.ParsePorts)
			if err != nil {
				return err
			}
			c.Name = live.Interface
			c.Options.Live = true
			c.WritePath = write
			opts := live
			opts.Ports = c.Options.Ports
			c.Open = func() (capture.Source, error) { return capture.OpenLive(opts) }
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return c.Execute(ctx)
		},
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&live.Interface, "interface", "i", "any", "interface to capture on; any for all")
	f.StringVarP(&write, "write", "w", "", "also write the captured packets to pcap `FILE`")
	f.DurationVar(&duration, "duration", 0, "stop after this long (e.g. 30s)")
	f.IntVar(&live.Snaplen, "snaplen", 0, "bytes to capture per packet (0: whole frames)")
	f.IntVar(&live.BufferMB, "buffer", 0, "kernel ring buffer size in MiB (0: default)")
	return cmd
}
