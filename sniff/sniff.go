package sniff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/chatsniff/chatsniff/app"
	"github.com/chatsniff/chatsniff/app/workerman"
	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/filter"
	"github.com/chatsniff/chatsniff/reassembly"
	"github.com/chatsniff/chatsniff/render"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// Output is where events go: a render.Text or render.NDJSON. It is nil
// with Options.Explain, which gets them with their packets instead.
type Output interface {
	decode.Sink
	Flush() error
}

// SinkOutput makes an Output of a Sink that has nothing to flush: a
// consumer of the events rather than a writer (--stats, --har, tests).
type SinkOutput struct{ decode.Sink }

// Flush does nothing.
func (SinkOutput) Flush() error { return nil }

// Options configures a run.
type Options struct {
	Ports      []uint16 // keep only TCP packets to or from these ports; empty keeps all
	MaxMessage int      // cap on a message's size (0: decode.DefaultMaxMessage)
	// Explain, when set, gets every packet with the events it completed,
	// instead of Output getting events.
	Explain *render.Explain
	// Live makes output appear as soon as each packet's events are known,
	// and time pass while no packet comes.
	Live bool
	// MaxMessages stops the run after this many message events (0: no limit).
	MaxMessages int
	// Write, when set, gets a copy of every packet read (-w).
	Write *capture.Writer
	// NoChatLines says that Output does not print Event.ChatLine (NDJSON),
	// so the chat layer need not build it.
	NoChatLines bool
	// KeyLog holds the TLS secrets that wss:// connections are decrypted
	// with; the capture's own (pcapng Decryption Secrets Blocks) are
	// added to it as they are read. Nil still shows TLS connections, as
	// not decrypted.
	KeyLog *tlsdecrypt.KeyLog
	// ChatContentMax, when above 0, says that Output shows no more than
	// this many bytes of a chat line: the chat layer decodes a long say's
	// content only that far (workerman.Options.MaxContent).
	ChatContentMax int
	// NoHeartbeat hides keep-alives (Event.Heartbeat): WebSocket
	// ping/pong, workerman-chat's and Engine.IO's.
	NoHeartbeat bool
	// Filter, when set, shows only the events it lets through (package
	// filter); every event is decoded still.
	Filter *filter.Filter
	// Progress, when set, is told of every packet and message.
	Progress *Progress
}

// Summary is what the run saw, for the closing line on stderr.
type Summary struct {
	Packets     uint64 // packets read from the source
	TCP         uint64 // TCP packets fed to reassembly (after the port filter)
	Dropped     uint64 // packets the kernel dropped (live capture)
	Connections uint64
	WebSockets  uint64
	Messages    [2]uint64 // by direction: client → server, server → client
	// Filtered is set when a filter chose what to show; Shown counts the
	// messages it let through.
	Filtered bool
	Shown    uint64
	Gaps     uint64
	Errors   uint64
	// ErrorsHidden are errors past a connection's cap on the errors it
	// reports: counted, not shown.
	ErrorsHidden uint64
	Rejected     uint64 // upgrade requests the server refused
	// TLS counts the TLS connections and those decrypted; KeysRead and
	// KeysUsed the key log's client randoms with secrets, and those that
	// matched a connection.
	TLS, TLSDecrypted  uint64
	KeysRead, KeysUsed int
	// Skipped counts packets of pcapng interfaces whose link type cannot
	// be read (each interface warned about once).
	Skipped uint64
	// Cut counts TCP packets the capture kept only the start of (its snap
	// length): their lost bytes show up as gaps, or as connections that
	// could not be followed at all when their handshake was cut.
	Cut uint64
	// Live makes String report the kernel's drops even when there were
	// none, as tcpdump does: a live capture's reader wants to know.
	Live bool
}

// String is the closing summary line.
func (s Summary) String() string {
	line := fmt.Sprintf("%d packets, %d TCP connections (%d WebSocket), messages: %d client → server, %d server → client, %d gaps, %d errors",
		s.Packets, s.Connections, s.WebSockets, s.Messages[0], s.Messages[1], s.Gaps, s.Errors)
	if s.Filtered {
		line += fmt.Sprintf(", %d messages shown by the filter", s.Shown)
	}
	if s.ErrorsHidden > 0 {
		line += fmt.Sprintf(" (and %d more not shown, past %d a connection)", s.ErrorsHidden, decode.MaxConnErrors)
	}
	if s.Rejected > 0 {
		line += fmt.Sprintf(", %d upgrades rejected", s.Rejected)
	}
	if s.TLS > 0 {
		line += fmt.Sprintf(", %d TLS (%d decrypted)", s.TLS, s.TLSDecrypted)
	}
	if s.TLS > 0 || s.KeysRead > 0 {
		line += fmt.Sprintf(", keys: %d read, %d used", s.KeysRead, s.KeysUsed)
	}
	if s.Dropped > 0 || s.Live {
		line += fmt.Sprintf(", %d packets dropped by the kernel", s.Dropped)
	}
	if s.Skipped > 0 {
		line += fmt.Sprintf(", %d packets skipped (link type not supported)", s.Skipped)
	}
	if s.Cut > 0 {
		line += fmt.Sprintf(", %d packets cut short by the snap length", s.Cut)
	}
	return line
}

