package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the command lands; replaced by its real wiring.
func newInterfacesCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "interfaces",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("interfaces: not built yet")
		},
	}
}
