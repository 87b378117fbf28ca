package sniff

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/har"
	"github.com/chatsniff/chatsniff/render"
	"github.com/chatsniff/chatsniff/stats"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// Format is how events are written.
type Format int

const (
	FormatText    Format = iota // the coloured conversation
	FormatNDJSON                // one JSON object per event
	FormatExplain               // packet-by-packet walkthrough
)

// Command is everything `chatsniff read` and `chatsniff live` were asked
// for, once cobra has parsed the flags.
type Command struct {
	// Open opens the packet source: a file, stdin or an interface. Tests
	// hand in their own.
	Open func() (capture.Source, error)
	// Name is what errors and the summary call the source: the file name or the interface.
	Name    string
	Options Options
	Format  Format
	Color   render.ColorMode
	Compact bool
	// WritePath, when set, is a pcap file that gets a copy of every packet (-w).
	WritePath string
	// KeyLogPath, when set, is a TLS key log (--keylog, SSLKEYLOGFILE):
	// read whole before a file, followed as it grows during a live capture.
	KeyLogPath string
	// Stats prints the figures of package stats at the end instead of
	// the events: a table, or one JSON object with FormatNDJSON.
	Stats bool
	// HARPath, when set, is a HAR file that gets the WebSocket
	// connections shown, beside the output (--har).
	HARPath string
	// Quiet hides the progress bar.
	Quiet  bool
	Stdout io.Writer
	Stderr io.Writer
}

// teeOutput hands events to an Output and to a second Sink (--har).
type teeOutput struct {
	Output
	also decode.Sink
}

func (t teeOutput) Event(e *decode.Event) {
	t.Output.Event(e)
	t.also.Event(e)
}

// output makes the writer c.Format asks for, and sets what it implies in
// opts: --explain gets events with their packets, not through an Output
// (which is then nil), NDJSON prints no chat lines, and the conversation
// only the start of long ones.
func (c *Command) output(opts *Options) Output {
	sc := render.NewScheme(render.UseColor(c.Color))
	switch c.Format {
	case FormatNDJSON:
		opts.NoChatLines = true
		return render.NewNDJSON(c.Stdout)
	case FormatExplain:
		opts.Explain = render.NewExplain(c.Stdout, sc)
		return nil
	}
	opts.ChatContentMax = render.MaxShownText
	return render.NewText(c.Stdout, render.TextOptions{Scheme: sc, Compact: c.Compact})
}

// Execute runs the command. Errors name the source; a source that ends in
// error (a file cut off mid-record) still has what came before it decoded
// and printed, and its error returned after the summary.
func (c *Command) Execute(ctx context.Context) error {
	src, err := c.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	progress := NewProgress(c.Stderr, src, c.Quiet || c.Options.Live)
	if w, ok := src.(capture.Warner); ok {
		// A pcapng interface that cannot be read, said once; its packets
		// are skipped and counted. Called from the read-ahead goroutine
		// for files: one write a warning.
		// Written over the progress bar's line, which is redrawn after.
		w.SetWarn(func(err error) { fmt.Fprintf(progress.Writer(c.Stderr), "chatsniff: warning: %v\n", err) })
	}

	if os.Getenv("GOGC") == "" {
		// The heap is mostly byte buffers in flight between the stages,
		// cheap to collect: collecting at half the live heap rather than
		// all of it keeps peak memory about a fifth lower (96 → 79 MB on
		// a 1 GB capture) for no time we could measure.
		debug.SetGCPercent(50)
	}

	opts := c.Options
	opts.KeyLog = tlsdecrypt.NewKeyLog()
	if c.KeyLogPath != "" {
		read := opts.KeyLog.ReadFile
		if opts.Live {
			read = opts.KeyLog.Follow
		}
		if err := read(c.KeyLogPath); err != nil {
			return fmt.Errorf("--keylog: %w", err)
		}
	}
	warnKeys := func() {
		for _, w := range opts.KeyLog.Warnings() {
			fmt.Fprintf(c.Stderr, "chatsniff: warning: %s\n", w)
		}
	}
	warnKeys()
	if c.WritePath != "" {
		f, err := os.Create(c.WritePath)
		if err != nil {
			return fmt.Errorf("-w: %w", err)
		}
		defer f.Close()
		opts.Write = capture.NewWriter(f)
	}

	var out Output
	var st *stats.Collector
	if c.Stats {
		// The figures per user need the names the chat lines learn.
		st = stats.New()
		out = SinkOutput{st} // events counted, none printed
	} else {
		out = c.output(&opts)
	}
	var hw *har.Writer
	var harFile *os.File
	if c.HARPath != "" {
		harFile, err = os.Create(c.HARPath)
		if err != nil {
			return fmt.Errorf("--har: %w", err)
		}
		defer harFile.Close() // on the early returns; closed below otherwise
		hw = har.NewWriter(harFile)
		if out == nil {
			// --explain: the Output is the explainer's.
			out = SinkOutput{hw}
		} else {
			out = teeOutput{out, hw}
		}
	}
	opts.Progress = progress
	opts.Progress.Start()
	sum, runErr := Run(ctx, src, opts, out)
	opts.Progress.Stop()
	if hw != nil {
		err := hw.Close()
		if cerr := harFile.Close(); err == nil {
			err = cerr
		}
		if err != nil && runErr == nil {
			runErr = fmt.Errorf("--har: %w", err)
		}
	}
	if st != nil {
		write := st.WriteText
		if c.Format == FormatNDJSON {
			write = st.WriteJSON
		}
		if err := write(c.Stdout); err != nil && runErr == nil {
			runErr = fmt.Errorf("--stats: %w", err)
		}
	}
	warnKeys()
	fmt.Fprintf(c.Stderr, "%s: %s\n", c.Name, sum)
	if runErr != nil {
		// A source's own errors name it already ("x.pcap: cut off in the
		// middle of packet 37"); the others (a link type, -w) get its name.
		if strings.HasPrefix(runErr.Error(), c.Name+": ") {
			return runErr
		}
		return fmt.Errorf("%s: %w", c.Name, runErr)
	}
	return nil
}
