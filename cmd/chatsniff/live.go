package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the command lands; replaced by its real wiring.
func newLiveCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "live",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("live: not built yet")
		},
	}
}
