package main

import (
	"fmt"
	"strings"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/spf13/cobra"
)

func newInterfacesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "interfaces",
		Short: "List the interfaces live capture can use, like tcpdump -D",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ifs, err := capture.Interfaces()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, i := range ifs {
				fmt.Fprintf(w, "%d.%s [%s]", i.Index, i.Name, i.Flags)
				if len(i.Addrs) > 0 {
					fmt.Fprintf(w, " %s", strings.Join(i.Addrs, " "))
				}
				if i.Description != "" {
					fmt.Fprintf(w, " (%s)", i.Description)
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
}
