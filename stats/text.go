package stats

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// nameCut is how many runes of a name a table shows: the JSON has it
// whole (up to maxName).
const nameCut = 32

// WriteText writes the figures as tables: the totals, one row per
// connection, per user and per server's fan-out. Names are escaped for the
// terminal; times are the conversation view's (time of day, local, µs).
//
// It takes no render.Scheme: the Scheme's sequences are not exported, and
// colour inside tabwriter cells would count towards the columns' widths.
func (c *Collector) WriteText(w io.Writer) error {
	r := c.Report()
	bw := bufio.NewWriter(w)
	t := r.Totals
	if t.First.IsZero() {
		fmt.Fprintf(bw, "no messages\n")
	} else {
		fmt.Fprintf(bw, "%s to %s (%s)\n", t.First.Format("2006-01-02 15:04:05.000000"),
			t.Last.Format("2006-01-02 15:04:05.000000"), duration(t.Duration))
	}
	fmt.Fprintf(bw, "%d connections (%d WebSocket), %d users, %d gaps, %d errors, %d upgrades rejected\n",
		t.Connections, t.WebSockets, t.Users, t.Gaps, t.Errors, t.Rejected)
	fmt.Fprintf(bw, "messages: %d client → server (%s), %d server → client (%s)\n",
		t.ClientToServer.Messages, size(t.ClientToServer.Bytes), t.ServerToClient.Messages, size(t.ServerToClient.Bytes))

	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nCONN\tCLIENT\tSERVER\tUSER\tC→S MSGS\tC→S BYTES\tS→C MSGS\tS→C BYTES\tCHAT\tFIRST\tLAST\tGAPS\tERRORS\tCLOSED\n")
	for _, k := range r.Connections {
		closed := "no"
		if k.Closed {
			closed = "yes"
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%d\t%s\t%s\t%d\t%d\t%s\n",
			k.ID, k.Client, k.Server, name(k.User),
			k.ClientToServer.Messages, size(k.ClientToServer.Bytes), k.ServerToClient.Messages, size(k.ServerToClient.Bytes),
			k.Chat, clock(k.First), clock(k.Last), k.Gaps, k.Errors, closed)
	}
	if len(r.Users) > 0 {
		fmt.Fprintf(tw, "\nUSER\tCONNS\tSENT MSGS\tSENT BYTES\tRECV MSGS\tRECV BYTES\tCHAT\tFIRST\tLAST\n")
		for _, u := range r.Users {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\t%d\t%s\t%s\n", name(u.Name), u.Connections,
				u.Sent.Messages, size(u.Sent.Bytes), u.Received.Messages, size(u.Received.Bytes),
				u.Chat, clock(u.First), clock(u.Last))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Fanout) > 0 {
		fmt.Fprintf(bw, "\nfan-out: identical server → client data messages to other connections within %s of the first copy\n", duration(FanoutWindow))
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "SERVER\tMSGS\tUNICASTS\tBROADCASTS\tCOPIES\tMEAN\tMAX\tSPREAD P50\tP99\tMAX\n")
		for _, f := range r.Fanout {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t%s\n", f.Server, f.Messages, f.Unicasts,
				f.Broadcasts, f.Copies, strconv.FormatFloat(f.CopiesMean, 'f', 1, 64), f.CopiesMax,
				duration(f.SpreadP50), duration(f.SpreadP99), duration(f.SpreadMax))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteJSON writes the Report as one JSON object on one line.
func (c *Collector) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(c.Report())
	if err != nil {
		return err
	}
	b = append(escapeJSON(b), '\n')
	_, err = w.Write(b)
	return err
}

// name is a user's name for a table: escaped, cut, "-" when unknown.
func name(s string) string {
	if s == "" {
		return "-"
	}
	if utf8.RuneCountInString(s) > nameCut {
		n := 0
		for i := range s {
			if n == nameCut-1 {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	return string(appendEscaped(nil, s))
}

// clock is a time as the conversation view prints it: time of day with
// microseconds, local.
func clock(t Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05.000000")
}

// size is a byte count for people: 512 B, 1.2 KiB, 3.4 MiB.
func size(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
		}
	}
	panic("unreachable")
}

// duration is d in three figures or so: 850ns, 12.5µs, 3.2ms, 1.25s.
func duration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
}
