package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the command lands; replaced by its real wiring.
func newReadCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "read",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("read: not built yet")
		},
	}
}
