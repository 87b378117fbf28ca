package decode

// ChatReader fills in the Chat and ChatLine of the text message events
// passing through it, for a Decoder configured with DeferChat, and hands
// every event on to next. It keeps what the chat layer learns (the names
// each server announced, each connection's user), so it must see all of
// one Decoder's events, in order; it then fills them exactly as the Decoder
// itself would have. Like a Decoder it is not safe for concurrent use, but
// it may run on another goroutine than the Decoder's.
type ChatReader struct {
	next  Sink
	chat  chatReader
	conns map[uint64]*chatConn // by Event.ConnID, until the close event
}

// maxChatConns bounds ChatReader.conns. A connection whose close event is
// never seen (one that stopped being decoded after a violation, say)
// would otherwise stay; when the map is full it starts again empty, and a
// connection that is still open only forgets its own user's name.
const maxChatConns = 1 << 16

// NewChatReader returns a ChatReader sending events on to next. With lines
// false it only fills Chat, the compacted JSON, and leaves ChatLine empty:
// the human line needs every field decoded, which NDJSON output does not
// print.
func NewChatReader(next Sink, lines bool) *ChatReader {
	return &ChatReader{next: next, chat: chatReader{noLines: !lines}, conns: make(map[uint64]*chatConn)}
}

// Event reads e as chat when it is a whole text message and passes it on.
func (r *ChatReader) Event(e *Event) {
	switch {
	case e.Kind == KindMessage && e.Opcode == OpText && e.PayloadIsText && !e.Truncated && e.Chat == nil:
		cc := r.conns[e.ConnID]
		if cc == nil {
			if len(r.conns) >= maxChatConns {
				clear(r.conns)
			}
			cc = &chatConn{server: e.Server}
			r.conns[e.ConnID] = cc
		}
		e.Chat, e.ChatLine = r.chat.message(cc, e.Payload, e.FromClient)
	case e.Kind == KindClose:
		delete(r.conns, e.ConnID)
	}
	r.next.Event(e)
}
