package sniff

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/chatsniff/chatsniff/capture"
)

// progressInterval is how often the bar is redrawn: often enough to look
// alive, rarely enough to cost nothing next to the decoding. A file read
// in less than this never shows a bar.
const progressInterval = 200 * time.Millisecond

// progressRateWindow is how many redraws the packet rate is averaged over
// (about a second), so that it does not jump with each batch read ahead.
const progressRateWindow = 5

// progressNarrow is the terminal width under which the packet and message
// figures are left out: the bar's own line (percent, bytes, rate, ETA)
// takes about 60 columns, and a line that wraps cannot be redrawn in place.
const progressNarrow = 100

// clearLine erases the bar's line and puts the cursor back at its start
// (ANSI EL2, then CR), as the library does with ANSI codes on.
const clearLine = "\033[2K\r"

// Progress is the progress bar of a file being read, on stderr: the bytes
// read of the file's size, their rate and the time left (the bar library's
// own figures), and the packets a second and messages so far. It is drawn
// by a goroutine of its own from counters the run bumps, so the run's loop
// pays an increment a packet and never waits on the terminal.
type Progress struct {
	local   int64 // packets counted by Packet, on the loop's goroutine
	packets atomic.Int64
	// Messages may be counted on another goroutine than packets (the
	// output's): a cache line each, so the two do not contend.
	_        [48]byte
	messages atomic.Int64

	pos      capture.Positioner
	size     int64
	bar      *progressbar.ProgressBar
	out      *barWriter
	interval time.Duration
	now      func() time.Time
	width    func() int // the terminal's columns, 0 when unknown

	samples [progressRateWindow]rateSample // ring of the last redraws
	drawn   int                            // rate samples taken (begin, then one a redraw)

	start, stop sync.Once
	running     bool // Start's goroutine was started
	quit, done  chan struct{}
}

type rateSample struct {
	at      time.Time
	packets int64
}

// NewProgress returns the progress bar of src, or nil when none is due:
// with quiet (--quiet), when src cannot say how far it has read or how big
// it is (standard input, a pipe, a live capture), or when stderr is not a
// terminal (redirected to a file or a pipe, whose reader wants no redraws),
// or a terminal that cannot move the cursor (TERM=dumb). The methods of a
// nil Progress do nothing, so callers call them unconditionally.
func NewProgress(stderr io.Writer, src capture.Source, quiet bool) *Progress {
	if quiet {
		return nil
	}
	pos, ok := src.(capture.Positioner)
	if !ok {
		return nil
	}
	if _, size := pos.Position(); size <= 0 {
		return nil
	}
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("TERM") == "dumb" {
		return nil
	}
	width := func() int {
		w, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0
		}
		return w
	}
	return newProgress(stderr, pos, width, progressInterval, time.Now)
}

// newProgress is NewProgress once it is decided that a bar is due: tests
// hand in any writer, a width, a short interval and their own clock (for
// the packet rate; the bar library keeps its own for the byte rate and the
// ETA).
func newProgress(out io.Writer, pos capture.Positioner, width func() int, interval time.Duration, now func() time.Time) *Progress {
	_, size := pos.Position()
	p := &Progress{
		pos:      pos,
		size:     size,
		out:      &barWriter{w: out},
		interval: interval,
		now:      now,
		width:    width,
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	p.bar = progressbar.NewOptions64(size,
		// The terminal itself, not p.out: the library asks an *os.File
		// for the terminal's width.
		progressbar.OptionSetWriter(out),
		progressbar.OptionShowBytes(true),      // 12 MB/s
		progressbar.OptionShowCount(),          // 34 MB/100 MB
		progressbar.OptionSetPredictTime(true), // [elapsed:left]
		progressbar.OptionFullWidth(),          // the bar fills what the figures leave
		progressbar.OptionShowDescriptionAtLineEnd(),
		// The line is redrawn over itself ("\r…\033[0K") and cleared
		// with "\033[2K\r", not padded with spaces.
		progressbar.OptionUseANSICodes(true),
		// Redraws are paced by the ticker, not by the library.
		progressbar.OptionThrottle(0),
		progressbar.OptionSetRenderBlankState(false),
	)
	return p
}

// progressPublish is how many packets Packet counts before publishing the
// count to the bar's goroutine: an atomic add a packet was 7.5 ns, a plain
// increment 1.5.
const progressPublish = 64

// Packet counts one packet read. It is on the main loop's path, inlined,
// and must be called from one goroutine only (the loop's): it counts in a
// plain field and publishes every progressPublish packets, which the bar,
// drawn 5 times a second, cannot show the difference of.
func (p *Progress) Packet() {
	if p != nil {
		p.local++
		if p.local%progressPublish == 0 {
			p.packets.Store(p.local)
		}
	}
}

// Message counts one message event.
func (p *Progress) Message() {
	if p != nil {
		p.messages.Add(1)
	}
}

// Start starts redrawing the bar every interval until Stop. The first
// drawing is one interval in, so a small file shows no bar at all.
func (p *Progress) Start() {
	if p == nil {
		return
	}
	p.start.Do(func() {
		p.begin()
		p.running = true
		go p.run()
	})
}

// begin takes the first sample of the packet rate, and starts the
// library's clock: without it the clock starts at the first drawing, and
// the bytes read before make a rate of terabytes a second.
func (p *Progress) begin() {
	p.samples[0] = rateSample{at: p.now()}
	p.drawn = 1
	p.bar.StartWithoutRender()
}

func (p *Progress) run() {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.draw()
		}
	}
}

