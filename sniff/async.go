package sniff

import (
	"runtime"
	"sync"

	"github.com/chatsniff/chatsniff/app/workerman"
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/filter"
	"github.com/chatsniff/chatsniff/render"
)

// Reading a file on every core. The main loop (capture decoding,
// reassembly, WebSocket decoding) copies each event into a batch; the
// batches then go through four more stages, each one goroutine or a pool
// of one per core, never one per stream:
//
//   - parse: a pool of workerman.Parsers compacts and decodes the chat JSON of
//     whole batches, in any order and at once (it needs no state);
//   - name: one goroutine runs workerman.Reader.Line over the batches in order,
//     learning names as it goes and writing each message's human line
//     (cheap, but it cannot be split);
//   - format: a pool turns whole batches into output bytes, each with its
//     own render.Formatter; formatting is a function of the event alone,
//     so batches may be formatted out of order and at once;
//   - write: one goroutine writes the formatted batches in the order they
//     were sent.
//
// On chat traffic reading the JSON and formatting it (escaping every
// payload into NDJSON, decoding \uXXXX text for the conversation) is most
// of the work, so the stages keep every core busy where one loop kept one.
// The output is byte for byte what the synchronous path writes.
//
// Live capture keeps the synchronous path: it flushes after every packet,
// and handing each packet's events through five goroutines would only add
// latency.

const (
	// batchEvents and batchBytes bound one batch; an event with more
	// bytes than batchBytes gets a batch of its own.
	batchEvents = 256
	batchBytes  = 128 << 10
	// batchesInFlight bounds the batches between the main loop and the
	// writer, and so the memory the handoff holds (a few MB, more while
	// huge messages pass), and how far the main loop runs ahead.
	batchesInFlight = 8
	// maxKept is the largest arena or output buffer a recycled batch
	// keeps; a bigger one (grown for a huge message) is dropped so that
	// one message does not pin its memory for the rest of the run.
	maxKept = 2 << 20
	// maxInFlightBytes bounds the payload bytes in the batches handed
	// over and not yet written. Batches of ordinary messages stay far
	// below it (batchesInFlight × batchBytes); it holds back big ones (up
	// to the message cap, 16 MB), which would otherwise fill every batch
	// at once, each with an output several times its size.
	maxInFlightBytes = 8 << 20
	// outBytes is a batch's first output buffer: NDJSON of chat traffic
	// takes about three times the payload bytes (escaped text, then the
	// chat JSON), and a buffer that must double its way up is garbage
	// the collector then spends a core on.
	outBytes = 3 * batchBytes
)

// batchOutput is an Output that can format events without writing them,
// on other goroutines, and write formatted bytes: render.Text and
// render.NDJSON.
type batchOutput interface {
	Output
	// Formatter returns a formatter of events as Event would write them,
	// for one goroutine.
	Formatter() render.Formatter
	// Write writes bytes made by a Formatter.
	Write(p []byte) (int, error)
}

// eventBatch is events with their byte slices copied into arenas. The
// slices are rebuilt from offsets by the stages, since an arena may move
// while it fills.
type eventBatch struct {
	events []decode.Event
	spans  []batchSpan
	arena  []byte // payloads, copied by the main loop
	chat   []byte // chat JSON, copied by the chat stage unless it is the payload
	out    []byte // the formatted events
	// chats are the events' parsed chat, by index.
	chats []workerman.Parsed
	// kept and keptSpans are spare slices for the events a filter keeps.
	kept      []decode.Event
	keptSpans []batchSpan
	// parsed and formatted get a value when the parse and format stages
	// are done with the batch.
	parsed, formatted chan struct{}
	flush             bool // after writing, flush the output and answer on flushed
	ack               bool // after writing, answer on flushed (with nil)
}

// batchSpan is where an event's Payload and Chat sit in the arenas.
type batchSpan struct {
	payload, payloadLen int
	chat, chatLen       int
	chatIsPayload       bool
	hidden              bool // not written (--no-heartbeat)
}

