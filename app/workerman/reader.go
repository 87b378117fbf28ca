package workerman

import "github.com/chatsniff/chatsniff/decode"

// Reader fills in the Chat, ChatLine and Heartbeat of the text message
// events passing through it and hands every event on to next. It keeps
// what the chat layer learns (the names each server announced, each
// connection's user), so it must see all of one Decoder's events, in
// order. It is not safe for concurrent use, but it may run on another
// goroutine than the Decoder's.
//
// Its work may also be split: Parsers, one per goroutine, parse the
// messages in any order (most of the work), and the Reader's Line
// names them in order; the events come out the same.
type Reader struct {
	next  decode.Sink
	lines bool
	chat  chatReader
	conns map[uint64]*chatConn // by Event.ConnID, until the close event
}

// Options configures a Reader and the ChatParsers working for it
// (which must be given the same). The zero value fills Chat and whole
// lines, as a Decoder does by itself.
type Options struct {
	// NoLines leaves ChatLine empty and fills only Chat, the compacted
	// JSON: the human line needs every field decoded, which NDJSON output
	// does not print.
	NoLines bool
	// MaxContent, when above 0, decodes a say's content into its line up
	// to about this many bytes (cut between characters), and sets
	// ChatLineLen to the length the whole line would have: a view that
	// shows only the start of a long line need not decode all of it.
	MaxContent int
}

// maxChatConns bounds Reader.conns. A connection whose close event is
// never seen (one that stopped being decoded after a violation, say)
// would otherwise stay; when the map is full it starts again empty, and a
// connection that is still open only forgets its own user's name.
const maxChatConns = 1 << 16

// NewReader returns a Reader sending events on to next (which may
// be nil when only Line is used).
func NewReader(next decode.Sink, opts Options) *Reader {
	r := &Reader{next: next, lines: !opts.NoLines, conns: make(map[uint64]*chatConn)}
	r.chat.chatParser = newChatParser(opts)
	return r
}

// isChatCandidate reports whether e is a message the chat layer reads: a
// whole text message, valid UTF-8, not read yet.
func isChatCandidate(e *decode.Event) bool {
	return e.Kind == decode.KindMessage && e.Opcode == decode.OpText && e.PayloadIsText && !e.Truncated && e.Chat == nil
}

// Event reads e as chat when it is a whole text message and passes it on.
func (r *Reader) Event(e *decode.Event) {
	r.Read(e)
	r.next.Event(e)
}

// Read is Event without passing e on.
func (r *Reader) Read(e *decode.Event) {
	if isChatCandidate(e) {
		e.Chat = r.chat.parse(e.Payload, &r.chat.pc)
		r.name(e, &r.chat.pc)
	} else if e.Kind == decode.KindClose {
		delete(r.conns, e.ConnID)
	}
}

// Line is Event's second step, for an event that a Parser has parsed
// into pc: it fills in e.ChatLine (when lines are wanted), learning names
// on the way. It must be called for every event, in order, as Event would
// be; it does not call next.
func (r *Reader) Line(e *decode.Event, pc *Parsed) {
	if e.Kind == decode.KindClose {
		delete(r.conns, e.ConnID)
		return
	}
	if e.Kind == decode.KindMessage && e.Opcode == decode.OpText {
		r.name(e, pc)
	}
}

func (r *Reader) name(e *decode.Event, pc *Parsed) {
	if pc.heartbeat {
		e.Heartbeat = true
	}
	if !r.lines || !pc.known {
		return
	}
	cc := r.conns[e.ConnID]
	if cc == nil {
		if len(r.conns) >= maxChatConns {
			clear(r.conns)
		}
		cc = &chatConn{server: e.Server}
		r.conns[e.ConnID] = cc
	}
	e.ChatLine = r.chat.lineOf(cc, pc, e.FromClient, &e.Talk)
	if pc.contentLen > len(pc.content) && e.ChatLine != "" {
		e.ChatLineLen = len(e.ChatLine) - len(pc.content) + pc.contentLen
	}
}

// Parser is the stateless part of a Reader's work: several, one
// per goroutine, may parse the messages of one capture in any order.
type Parser struct {
	p chatParser
}

// NewParser returns a parser for a Reader made with the same options.
func NewParser(opts Options) *Parser {
	return &Parser{p: newChatParser(opts)}
}

// Parse reads e as chat when it is a whole text message: it sets e.Chat
// (which is e.Payload itself when the JSON had nothing to compact, and is
// otherwise valid until the next Parse) and fills pc for Reader.Line.
// Other events get a pc that says "not chat".
func (p *Parser) Parse(e *decode.Event, pc *Parsed) {
	if !isChatCandidate(e) {
		pc.known = false
		return
	}
	e.Chat = p.p.parse(e.Payload, pc)
}
