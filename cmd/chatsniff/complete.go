package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/spf13/cobra"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/sniff"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// Bounds on the capture read to complete a name: a completion must come
// back while the user waits at the prompt, so a big capture is read only
// as far as these allow and its first names offered.
const (
	completeTime    = 2 * time.Second
	completePackets = 100_000
)

// completeNames completes the values of --user (kind "user"), --room
// ("room") or --type ("type") from the capture given on the command line
// (args[0] of read): the names its chat messages carry (decode.Talk), as
// the filter matches them. Standard input cannot be read twice, and is not
// read.
func completeNames(kind string) func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 || args[0] == "-" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := captureNames(cmd, args[0], kind)
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// captureNames reads the start of the capture at path and returns the
// names of kind its messages carry, sorted. Errors give what was found
// before them: a completion has nowhere to report one.
func captureNames(cmd *cobra.Command, path, kind string) []string {
	src, err := capture.OpenFile(path)
	if err != nil {
		return nil
	}
	defer src.Close()
	var opts sniff.Options
	// The flags given before the one being completed say how the capture
	// is read: -p decodes connections whose upgrade was not captured,
	// --keylog decrypts wss://.
	if f := cmd.Flags().Lookup("port"); f != nil && f.Value.String() != "" {
		if ports, err := capture.ParsePorts(f.Value.String()); err == nil {
			opts.Ports = ports
		}
	}
	opts.KeyLog = tlsdecrypt.NewKeyLog()
	if f := cmd.Flags().Lookup("keylog"); f != nil && f.Value.String() != "" {
		opts.KeyLog.ReadFile(f.Value.String())
	}
	// Chat lines are what the names are learned with; their text is not
	// wanted.
	opts.ChatContentMax = 1

	ctx, cancel := context.WithTimeout(context.Background(), completeTime)
	defer cancel()
	out := &nameSink{kind: kind, seen: map[string]bool{}}
	sniff.Run(ctx, &firstPackets{Source: src, left: completePackets}, opts, sniff.SinkOutput{Sink: out})
	names := make([]string, 0, len(out.seen))
	for n := range out.seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// nameSink is a decode.Sink that keeps the names of one kind.
type nameSink struct {
	kind string
	seen map[string]bool
}

func (s *nameSink) Event(e *decode.Event) {
	if e.Kind != decode.KindMessage {
		return
	}
	t := &e.Talk
	add := func(n string) {
		// A name from the wire with a control character (a newline
		// would split the shell's list of candidates) is not offered.
		if n != "" && !strings.ContainsFunc(n, unicode.IsControl) {
			s.seen[n] = true
		}
	}
	switch s.kind {
	case "user":
		add(t.From)
		// To is a user, or everyone ("all") or a room ("room 1"): those
		// two are offered by --room, not as users.
		if t.To != "all" && !strings.HasPrefix(t.To, "room ") {
			add(t.To)
		}
	case "room":
		add(t.Room)
	case "type":
		add(t.Type)
	}
}

// firstPackets ends a source after its first left packets.
type firstPackets struct {
	capture.Source
	left int
}

func (s *firstPackets) Next() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error) {
	if s.left <= 0 {
		return nil, ci, 0, io.EOF
	}
	s.left--
	return s.Source.Next()
}

// SetSecrets passes a pcapng's key log through (capture.SecretsReader).
func (s *firstPackets) SetSecrets(fn func(kind uint32, data []byte)) {
	if sr, ok := s.Source.(capture.SecretsReader); ok {
		sr.SetSecrets(fn)
	}
}