// asyncOutput is an Output that reads chat, formats and writes on other
// goroutines.
type asyncOutput struct {
	out      batchOutput
	chat     *workerman.Reader
	chatOpts workerman.Options
	// noHeartbeat drops the events the name stage finds are keep-alives.
	noHeartbeat bool
	// filter, when set, is applied by the name stage, once the chat is read.
	filter *filter.Filter
	cur    *eventBatch
	free   chan *eventBatch
	// toParse and toName get every batch, in order; toFmt and toW get
	// them from the name stage.
	toParse chan *eventBatch
	toName  chan *eventBatch
	toFmt   chan *eventBatch
	toW     chan *eventBatch
	// flushed answers a batch marked flush or ack.
	flushed chan error
	done    chan struct{}
	// writeErr is the first error writing the output; Flush returns it.
	writeErr error

	// inFlight is the payload bytes of the batches handed over and not
	// yet recycled, under mu; send waits on drained while it is too high.
	mu       sync.Mutex
	drained  *sync.Cond
	inFlight int
}

// newAsyncOutput starts the stages; close must be called to stop them.
// Events are read as chat with opts and then go to out.
func newAsyncOutput(out batchOutput, opts workerman.Options, noHeartbeat bool, f *filter.Filter) *asyncOutput {
	workers := max(1, runtime.GOMAXPROCS(0))
	a := &asyncOutput{
		out:         out,
		chatOpts:    opts,
		noHeartbeat: noHeartbeat,
		filter:      f,
		free:        make(chan *eventBatch, batchesInFlight),
		toParse:     make(chan *eventBatch, batchesInFlight),
		toName:      make(chan *eventBatch, batchesInFlight),
		toFmt:       make(chan *eventBatch, batchesInFlight),
		toW:         make(chan *eventBatch, batchesInFlight),
		flushed:     make(chan error),
		done:        make(chan struct{}),
	}
	a.drained = sync.NewCond(&a.mu)
	for range batchesInFlight {
		a.free <- &eventBatch{
			events:    make([]decode.Event, 0, batchEvents),
			spans:     make([]batchSpan, 0, batchEvents),
			arena:     make([]byte, 0, batchBytes),
			out:       make([]byte, 0, outBytes),
			chats:     make([]workerman.Parsed, batchEvents),
			parsed:    make(chan struct{}, 1),
			formatted: make(chan struct{}, 1),
		}
	}
	a.chat = workerman.NewReader(nil, opts)
	for range workers {
		go a.parse()
		go a.format()
	}
	go a.name()
	go a.write()
	return a
}

// parse is one parser.
func (a *asyncOutput) parse() {
	p := workerman.NewParser(a.chatOpts)
	for b := range a.toParse {
		b.chat = b.chat[:0]
		if len(b.chats) < len(b.events) {
			b.chats = make([]workerman.Parsed, len(b.events))
		}
		for i := range b.events {
			e, s := &b.events[i], &b.spans[i]
			b.setPayload(e, s)
			p.Parse(e, &b.chats[i])
			switch {
			case e.Chat == nil:
			case len(e.Chat) == len(e.Payload) && len(e.Chat) > 0 && &e.Chat[0] == &e.Payload[0]:
				s.chatIsPayload = true // JSON with nothing to compact
			default:
				s.chat, s.chatLen = len(b.chat), len(e.Chat)
				b.chat = append(b.chat, e.Chat...)
			}
			e.Chat = nil
		}
		b.parsed <- struct{}{}
	}
}

// name is the name stage: it takes the batches in order, waits for each
// to be parsed and writes the human lines. Batches go on to the formatters
// and, in order, to the writer.
func (a *asyncOutput) name() {
	defer close(a.toFmt)
	defer close(a.toW)
	for b := range a.toName {
		<-b.parsed
		for i := range b.events {
			e := &b.events[i]
			a.chat.Line(e, &b.chats[i])
			if a.noHeartbeat && e.Heartbeat {
				b.spans[i].hidden = true
			}
		}
		if a.filter != nil {
			a.filterBatch(b)
		}
		a.toW <- b
		a.toFmt <- b
	}
}

// filterBatch keeps the batch's events the filter lets through, with
// the held events it releases (which have no bytes) before them.
func (a *asyncOutput) filterBatch(b *eventBatch) {
	events, spans := b.kept[:0], b.keptSpans[:0]
	var cur *decode.Event
	var curSpan *batchSpan
	keep := func(e *decode.Event) {
		events = append(events, *e)
		if e == cur {
			spans = append(spans, *curSpan)
		} else {
			spans = append(spans, batchSpan{}) // a released event: no bytes
		}
	}
	for i := range b.events {
		cur, curSpan = &b.events[i], &b.spans[i]
		if curSpan.hidden {
			continue
		}
		b.setPayload(cur, curSpan) // for --grep
		a.filter.Event(cur, keep)
	}
	// The batch's own slices become the spare ones, for the next batch.
	b.events, b.kept = events, b.events[:0]
	b.spans, b.keptSpans = spans, b.spans[:0]
}

