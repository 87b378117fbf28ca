package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the command lands; replaced by its real wiring.
func newServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "serve",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("serve: not built yet")
		},
	}
}
