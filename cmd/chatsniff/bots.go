package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the command lands; replaced by its real wiring.
func newBotsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "bots",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("bots: not built yet")
		},
	}
}