// Stop stops the redrawing and clears the bar's line, so that what comes
// next (the summary) starts on a clean line. It may be called more than
// once, and without Start.
func (p *Progress) Stop() {
	if p == nil {
		return
	}
	p.stop.Do(func() {
		close(p.quit)
		// Once.Do returns after a Start's function has run, so running
		// is settled here; a Start after Stop does nothing.
		p.start.Do(func() {})
		if p.running {
			<-p.done
		}
		p.bar.Exit()
		// Cleared here rather than by the library's Clear, which skips a
		// bar whose only drawing was its finished one (a file read to its
		// end by the first tick, which read-ahead makes common). The
		// bar's goroutine has returned: nothing draws after this.
		p.out.clear()
	})
}

// Writer returns a writer to the bar's terminal for what is printed while
// the bar runs (warnings): each write first erases the bar's line, so that
// the text starts at the left edge and the bar is drawn again below it at
// the next tick. A nil Progress returns stderr itself.
func (p *Progress) Writer(stderr io.Writer) io.Writer {
	if p == nil {
		return stderr
	}
	return beforeBar{p.out}
}

// barWriter is the terminal the bar draws on. Its lock is held while the
// bar is drawn (draw) and while others write through Writer, so that the
// two take turns.
type barWriter struct {
	mu     sync.Mutex
	w      io.Writer
	onLine bool // the bar is drawn on the cursor's line
}

// clear erases the bar's line, if the bar is on it.
func (b *barWriter) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clearLocked()
}

func (b *barWriter) clearLocked() {
	if b.onLine {
		io.WriteString(b.w, clearLine)
		b.onLine = false
	}
}

// beforeBar is a writer whose text replaces the bar's line (Writer).
type beforeBar struct{ b *barWriter }

func (w beforeBar) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	w.b.clearLocked()
	return w.b.w.Write(p)
}

// draw redraws the bar with the current figures; only run calls it.
func (p *Progress) draw() {
	read, _ := p.pos.Position()
	// A file still being written (tcpdump -w) grows past the size it had:
	// the bar then stays full rather than the library refusing the count.
	read = min(read, p.size)
	packets, messages := p.packets.Load(), p.messages.Load()
	now := p.now()

	// The packet rate over the last progressRateWindow redraws.
	oldest := p.samples[0]
	if p.drawn >= progressRateWindow {
		oldest = p.samples[p.drawn%progressRateWindow]
	}
	p.samples[p.drawn%progressRateWindow] = rateSample{at: now, packets: packets}
	p.drawn++
	var rate float64
	if d := now.Sub(oldest.at).Seconds(); d > 0 {
		rate = float64(packets-oldest.packets) / d
	}

	noun := "messages"
	if messages == 1 {
		noun = "message"
	}
	desc := fmt.Sprintf("%s packets/s, %d %s", compactCount(rate), messages, noun)
	if w := p.width(); w > 0 && w < progressNarrow {
		desc = ""
	}
	// The description is set without the redraw that Describe does, so
	// that the line is written once a tick, by Set64, with every figure
	// fresh. Only this goroutine touches the bar, so no lock is missed.
	progressbar.OptionSetDescription(desc)(p.bar)
	p.out.mu.Lock()
	p.bar.Set64(read)
	p.out.onLine = true
	p.out.mu.Unlock()
}

// compactCount writes a rate as a few digits: 950, 12.3k, 4.56M.
func compactCount(v float64) string {
	switch {
	case v < 10_000:
		return fmt.Sprintf("%.0f", v)
	case v < 1_000_000:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.2fM", v/1e6)
	}
}
