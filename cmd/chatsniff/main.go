// Command chatsniff decodes WebSocket chat traffic from capture files and
// live interfaces, and ships a workerman-chat compatible server to make some.
//
// This package holds cobra wiring only: each command fills an options struct
// and hands it to a run function in the package that does the work.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "chatsniff: %v\n", err)
		return 1
	}
	return 0
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "chatsniff",
		Short:         "Decode WebSocket chat traffic: unmask, reassemble, inflate, pretty-print",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newReadCmd(),
		newLiveCmd(),
		newInterfacesCmd(),
		newServeCmd(),
		newBotsCmd(),
		newDemoCmd(),
	)
	return root
}
