package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/chatsniff/chatsniff/chatserver"
	"github.com/chatsniff/chatsniff/chatserver/bots"
	"github.com/spf13/cobra"
)

func newBotsCmd() *cobra.Command {
	var (
		opts     bots.Options
		protocol string
		insecure bool
		keyLog   string
	)
	cmd := &cobra.Command{
		Use:   "bots [ws://127.0.0.1:7272/ | wss://...]",
		Short: "Simulated chat users: a demo, or a load generator with a report",
		Long: `Connect simulated users to a workerman-chat compatible server over real
WebSocket connections; they log in and chat.

Demo mode (the default): varied messages (some non-ASCII, some long) at --rate
messages/s in total; what the first bot receives is printed, and the rates
every 5 s.

Load mode (--load): 64-byte messages carrying a sequence number and a send
time; after each --duration step, a report of sent, expected, delivered, lost,
duplicated and out-of-order messages, p50/p99/max latency, errors, and the
server's CPU when --server-pid is given. --ramp finds the highest clean rate
(every message delivered once, in order, p99 under --clean-p99).

wss:// connects over TLS, the certificate verified; --insecure accepts any,
as the self-signed one of chatsniff serve --tls needs. --keylog FILE, or
$SSLKEYLOGFILE when it is not given, appends the TLS secrets in the NSS key
log format, with which chatsniff read/live --keylog decrypts a capture.

Only loopback addresses are accepted unless --allow-remote is given.`,
		Example: `  chatsniff bots -n 20 --rate 50 ws://127.0.0.1:7272
  chatsniff bots --load -n 200 --rate 1000 --protocol room --server-pid $(pidof chatsniff) ws://127.0.0.1:7272
  chatsniff bots --load --ramp -n 50 --rate 1000 ws://127.0.0.1:7272
  chatsniff bots --insecure --keylog /tmp/keys.log wss://127.0.0.1:7272   # against chatsniff serve --tls`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.URL = "ws://127.0.0.1:7272/"
			if len(args) == 1 {
				opts.URL = args[0]
			}
			opts.Protocol = chat.Protocol(protocol)
			wss := strings.HasPrefix(strings.ToLower(opts.URL), "wss://")
			if keyLog == "" {
				keyLog = os.Getenv("SSLKEYLOGFILE")
			} else if !wss {
				return fmt.Errorf("--keylog needs a wss:// URL")
			}
			if wss {
				opts.TLS = &tls.Config{InsecureSkipVerify: insecure}
				if keyLog != "" {
					w, err := chatserver.KeyLogFile(keyLog, func(err error) { fmt.Fprintln(cmd.ErrOrStderr(), "chatsniff bots: warning:", err) })
					if err != nil {
						return err
					}
					defer w.Close()
					opts.TLS.KeyLogWriter = w
				}
			}
			return bots.Run(cmd.Context(), opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&insecure, "insecure", false, "wss://: accept any certificate unchecked (the self-signed one of chatsniff serve --tls)")
	f.StringVar(&keyLog, "keylog", "", "wss://: append the TLS secrets to key log `FILE` (NSS format; default $SSLKEYLOGFILE), for chatsniff --keylog")
	f.IntVarP(&opts.Clients, "clients", "n", bots.DefaultClients, "number of simulated users")
	f.Float64Var(&opts.Rate, "rate", bots.DefaultRate, "messages said per second, all users together (the ramp's first step)")
	f.IntVar(&opts.Rooms, "rooms", bots.DefaultRooms, "rooms to spread the users over (room protocol)")
	f.StringVar(&protocol, "protocol", string(chat.ProtocolUID), "chat protocol: uid or room")
	f.DurationVar(&opts.Duration, "duration", 0, "how long to chat (demo: 0 = until Ctrl-C; load: one step, default 10s)")
	f.BoolVar(&opts.Load, "load", false, "load mode: marked messages and a delivery/latency report")
	f.IntVar(&opts.Size, "size", bots.DefaultSize, "load mode: message content size in bytes")
	f.BoolVar(&opts.Ramp, "ramp", false, "load mode: raise the rate step by step to find the highest clean one")
	f.IntVar(&opts.RampSteps, "ramp-steps", 12, "load mode: most steps of the ramp")
	f.DurationVar(&opts.CleanP99, "clean-p99", bots.DefaultCleanP99, "p99 latency above which a step is not clean")
	f.DurationVar(&opts.Drain, "drain", bots.DefaultDrain, "how long a step waits for late deliveries")
	f.IntVar(&opts.Stall, "stall", 0, "users that log in and then stop reading")
	f.BoolVar(&opts.Deflate, "deflate", false, "offer permessage-deflate")
	f.IntVar(&opts.Connect, "connect", bots.DefaultConnect, "connections opened at once")
	f.IntVar(&opts.ServerPID, "server-pid", 0, "server process id, to report its CPU and memory")
	f.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow a server address that is not loopback")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "demo: print rates only, not the messages received")
	f.BoolVar(&opts.JSON, "json", false, "load: print each step's report as a JSON line")
	return cmd
}