// liveKeyWait is how long a live TLS connection's records wait for its
// keys to appear in a followed key log.
const liveKeyWait = 3 * time.Second

// errStop ends the loop once MaxMessages is reached.
var errStop = errors.New("message limit reached")

// Run reads src until it ends, ctx is cancelled or the message limit is
// reached. A source error that ends the capture (a file cut off mid-record)
// is returned after everything before it was decoded and flushed, with the
// summary.
func Run(ctx context.Context, src capture.Source, opts Options, out Output) (Summary, error) {
	r := &runner{opts: opts, out: out}
	cfg := decode.Config{MaxMessage: opts.MaxMessage, Midstream: len(opts.Ports) > 0}
	chat := workerman.Options{NoLines: opts.NoChatLines && !opts.Filter.NeedsTalk(), MaxContent: opts.ChatContentMax}
	// The app stage (package app) reads each connection's protocol
	// between the decoder and the output. Reading a file, workerman-chat's
	// JSON, most of the work on chat traffic, is left to the output's
	// stages on other goroutines (async.go), which read it exactly as the
	// stage would.
	protocols := []app.Protocol{app.NewSocketIO()}
	// A filter with -c counts what it shows, which only the main loop
	// knows in time to stop.
	limitShown := opts.Filter != nil && opts.MaxMessages > 0
	if bo, ok := out.(batchOutput); ok && !opts.Live && opts.Explain == nil && !limitShown {
		ao := newAsyncOutput(bo, chat, opts.NoHeartbeat, opts.Filter)
		defer ao.close()
		r.out = ao
	} else {
		protocols = append(protocols, app.NewWorkerman(chat))
		r.filter = opts.Filter
	}
	r.dec = decode.NewDecoder(cfg, app.NewStage(r, protocols...))
	keys := opts.KeyLog
	if keys == nil {
		keys = tlsdecrypt.NewKeyLog()
	}
	var tlsOpts tlsdecrypt.Options
	if opts.Live {
		// The browser writes a connection's keys a moment after its
		// handshake went by: its records wait for them this long.
		tlsOpts.Wait = liveKeyWait
	}
	// TLS is found by its ClientHello on any port; other connections go
	// straight through to the decoder.
	tlsh := tlsdecrypt.NewHandler(r, keys, tlsOpts)
	r.asm = reassembly.New(tlsh, reassembly.Options{ServerPorts: opts.Ports})
	if !opts.Live {
		// A file is read ahead on a second goroutine (prefetch.go).
		pf := newPrefetchSource(src)
		defer pf.halt()
		src = pf
	}
	if sr, ok := src.(capture.SecretsReader); ok {
		sr.SetSecrets(func(kind uint32, data []byte) {
			if kind == capture.SecretsTLSKeyLog {
				keys.AddSecrets(data, "the capture's key log")
			}
		})
	}
	pkt := capture.NewDecoder()

	var srcErr error
	for {
		if ctx.Err() != nil {
			break
		}
		data, ci, link, err := src.Next()
		if err != nil {
			if errors.Is(err, capture.ErrTimeout) {
				r.asm.Tick(time.Now())
				r.flushExplain()
				r.flush()
				continue
			}
			if !errors.Is(err, io.EOF) {
				srcErr = err
			}
			break
		}
		r.summary.Packets++
		opts.Progress.Packet()
		if opts.Write != nil {
			if err := opts.Write.WritePacket(data, ci, link); err != nil {
				srcErr = fmt.Errorf("write: %w", err)
				break
			}
		}
		tp, ok, err := pkt.Decode(data, ci, link)
		if err != nil {
			srcErr = fmt.Errorf("packet %d: %w", r.summary.Packets, err)
			break
		}
		if !ok || !r.wanted(tp) {
			continue
		}
		r.summary.TCP++
		if tp.Cut > 0 {
			r.summary.Cut++
		}
		r.feed(tp)
		if r.stop {
			break
		}
	}
	if !r.stop {
		r.asm.Close()
		r.flushExplain()
	}
	if opts.Write != nil {
		if err := opts.Write.Close(); err != nil && srcErr == nil {
			srcErr = fmt.Errorf("write: %w", err)
		}
	}
	if err := r.flush(); err != nil && srcErr == nil {
		srcErr = err
	}
	st := r.dec.Stats()
	r.summary.Connections = r.asm.Stats().Connections
	r.summary.WebSockets = st.WebSockets
	r.summary.Messages = r.messages
	r.summary.Gaps = st.Gaps
	r.summary.Errors = st.Errors
	r.summary.ErrorsHidden = st.ErrorsHidden
	r.summary.Rejected = st.Rejected
	ts, ks := tlsh.Stats(), keys.Stats()
	r.summary.TLS, r.summary.TLSDecrypted = ts.Connections, ts.Decrypted
	r.summary.KeysRead, r.summary.KeysUsed = ks.Read, ks.Used
	r.summary.Dropped = src.Stats().Dropped
	r.summary.Skipped = src.Stats().Skipped
	r.summary.Live = opts.Live
	if opts.Filter != nil {
		// Read after the flush above, which the output's stages (that
		// filter reading a file) answer once they are done.
		r.summary.Filtered, r.summary.Shown = true, opts.Filter.Shown()
	}
	return r.summary, srcErr
}

