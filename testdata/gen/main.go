package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Bounds on the flags, so that a typo cannot ask for the impossible.
const (
	minMSS = 64
	// maxMSS keeps every segment inside IPv4's 16-bit total length.
	maxMSS = 65535 - ipv4Header - tcpSynHeader
	// maxAliveConns bounds the connections open at once: each costs a few
	// hundred bytes (a couple of megabytes with -deflate), and ::1 alone
	// must have a free ephemeral port for each (28232 of them).
	maxAliveConns = 20000
	// defaultSize is the capture's size when neither -size nor -messages is given.
	defaultSize = 10_000_000
)

// options are the generator's flags.
type options struct {
	Out    string // the pcap file, "-" for stdout
	Expect string // where the expected counts go; "" for Out+".json", "-" for none
	Size   int64  // stop once the file has this many bytes (0: no limit)
	// Messages stops once this many WebSocket messages (both directions,
	// control frames included) were written (0: no limit).
	Messages int64
	Conns    int    // WebSocket connections over the whole capture
	Alive    int    // connections open at once, at most
	Rooms    int    // rooms of the room protocol; 0: one per 20 alive connections
	Protocol string // "room" or "uid"
	MSS      int    // TCP payload bytes per segment at most
	Deflate  bool   // negotiate permessage-deflate
	TLS      bool   // wss://: TLS 1.3, with a key log
	Keys     string // where the key log goes with TLS; "" for Out+".keys"
	keyLog   io.Writer
	Link     string  // "ethernet", "sll" or "sll2"
	Seed     uint64  // the random seed: the same flags give the same file
	IPv6     float64 // share of connections over ::1
	HTTP     float64 // share of clients that load the page from port 55151 first
	Huge     int     // one say in this many is over 64 KiB (0: none)
	// Short is the percentage of says that are short lines (3 to 79
	// bytes); the rest are paragraphs and pastes, four to one.
	Short int
	Start time.Time
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
	start := time.Now()
	exp, err := run(o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "gen: %s: %d packets, %.1f MB, %d connections, %d messages in %.2fs (%.0f MB/s)\n",
		o.Out, exp.Packets, float64(exp.FileBytes)/1e6, exp.TCPConnections, exp.Messages.Total,
		secs, float64(exp.FileBytes)/1e6/secs)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./testdata/gen -o FILE [-size 1GB | -messages N] [flags]")
		fmt.Fprintln(stderr, "Writes a synthetic workerman-chat capture and FILE.json with the counts a decoder should find.")
		fs.PrintDefaults()
	}
	var size, start string
	fs.StringVar(&o.Out, "o", "", "output pcap `file` (- for stdout)")
	fs.StringVar(&o.Expect, "expect", "", "where to write the expected counts (default FILE.json; - for nowhere)")
	fs.StringVar(&size, "size", "", "stop once the file reaches this `size` (e.g. 200MB, 1GB, 512MiB)")
	fs.Int64Var(&o.Messages, "messages", 0, "stop once this many WebSocket messages were written, both directions")
	fs.IntVar(&o.Conns, "conns", 1000, "WebSocket connections over the whole capture")
	fs.IntVar(&o.Alive, "alive", 100, "connections open at once, at most")
	fs.IntVar(&o.Rooms, "rooms", 0, "rooms of the room protocol (0: one per 20 connections alive)")
	fs.StringVar(&o.Protocol, "protocol", "room", "chat protocol: room (today's) or uid (2014)")
	fs.IntVar(&o.MSS, "mss", 1448, "TCP payload bytes per segment at most")
	fs.BoolVar(&o.Deflate, "deflate", false, "negotiate permessage-deflate and compress messages")
	fs.BoolVar(&o.TLS, "tls", false, "wss://: TLS 1.3 (AES-128-GCM) on every WebSocket connection, secrets in FILE.keys")
	fs.StringVar(&o.Keys, "keys", "", "where the key log goes with -tls (default FILE.keys)")
	fs.StringVar(&o.Link, "link", "ethernet", "link type: ethernet, sll or sll2")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed")
	fs.Float64Var(&o.IPv6, "ipv6", 0.1, "share of connections over IPv6 (::1)")
	fs.Float64Var(&o.HTTP, "http", 0.05, "share of clients that first load the chat page on port 55151")
	fs.IntVar(&o.Huge, "huge", 2000, "one say in `N` is over 64 KiB (0: none)")
	fs.IntVar(&o.Short, "short", 70, "`percent` of says that are short lines (3-79 bytes); the rest are paragraphs (80-599) and pastes (600-7999), 4:1")
	fs.StringVar(&start, "start", "2026-11-24T18:42:00Z", "capture time of the first packet (RFC 3339)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if size != "" {
		n, err := parseSize(size)
		if err != nil {
			return o, fmt.Errorf("-size: %w", err)
		}
		o.Size = n
	}
	t, err := time.Parse(time.RFC3339Nano, start)
	if err != nil {
		return o, fmt.Errorf("-start: %w", err)
	}
	o.Start = t
	return o, o.check()
}

