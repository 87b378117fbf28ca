package sniff

import (
	"github.com/chatsniff/chatsniff/decode"
)

// Rendering on the second core. Reading a file keeps one core busy with
// capture decoding, reassembly and WebSocket decoding; formatting the
// events (escaping every payload into NDJSON, colouring the conversation)
// was a quarter to a third of the profile and needs none of that state. So
// the main loop copies each event into a batch and a single render
// goroutine writes the batches in order: output is byte for byte what the
// synchronous path writes, with one goroutine in all, not one per stream.
//
// Live capture keeps the synchronous path: it flushes after every packet,
// and a handoff per packet would only add latency.

const (
	// batchEvents and batchBytes bound one batch; an event with more bytes
	// than batchBytes is written by the main loop itself (Event).
	batchEvents = 512
	batchBytes  = 256 << 10
	// batchesInFlight bounds the batches queued or being rendered, and so
	// the memory the handoff holds (a few MB), and how far the main loop
	// runs ahead of the renderer.
	batchesInFlight = 4
	// maxKeptArena is the arena a recycled batch keeps; a bigger one (grown
	// for a huge message) is dropped so that one message does not pin its
	// memory for the rest of the run.
	maxKeptArena = 1 << 20
)

// eventBatch is events with their byte slices copied into one arena. The
// slices are rebuilt from offsets by the renderer, since the arena may move
// while the batch fills.
type eventBatch struct {
	events []decode.Event
	spans  []batchSpan
	arena  []byte
	flush  bool // after writing, flush the output and answer on flushed
	ack    bool // after writing, answer on flushed (with nil)
}

// batchSpan is where an event's Payload and Chat sit in the arena.
type batchSpan struct{ payload, payloadLen, chat, chatLen int }

// asyncOutput is an Output that renders on its own goroutine.
type asyncOutput struct {
	out     Output
	cur     *eventBatch
	free    chan *eventBatch
	work    chan *eventBatch
	flushed chan error
	done    chan struct{}
}

// newAsyncOutput starts the render goroutine; close must be called to
// stop it.
func newAsyncOutput(out Output) *asyncOutput {
	a := &asyncOutput{
		out:     out,
		free:    make(chan *eventBatch, batchesInFlight),
		work:    make(chan *eventBatch, batchesInFlight),
		flushed: make(chan error),
		done:    make(chan struct{}),
	}
	for range batchesInFlight {
		a.free <- &eventBatch{
			events: make([]decode.Event, 0, batchEvents),
			spans:  make([]batchSpan, 0, batchEvents),
			arena:  make([]byte, 0, batchBytes),
		}
	}
	go a.render()
	return a
}

// render is the render goroutine: it writes batches in the order they were
// sent and recycles them.
func (a *asyncOutput) render() {
	defer close(a.done)
	for b := range a.work {
		for i := range b.events {
			e, s := &b.events[i], b.spans[i]
			if s.payloadLen > 0 {
				e.Payload = b.arena[s.payload : s.payload+s.payloadLen : s.payload+s.payloadLen]
			}
			if s.chatLen > 0 {
				e.Chat = b.arena[s.chat : s.chat+s.chatLen : s.chat+s.chatLen]
			}
			a.out.Event(e)
		}
		switch {
		case b.flush:
			a.flushed <- a.out.Flush()
		case b.ack:
			a.flushed <- nil
		}
		clear(b.events) // drop the strings they point to
		b.events, b.spans = b.events[:0], b.spans[:0]
		if cap(b.arena) > maxKeptArena {
			b.arena = make([]byte, 0, batchBytes)
		}
		b.arena, b.flush, b.ack = b.arena[:0], false, false
		a.free <- b
	}
}

// Event copies e into the current batch, handing the batch over when full.
func (a *asyncOutput) Event(e *decode.Event) {
	n := len(e.Payload) + len(e.Chat)
	if n > batchBytes {
		// A huge message is not copied: once the render goroutine has
		// written everything before it and waits for more, the event is
		// written from here (the handoff orders the two goroutines' use
		// of out).
		a.batch().ack = true
		a.send()
		<-a.flushed
		a.out.Event(e)
		return
	}
	b := a.batch()
	if len(b.events) > 0 && len(b.arena)+n > cap(b.arena) {
		a.send()
		b = a.batch()
	}
	s := batchSpan{payload: len(b.arena), payloadLen: len(e.Payload)}
	b.arena = append(b.arena, e.Payload...)
	s.chat, s.chatLen = len(b.arena), len(e.Chat)
	b.arena = append(b.arena, e.Chat...)
	c := *e
	c.Payload, c.Chat = nil, nil
	if e.Payload != nil {
		c.Payload = []byte{} // keep nil and empty apart, as the renderers may
	}
	if e.Chat != nil {
		c.Chat = []byte{}
	}
	b.events = append(b.events, c)
	b.spans = append(b.spans, s)
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
	a.work <- a.cur
	a.cur = nil
}

// Flush waits until every event so far is written, then flushes the output.
func (a *asyncOutput) Flush() error {
	a.batch().flush = true
	a.send()
	return <-a.flushed
}

// close stops the render goroutine after it has written what was sent;
// events not followed by a Flush are written but not flushed.
func (a *asyncOutput) close() {
	if a.cur != nil && len(a.cur.events) > 0 {
		a.send()
	}
	close(a.work)
	<-a.done
}
