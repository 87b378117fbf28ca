package main

import (
	"github.com/chatsniff/chatsniff/capture"
	"github.com/spf13/cobra"
)

func newReadCmd() *cobra.Command {
	var o outputFlags
	cmd := &cobra.Command{
		Use:   "read FILE",
		Short: "Decode the WebSocket chats in a pcap or pcapng file (- for stdin)",
		Example: `  chatsniff read capture.pcap
  chatsniff read -p 7272 capture.pcapng
  tcpdump -i any -w - port 7272 | chatsniff read -
  chatsniff read --json capture.pcap | jq .
  chatsniff read --explain capture.pcap`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.command(cmd, capture.ParsePorts)
			if err != nil {
				return err
			}
			path := args[0]
			c.Name = path
			if path == "-" {
				c.Name = "stdin"
			}
			c.Open = func() (capture.Source, error) { return capture.OpenFile(path) }
			return c.Execute(cmd.Context())
		},
	}
	o.register(cmd)
	return cmd
}
