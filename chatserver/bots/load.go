package bots

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// StepReport is one load measurement.
type StepReport struct {
	Step     int     `json:"step"`
	Clients  int     `json:"clients"`
	Rooms    int     `json:"rooms"`
	Rate     float64 `json:"rate"` // target messages/s, all senders
	Seconds  float64 `json:"seconds"`
	Sent     uint64  `json:"sent"`
	Expected uint64  `json:"expected"`
	// Delivered counts messages received once, in order or not.
	Delivered  uint64 `json:"delivered"`
	Lost       uint64 `json:"lost"`
	Duplicated uint64 `json:"duplicated"`
	// OutOfOrder counts deliveries that skipped a sequence number of their sender.
	OutOfOrder   uint64  `json:"out_of_order"`
	Errors       uint64  `json:"errors"`
	SendRate     float64 `json:"send_rate"`
	DeliveryRate float64 `json:"deliveries_per_s"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	Maxms        float64 `json:"max_ms"`
	// ServerCPU and BotsCPU are percent of one core; -1 when unknown.
	ServerCPU float64 `json:"server_cpu_pct"`
	BotsCPU   float64 `json:"bots_cpu_pct"`
	ServerRSS int64   `json:"server_rss_bytes,omitempty"`
	Clean     bool    `json:"clean"`
	// FirstError is what went wrong first for a client, when Errors > 0
	// (a ramp stops at the first step that loses a client, so it is this
	// step's).
	FirstError string `json:"first_error,omitempty"`
}

// runStep sends at rate for one Duration, waits for the deliveries to
// drain, and measures.
func (r *runner) runStep(ctx context.Context, step int, rate float64) (StepReport, error) {
	o := r.opts
	r.sent.Store(0)
	r.expected.Store(0)
	r.delivered.Store(0)
	r.dups.Store(0)
	r.gaps.Store(0)
	r.stale.Store(0)
	r.hist.snapshot()
	r.step.Store(uint32(step))
	errsBefore := r.errs.Load()

	srv0, self0 := sampleProc(o.ServerPID), sampleProc(0)
	start := time.Now()
	until := start.Add(o.Duration)
	size := o.Size
	r.chat(ctx, rate, until, func(b *bot) func(uint32, []byte) []byte {
		return func(seq uint32, dst []byte) []byte {
			return appendContent(dst, marker{step: uint32(step), sender: uint32(b.idx), seq: seq, sent: time.Now().UnixNano()}, size)
		}
	})
	sendSecs := time.Since(start).Seconds()
	// Deliveries still on their way: wait for them, up to Drain.
	deadline := time.Now().Add(o.Drain)
	for r.delivered.Load() < r.expected.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	srv1, self1 := sampleProc(o.ServerPID), sampleProc(0)
	if err := ctx.Err(); err != nil {
		return StepReport{}, err
	}
	lat := r.hist.snapshot()
	rep := StepReport{
		Step: step, Clients: o.Clients, Rooms: o.Rooms, Rate: rate, Seconds: o.Duration.Seconds(),
		Sent: r.sent.Load(), Expected: r.expected.Load(), Delivered: r.delivered.Load(),
		Duplicated: r.dups.Load(), OutOfOrder: r.gaps.Load(), Errors: r.errs.Load() - errsBefore,
		P50ms: ms(lat.quantile(0.50)), P99ms: ms(lat.quantile(0.99)), Maxms: ms(lat.max),
		ServerCPU: cpuPercent(srv0, srv1), BotsCPU: cpuPercent(self0, self1), ServerRSS: srv1.rss,
	}
	if rep.Errors > 0 {
		r.failMu.Lock()
		if r.firstErr != nil {
			rep.FirstError = r.firstErr.Error()
		}
		r.failMu.Unlock()
	}
	if rep.Expected > rep.Delivered {
		rep.Lost = rep.Expected - rep.Delivered
	}
	rep.SendRate = float64(rep.Sent) / sendSecs
	// Deliveries per second of sending: the drain belongs to the step's
	// messages, so it is counted against the send window they came from.
	rep.DeliveryRate = float64(rep.Delivered) / sendSecs
	rep.Clean = rep.Lost == 0 && rep.Duplicated == 0 && rep.OutOfOrder == 0 && rep.Errors == 0 &&
		time.Duration(rep.P99ms*float64(time.Millisecond)) <= o.CleanP99 &&
		rep.SendRate >= 0.95*rate
	return rep, nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

// load runs one step at Rate, or the ramp.
func (r *runner) load(ctx context.Context) error {
	// Fixed-width columns: steps are printed as they finish, so a
	// tabwriter, which aligns only what it holds, would not line them up.
	const row = "%4v %8v %9v %10v %10v %8v %6v %8v %6v %12v %8v %8v %8v %10v %8v %5v\n"
	print := func(rep StepReport) {
		if r.opts.JSON {
			b, _ := json.Marshal(rep)
			r.printf("%s\n", b)
			return
		}
		r.printf(row, rep.Step, fmt.Sprintf("%.0f", rep.Rate), rep.Sent, rep.Expected, rep.Delivered, rep.Lost, rep.Duplicated, rep.OutOfOrder, rep.Errors,
			fmt.Sprintf("%.0f", rep.DeliveryRate), fmt.Sprintf("%.1f", rep.P50ms), fmt.Sprintf("%.1f", rep.P99ms), fmt.Sprintf("%.1f", rep.Maxms),
			pct(rep.ServerCPU), pct(rep.BotsCPU), yesNo(rep.Clean))
		if rep.FirstError != "" {
			r.printf("     first error: %s\n", rep.FirstError)
		}
	}
	if !r.opts.JSON {
		r.printf(row, "step", "rate/s", "sent", "expected", "delivered", "lost", "dup", "disorder", "errors", "deliveries/s", "p50 ms", "p99 ms", "max ms", "server CPU", "bots CPU", "clean")
	}

	rate := r.opts.Rate
	var best *StepReport
	lo, hi := 0.0, math.Inf(1)
	for step := 1; step <= r.opts.RampSteps; step++ {
		rep, err := r.runStep(ctx, step, rate)
		if err != nil {
			return err
		}
		print(rep)
		if !r.opts.Ramp {
			break
		}
		if rep.Clean {
			lo = rate
			best = &rep
		} else {
			hi = rate
		}
		if r.deadBots() > 0 {
			r.printf("ramp stopped: %d client(s) lost their connection\n", r.deadBots())
			break
		}
		switch {
		case math.IsInf(hi, 1):
			rate *= 1.5
		case lo == 0:
			rate /= 2
		default:
			rate = (lo + hi) / 2
		}
		if !math.IsInf(hi, 1) && lo > 0 && hi/lo < 1.08 {
			break
		}
		// Let the server's queues and the sockets empty before the next step.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if r.opts.Ramp {
		if best == nil {
			r.printf("no clean step: even %.0f messages/s was not clean\n", lo)
		} else {
			r.printf("highest clean rate: %.0f messages/s = %.0f deliveries/s, p99 %.1f ms (step %d)\n",
				best.Rate, best.DeliveryRate, best.P99ms, best.Step)
		}
	}
	r.reportStalled()
	return nil
}

// reportStalled lets the stalled clients read again and tells whether the
// server had dropped them (their connection ends once the buffered bytes
// are read) or still serves them.
func (r *runner) reportStalled() {
	stalled := r.bots[len(r.bots)-r.opts.Stall:]
	if len(stalled) == 0 {
		return
	}
	dropped := 0
	for _, b := range stalled {
		b.unstall()
	}
	timeout := time.After(3 * time.Second)
	for _, b := range stalled {
		select {
		case <-b.readDone:
			dropped++
		case <-timeout:
		}
	}
	r.printf("stalled clients: %d, dropped by the server: %d\n", len(stalled), dropped)
}

func (r *runner) deadBots() int {
	n := 0
	for _, b := range r.senders() {
		b.deadMu.Lock()
		if b.dead {
			n++
		}
		b.deadMu.Unlock()
	}
	return n
}

func pct(p float64) string {
	if p < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", p)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