// format is one formatter.
func (a *asyncOutput) format() {
	f := a.out.Formatter()
	for b := range a.toFmt {
		b.out = b.out[:0]
		for i := range b.events {
			e, s := &b.events[i], &b.spans[i]
			b.setPayload(e, s)
			switch {
			case s.chatIsPayload:
				e.Chat = e.Payload
			case s.chatLen > 0:
				e.Chat = b.chat[s.chat : s.chat+s.chatLen : s.chat+s.chatLen]
			}
			if !s.hidden {
				b.out = f.AppendEvent(b.out, e)
			}
		}
		b.formatted <- struct{}{}
	}
}

// write is the writer: it takes batches in the order sent, waits for each
// to be formatted, writes it and recycles it.
func (a *asyncOutput) write() {
	defer close(a.done)
	for b := range a.toW {
		<-b.formatted
		if len(b.out) > 0 && a.writeErr == nil {
			_, a.writeErr = a.out.Write(b.out)
		}
		switch {
		case b.flush:
			err := a.out.Flush()
			if a.writeErr != nil {
				err = a.writeErr
			}
			a.flushed <- err
		case b.ack:
			a.flushed <- nil
		}
		a.recycle(b)
	}
}

// setPayload points e.Payload at its bytes in the arena.
func (b *eventBatch) setPayload(e *decode.Event, s *batchSpan) {
	if e.Payload != nil {
		e.Payload = b.arena[s.payload : s.payload+s.payloadLen : s.payload+s.payloadLen]
	}
}

func (a *asyncOutput) recycle(b *eventBatch) {
	a.mu.Lock()
	a.inFlight -= len(b.arena) // as send counted it, before the arena goes
	a.mu.Unlock()
	a.drained.Signal()
	clear(b.events) // drop the strings they point to
	b.events, b.spans = b.events[:0], b.spans[:0]
	if cap(b.arena) > maxKept {
		b.arena = make([]byte, 0, batchBytes)
	}
	if cap(b.chat) > maxKept {
		b.chat = nil
	}
	if cap(b.out) > maxKept {
		b.out = make([]byte, 0, outBytes)
	}
	b.arena, b.flush, b.ack = b.arena[:0], false, false
	a.free <- b
}

// Event copies e into the current batch, handing the batch over when full.
// An event larger than a batch gets a batch of its own: it is copied, which
// costs little beside formatting it.
func (a *asyncOutput) Event(e *decode.Event) {
	b := a.batch()
	if len(b.events) > 0 && len(b.arena)+len(e.Payload) > cap(b.arena) {
		a.send()
		b = a.batch()
	}
	b.spans = append(b.spans, batchSpan{payload: len(b.arena), payloadLen: len(e.Payload)})
	b.arena = append(b.arena, e.Payload...)
	// Copied once, in place: an Event is a few hundred bytes.
	b.events = append(b.events, *e)
	c := &b.events[len(b.events)-1]
	// Chat is the chat stage's to fill: the decoder defers it.
	c.Payload, c.Chat = nil, nil
	if e.Payload != nil {
		c.Payload = []byte{} // keep nil and empty apart, as the renderers may
	}
	if len(b.events) == cap(b.events) || len(b.arena) >= batchBytes {
		a.send()
	}
}

func (a *asyncOutput) batch() *eventBatch {
	if a.cur == nil {
		a.cur = <-a.free
	}
	return a.cur
}

func (a *asyncOutput) send() {
	n := len(a.cur.arena)
	a.mu.Lock()
	for a.inFlight > 0 && a.inFlight+n > maxInFlightBytes {
		a.drained.Wait()
	}
	a.inFlight += n
	a.mu.Unlock()
	a.toName <- a.cur
	a.toParse <- a.cur
	a.cur = nil
}

// Flush waits until every event so far is written, then flushes the output.
// It returns the first error writing the output.
func (a *asyncOutput) Flush() error {
	a.batch().flush = true
	a.send()
	return <-a.flushed
}

// close stops the stages after they have written what was sent; events
// not followed by a Flush are written but not flushed.
func (a *asyncOutput) close() {
	if a.cur != nil && len(a.cur.events) > 0 {
		a.send()
	}
	close(a.toParse)
	close(a.toName)
	<-a.done
}
