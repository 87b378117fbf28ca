package stats

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/chatsniff/chatsniff/render"
)

// nameCut is how many runes of a name a table shows: the JSON has it
// whole (up to maxName).
const nameCut = 32

// WriteText writes the figures as tables: the totals, one row per
// connection, per user and per server's fan-out. Names are escaped for the
// terminal; times are the conversation view's (time of day, local, µs).
//
// It takes no render.Scheme: the Scheme's sequences are not exported
// outside render.
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

	var conns table
	conns.row("CONN", "CLIENT", "SERVER", "USER", "C→S MSGS", "C→S BYTES", "S→C MSGS", "S→C BYTES", "CHAT", "FIRST", "LAST", "GAPS", "ERRORS", "CLOSED")
	for _, k := range r.Connections {
		closed := "no"
		if k.Closed {
			closed = "yes"
		}
		conns.row("#"+u64(k.ID), k.Client.String(), k.Server.String(), name(k.User),
			u64(k.ClientToServer.Messages), size(k.ClientToServer.Bytes), u64(k.ServerToClient.Messages), size(k.ServerToClient.Bytes),
			u64(k.Chat), clock(k.First), clock(k.Last), u64(k.Gaps), u64(k.Errors), closed)
	}
	bw.WriteByte('\n')
	conns.write(bw)
	if len(r.Users) > 0 {
		var users table
		users.row("USER", "CONNS", "SENT MSGS", "SENT BYTES", "RECV MSGS", "RECV BYTES", "CHAT", "FIRST", "LAST")
		for _, u := range r.Users {
			users.row(name(u.Name), strconv.Itoa(u.Connections),
				u64(u.Sent.Messages), size(u.Sent.Bytes), u64(u.Received.Messages), size(u.Received.Bytes),
				u64(u.Chat), clock(u.First), clock(u.Last))
		}
		bw.WriteByte('\n')
		users.write(bw)
	}
	if len(r.Fanout) > 0 {
		fmt.Fprintf(bw, "\nfan-out: identical server → client data messages to other connections within %s of the first copy\n", duration(FanoutWindow))
		var fan table
		fan.row("SERVER", "MSGS", "UNICASTS", "BROADCASTS", "COPIES", "MEAN", "MAX", "SPREAD P50", "P99", "MAX")
		for _, f := range r.Fanout {
			fan.row(f.Server.String(), u64(f.Messages), u64(f.Unicasts), u64(f.Broadcasts), u64(f.Copies),
				strconv.FormatFloat(f.CopiesMean, 'f', 1, 64), u64(f.CopiesMax),
				duration(f.SpreadP50), duration(f.SpreadP99), duration(f.SpreadMax))
		}
		fan.write(bw)
		for _, f := range r.Fanout {
			if f.Cut > 0 {
				fmt.Fprintf(bw, "%s: %d groups cut short, too many open at once: copies may be undercounted\n", f.Server, f.Cut)
			}
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
	// --stats --json may be read on a terminal too: the runes
	// encoding/json leaves raw that a terminal acts on are escaped.
	b = append(render.AppendEscapedJSON(make([]byte, 0, len(b)+1), b), '\n')
	_, err = w.Write(b)
	return err
}

func u64(n uint64) string { return strconv.FormatUint(n, 10) }

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
	return string(render.AppendEscaped(nil, s)) // names come from the wire
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

// duration is d in three figures or so: 850ns, 12.5µs, 3.2ms, 1.25s, 2s.
func duration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
}
