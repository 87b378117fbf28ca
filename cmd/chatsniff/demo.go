package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the command lands; replaced by its real wiring.
func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "demo",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("demo: not built yet")
		},
	}
}