// check validates o and fills in the defaults that depend on other flags.
func (o *options) check() error {
	switch {
	case o.Out == "":
		return errors.New("-o is required")
	case o.Messages < 0:
		return fmt.Errorf("-messages %d: want a positive count", o.Messages)
	case o.Conns < 1:
		return fmt.Errorf("-conns %d: want at least 1", o.Conns)
	case o.Alive < 1 || o.Alive > maxAliveConns:
		return fmt.Errorf("-alive %d: want 1 to %d", o.Alive, maxAliveConns)
	case o.Rooms < 0 || o.Rooms > maxAliveConns:
		return fmt.Errorf("-rooms %d: want 0 to %d", o.Rooms, maxAliveConns)
	case o.Protocol != "room" && o.Protocol != "uid":
		return fmt.Errorf("-protocol %q: want room or uid", o.Protocol)
	case o.MSS < minMSS || o.MSS > maxMSS:
		return fmt.Errorf("-mss %d: want %d to %d", o.MSS, minMSS, maxMSS)
	case linkTypes[o.Link] == 0:
		return fmt.Errorf("-link %q: want ethernet, sll or sll2", o.Link)
	case !(o.IPv6 >= 0 && o.IPv6 <= 1):
		return fmt.Errorf("-ipv6 %v: want a share from 0 to 1", o.IPv6)
	case !(o.HTTP >= 0 && o.HTTP <= 1):
		return fmt.Errorf("-http %v: want a share from 0 to 1", o.HTTP)
	case o.Huge < 0:
		return fmt.Errorf("-huge %d: want a positive count, or 0 for none", o.Huge)
	case o.Short < 0 || o.Short > 100:
		return fmt.Errorf("-short %d: want a percentage from 0 to 100", o.Short)
	case o.Out == "-" && o.Expect == "":
		return errors.New("-o -: say where the counts go with -expect FILE (or -expect -)")
	case o.Out == "-" && o.TLS && o.Keys == "":
		return errors.New("-o - -tls: say where the key log goes with -keys FILE")
	}
	if o.Size == 0 && o.Messages == 0 {
		o.Size = defaultSize
	}
	o.Alive = min(o.Alive, o.Conns)
	if o.Rooms == 0 {
		o.Rooms = (o.Alive + 19) / 20
	}
	if o.Expect == "" {
		o.Expect = o.Out + ".json"
	}
	if o.TLS && o.Keys == "" {
		o.Keys = o.Out + ".keys"
	}
	return nil
}

// parseSize reads a byte count: plain bytes or with a unit, decimal (KB, MB,
// GB, TB) or binary (KiB, MiB, GiB, TiB), as tools' -size flags do.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"B", 1},
	}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if len(num) > len(u.suffix) && strings.EqualFold(num[len(num)-len(u.suffix):], u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	// The limit is far past any disk here but keeps the product in an int64.
	if err != nil || !(f > 0) || f*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("%q is not a size such as 200MB or 1GiB", s)
	}
	return int64(f * float64(mult)), nil
}

// run writes the capture and its expected counts.
func run(o options, stdout io.Writer) (*Expected, error) {
	var out io.Writer = stdout
	var f *os.File
	if o.Out != "-" {
		var err error
		if f, err = os.Create(o.Out); err != nil {
			return nil, fmt.Errorf("create capture: %w", err)
		}
		defer f.Close()
		out = f
	}
	if o.TLS {
		kf, err := os.Create(o.Keys)
		if err != nil {
			return nil, fmt.Errorf("create key log: %w", err)
		}
		defer kf.Close()
		kw := bufio.NewWriter(kf)
		o.keyLog = kw
		defer func() {
			if err := kw.Flush(); err != nil {
				fmt.Fprintln(os.Stderr, "gen: key log:", err)
			}
		}()
	}
	// A large buffer turns millions of small packet writes into few syscalls.
	bw := bufio.NewWriterSize(out, 1<<20)
	exp, err := generate(bw, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Out, err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Out, err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Out, err)
		}
	}
	if o.Expect != "-" {
		b, err := json.MarshalIndent(exp, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("expected counts: %w", err)
		}
		if err := os.WriteFile(o.Expect, append(b, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("expected counts: %w", err)
		}
	}
	return exp, nil
}