// runner is the pipeline's state; it sits between reassembly and decode to
// learn which packet belongs to which connection (for --explain), and
// between decode and the output to count and collect events.
type runner struct {
	opts    Options
	out     Output
	dec     *decode.Decoder
	asm     *reassembly.Assembler
	summary Summary
	stop    bool
	emitted int // message events so far
	// messages counts the message events by direction (Summary.Messages).
	messages [2]uint64
	// filter is Options.Filter when the main loop applies it (when the
	// output's stages do not).
	filter *filter.Filter
	show   func(e *decode.Event) // r.shown, made once

	// --explain only
	events []decode.Event
	closed []uint64 // the connections the packet being fed ended
	conns  map[connKey]reassembly.ConnInfo
	newest reassembly.ConnInfo
}

func (r *runner) wanted(tp *capture.TCPPacket) bool {
	if len(r.opts.Ports) == 0 {
		return true
	}
	sp, dp := uint16(tp.TCP.SrcPort), uint16(tp.TCP.DstPort)
	for _, p := range r.opts.Ports {
		if p == sp || p == dp {
			return true
		}
	}
	return false
}

func (r *runner) feed(tp *capture.TCPPacket) {
	if r.opts.Explain == nil {
		r.asm.Feed(tp.NetFlow, tp.TCP, tp.CI)
		if r.opts.Live {
			r.flush()
		}
		return
	}
	r.newest = reassembly.ConnInfo{}
	r.asm.Feed(tp.NetFlow, tp.TCP, tp.CI)
	r.explainPacket(tp)
}

func (r *runner) flush() error {
	if r.opts.Explain != nil {
		return r.opts.Explain.Flush()
	}
	return r.out.Flush()
}

// NewConn passes the connection to the decoder, noting it for --explain.
func (r *runner) NewConn(info reassembly.ConnInfo) reassembly.Conn {
	if r.opts.Explain != nil {
		r.newest = info
	}
	return r.dec.NewConn(info)
}

// Event receives the decoder's events.
func (r *runner) Event(e *decode.Event) {
	if e.Kind == decode.KindMessage {
		r.opts.Progress.Message()
		// Counted here, after the app stage: a long-polling body is a
		// message of each of its Engine.IO packets, as the output shows.
		if e.FromClient {
			r.messages[0]++
		} else {
			r.messages[1]++
		}
	}
	if r.stop {
		return
	}
	if r.opts.NoHeartbeat && e.Heartbeat {
		// Hidden here unless the output's stages read the chat (they
		// find the workerman-chat pings, and hide them themselves).
		return
	}
	if e.Kind == decode.KindClose && r.opts.Explain != nil {
		r.closed = append(r.closed, e.ConnID) // the explainer forgets it, shown or not
	}
	if r.filter != nil {
		if r.show == nil {
			r.show = r.shown
		}
		r.filter.Event(e, r.show)
		return
	}
	r.shown(e)
}

// shown hands on an event to show, stopping at the message limit.
func (r *runner) shown(e *decode.Event) {
	if r.stop {
		return // the limit was reached within a filter's release
	}
	if e.Kind == decode.KindMessage && r.opts.MaxMessages > 0 {
		r.emitted++
		if r.emitted >= r.opts.MaxMessages {
			r.stop = true
		}
	}
	if r.opts.Explain != nil {
		r.events = append(r.events, cloneEvent(e))
		if r.out != nil {
			r.out.Event(e) // --har beside the walkthrough
		}
		return
	}
	r.out.Event(e)
}

// cloneEvent copies e with its byte slices, which the decoder reuses.
func cloneEvent(e *decode.Event) decode.Event {
	c := *e
	c.Payload = append([]byte(nil), e.Payload...)
	c.Chat = append([]byte(nil), e.Chat...)
	return c
}
