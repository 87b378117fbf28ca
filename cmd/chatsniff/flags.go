package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/chatsniff/chatsniff/filter"
	"github.com/chatsniff/chatsniff/render"
	"github.com/chatsniff/chatsniff/sniff"
	"github.com/spf13/cobra"
)

// sizeValue is a byte count flag that takes 16MiB, 64KiB, 1GB or plain bytes.
type sizeValue int

func (s *sizeValue) String() string {
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int(*s) >= u.mult && int(*s)%u.mult == 0 {
			return strconv.Itoa(int(*s)/u.mult) + u.suffix
		}
	}
	return strconv.Itoa(int(*s))
}
func (s *sizeValue) Type() string { return "size" }

func (s *sizeValue) Set(v string) error {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	num, mult := v, int64(1)
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			num, mult = strings.TrimSuffix(v, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return fmt.Errorf("%q is not a size such as 16MiB", v)
	}
	*s = sizeValue(n * mult)
	return nil
}

// colorValue is --color auto|always|never.
type colorValue render.ColorMode

func (c *colorValue) String() string { return string(*c) }
func (c *colorValue) Type() string   { return "when" }

func (c *colorValue) Set(v string) error {
	switch render.ColorMode(v) {
	case render.ColorAuto, render.ColorAlways, render.ColorNever:
		*c = colorValue(v)
		return nil
	}
	return fmt.Errorf("%q: want auto, always or never", v)
}

// outputFlags are the flags read and live share.
type outputFlags struct {
	ports      string
	json       bool
	explain    bool
	compact    bool
	color      colorValue
	maxMessage sizeValue
	count      int
	keyLog     string
	noHeart    bool
	filter     filter.Options
	stats      bool
	har        string
	quiet      bool
}

func (o *outputFlags) register(cmd *cobra.Command) {
	o.color = colorValue(render.ColorAuto)
	o.maxMessage = 16 << 20
	f := cmd.Flags()
	f.StringVarP(&o.ports, "port", "p", "", "only TCP port(s) `PORTS`, e.g. 7272 or 7272,8080; also decodes connections whose upgrade was not captured")
	f.BoolVar(&o.json, "json", false, "write NDJSON, one event per line")
	f.BoolVar(&o.explain, "explain", false, "explain every packet, as the Workerman manual's annotated tcpdump does")
	f.BoolVar(&o.compact, "compact", false, "print each message's JSON on its line instead of pretty-printed under it")
	f.Var(&o.color, "color", "colour output: auto, always or never (NO_COLOR is honoured by auto)")
	cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	f.Var(&o.maxMessage, "max-message", "cap on one message's size; longer ones are reported truncated")
	f.IntVarP(&o.count, "count", "c", 0, "stop after `N` messages")
	f.StringVar(&o.keyLog, "keylog", "", "decrypt TLS (wss://) with the secrets in key log `FILE` (SSLKEYLOGFILE format; default $SSLKEYLOGFILE)")
	f.BoolVar(&o.noHeart, "no-heartbeat", false, "hide keep-alives: WebSocket ping/pong, workerman-chat's and Engine.IO's ping/pong")
	fo := &o.filter
	f.StringSliceVar(&fo.Users, "user", nil, "only messages said by, to or about user `NAME` (names as learned; repeat or comma-separate for any of several)")
	f.StringSliceVar(&fo.Rooms, "room", nil, "only messages in room `ROOM` (the room a connection logged in to, or a Socket.IO emit names)")
	f.StringSliceVar(&fo.Types, "type", nil, "only chat messages of type `TYPE` (login, say, logout...; a Socket.IO event's name)")
	for _, kind := range []string{"user", "room", "type"} {
		// Values read from the capture given earlier on the line.
		cmd.RegisterFlagCompletionFunc(kind, completeNames(kind))
	}
	f.StringVar(&fo.Grep, "grep", "", "only messages whose text (unmasked, inflated) or chat line matches regular expression `RE`")
	f.StringVar(&fo.Conn, "conn", "", "only connection `N` (its number in the views) or the connections of address ip:port")
	f.StringVar(&fo.From, "from", "", "only messages `SIDE` sent: client or server")
	f.StringVar(&fo.Since, "since", "", "only messages captured at or after `TIME` (RFC 3339, 2026-12-07 17:50:30, or a time of day: 17:50:30)")
	f.StringVar(&fo.Until, "until", "", "only messages captured before `TIME` (as --since)")
	f.BoolVar(&o.stats, "stats", false, "print a table instead of messages: per connection and per user, messages and bytes each way, first/last seen, the server's fan-out (one JSON object with --json)")
	f.StringVar(&o.har, "har", "", "also write the WebSocket connections shown to `FILE` as HAR 1.2, as Chrome DevTools exports them (Network → Import HAR)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress bar on stderr while reading a file")
	cmd.MarkFlagsMutuallyExclusive("json", "explain")
	cmd.MarkFlagsMutuallyExclusive("stats", "explain")
}

// command fills a sniff.Command from the flags.
func (o *outputFlags) command(cmd *cobra.Command, parsePorts func(string) ([]uint16, error)) (*sniff.Command, error) {
	c := &sniff.Command{
		Color:   render.ColorMode(o.color),
		Compact: o.compact,
		Stdout:  cmd.OutOrStdout(),
		Stderr:  cmd.ErrOrStderr(),
	}
	if o.ports != "" {
		ports, err := parsePorts(o.ports)
		if err != nil {
			return nil, fmt.Errorf("-p: %w", err)
		}
		c.Options.Ports = ports
	}
	if o.count < 0 {
		return nil, fmt.Errorf("-c %d: want a positive count", o.count)
	}
	c.Options.MaxMessages = o.count
	c.KeyLogPath = o.keyLog
	if c.KeyLogPath == "" {
		c.KeyLogPath = os.Getenv("SSLKEYLOGFILE")
	}
	c.Options.MaxMessage = int(o.maxMessage)
	c.Options.NoHeartbeat = o.noHeart
	flt, err := filter.New(o.filter)
	if err != nil {
		return nil, err
	}
	c.Options.Filter = flt
	c.Stats, c.Quiet, c.HARPath = o.stats, o.quiet, o.har
	switch {
	case o.json:
		c.Format = sniff.FormatNDJSON
	case o.explain:
		c.Format = sniff.FormatExplain
	}
	return c, nil
}
