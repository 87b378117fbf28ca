package bots

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// runner is one run of the bots.
type runner struct {
	opts  Options
	out   io.Writer
	outMu sync.Mutex

	bots       []*bot
	roomActive []int // clients reading, per room: the deliveries one say should make

	// Per-step counters, reset by runStep.
	step      atomic.Uint32
	sent      atomic.Uint64
	expected  atomic.Uint64
	delivered atomic.Uint64
	dups      atomic.Uint64
	gaps      atomic.Uint64
	stale     atomic.Uint64
	errs      atomic.Uint64
	hist      histogram

	received atomic.Uint64 // demo: say messages received by all bots

	failMu   sync.Mutex
	firstErr error
	// stopDemo ends a demo at the first connection failure.
	stopDemo context.CancelCauseFunc
	closing  atomic.Bool
}

func (r *runner) printf(format string, args ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.out, format, args...)
}

// fail records a bot's connection failure.
func (r *runner) fail(b *bot, err error) {
	b.deadMu.Lock()
	already := b.dead
	b.dead = true
	b.deadMu.Unlock()
	if already {
		return
	}
	r.errs.Add(1)
	r.failMu.Lock()
	if r.firstErr == nil {
		r.firstErr = err
	}
	stop := r.stopDemo
	r.failMu.Unlock()
	if stop != nil {
		stop(err)
	}
}

// Run is `chatsniff bots`: connect the clients, log them in, then chat
// (demo) or measure (load) until ctx ends or the duration is over, and
// report on out.
func Run(ctx context.Context, opts Options, out io.Writer) error {
	o, err := opts.withDefaults(ctx)
	if err != nil {
		return fmt.Errorf("bots: %w", err)
	}
	r := &runner{opts: o, out: out, roomActive: make([]int, o.Rooms)}
	defer r.closeAll()
	if err := r.connect(ctx); err != nil {
		return fmt.Errorf("bots: %w", err)
	}
	if o.Load {
		err = r.load(ctx)
	} else {
		err = r.demo(ctx)
	}
	if err != nil {
		return fmt.Errorf("bots: %w", err)
	}
	return nil
}

// connect opens every connection, Connect at a time, and waits for each
// login reply. The last Stall clients are the stalled ones.
func (r *runner) connect(ctx context.Context) error {
	o := r.opts
	mode := "demo"
	if o.Load {
		mode = "load"
	}
	r.printf("bots: %d clients (%d stalled) in %d room(s), protocol %s, deflate %v, %s mode, %s\n",
		o.Clients, o.Stall, o.Rooms, o.Protocol, o.Deflate, mode, o.URL)
	before := sampleProc(o.ServerPID)
	start := time.Now()
	r.bots = make([]*bot, o.Clients)
	for i := range r.bots {
		b := &bot{r: r, idx: i, room: i % o.Rooms, stalled: i >= o.Clients-o.Stall,
			loggedIn: make(chan struct{}), resume: make(chan struct{}), readDone: make(chan error, 1),
			lastSeq: make(map[uint32]uint32)}
		if o.Load {
			b.name = fmt.Sprintf("bot%d", i)
		} else {
			b.name = demoName(i)
		}
		if !b.stalled {
			r.roomActive[b.room]++
		}
		r.bots[i] = b
	}
	sem := make(chan struct{}, o.Connect)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for _, b := range r.bots {
		select {
		case sem <- struct{}{}:
		case err := <-errc:
			wg.Wait()
			return err
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.login(ctx, b); err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	after := sampleProc(o.ServerPID)
	r.printf("connected and logged in %d clients in %.1f s\n", o.Clients, time.Since(start).Seconds())
	if before.ok && after.ok {
		r.printf("server RSS %.1f MB -> %.1f MB: %.1f KB per connection\n",
			float64(before.rss)/(1<<20), float64(after.rss)/(1<<20), float64(after.rss-before.rss)/float64(o.Clients)/1024)
	}
	return nil
}

func (r *runner) login(ctx context.Context, b *bot) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := b.dial(ctx); err != nil {
		return err
	}
	go b.readLoop()
	if err := b.write(b.loginMessage()); err != nil {
		return fmt.Errorf("client %d: login: %w", b.idx, err)
	}
	select {
	case <-b.loggedIn:
		return nil
	case err := <-b.readDone:
		return fmt.Errorf("client %d: connection ended before the login reply: %w", b.idx, err)
	case <-ctx.Done():
		return fmt.Errorf("client %d: no login reply: %w", b.idx, ctx.Err())
	}
}

// senders are the bots that talk: all but the stalled ones.
func (r *runner) senders() []*bot {
	return r.bots[:len(r.bots)-r.opts.Stall]
}

// chat runs every sender at rate messages/s in total from now until
// until (zero: until ctx ends).
func (r *runner) chat(ctx context.Context, rate float64, until time.Time, content func(b *bot) func(seq uint32, dst []byte) []byte) {
	senders := r.senders()
	interval := time.Duration(float64(len(senders)) / rate * float64(time.Second))
	start := time.Now()
	var wg sync.WaitGroup
	for i, b := range senders {
		offset := time.Duration(int64(interval) * int64(i) / int64(len(senders)))
		wg.Go(func() { b.sendLoop(ctx, start, until, offset, interval, content(b)) })
	}
	wg.Wait()
}

// demo chats with varied lines and prints the rates every 5 s.
func (r *runner) demo(ctx context.Context) error {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.failMu.Lock()
	r.stopDemo = stop
	r.failMu.Unlock()
	if r.opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.Duration)
		defer cancel()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.chat(ctx, r.opts.Rate, time.Time{}, func(b *bot) func(uint32, []byte) []byte {
			rng := b.rand()
			return func(_ uint32, dst []byte) []byte { return append(dst, demoLine(rng)...) }
		})
	}()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	last, lastRecv, lastAt := uint64(0), uint64(0), time.Now()
	report := func() {
		now := time.Now()
		s, rc := r.sent.Load(), r.received.Load()
		secs := now.Sub(lastAt).Seconds()
		r.printf("-- sent %.1f msg/s, received %.1f msg/s (all clients), errors %d\n",
			float64(s-last)/secs, float64(rc-lastRecv)/secs, r.errs.Load())
		last, lastRecv, lastAt = s, rc, now
	}
	for {
		select {
		case <-t.C:
			report()
		case <-done:
			report()
			r.failMu.Lock()
			defer r.failMu.Unlock()
			return r.firstErr
		}
	}
}

// closeAll ends every connection with a normal close, briefly.
func (r *runner) closeAll() {
	r.closing.Store(true)
	var wg sync.WaitGroup
	for _, b := range r.bots {
		if b == nil || b.conn == nil {
			continue
		}
		wg.Go(func() {
			b.unstall()
			done := make(chan struct{})
			go func() {
				b.conn.Close(websocket.StatusNormalClosure, "")
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				b.conn.CloseNow()
			}
		})
	}
	wg.Wait()
}

// unstall lets a stalled bot read again; harmless on others and twice.
func (b *bot) unstall() {
	b.resumeClose.Do(func() { close(b.resume) })
}
