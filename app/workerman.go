package app

import (
	"github.com/chatsniff/chatsniff/app/workerman"
	"github.com/chatsniff/chatsniff/decode"
)

// Workerman is workerman-chat's JSON as a Protocol: a connection is
// claimed by its first text message that is a JSON object.
type Workerman struct {
	r *workerman.Reader
}

// NewWorkerman returns the workerman-chat protocol, reading with opts.
func NewWorkerman(opts workerman.Options) *Workerman {
	return &Workerman{r: workerman.NewReader(nil, opts)}
}

// Name is "workerman-chat".
func (*Workerman) Name() string { return "workerman-chat" }

// Claims reports whether e is a JSON object in a text message.
func (*Workerman) Claims(e *decode.Event) bool { return workerman.IsChat(e) }

// Read fills in e's Chat, ChatLine and Heartbeat and passes it on.
func (w *Workerman) Read(e *decode.Event, next decode.Sink) {
	w.r.Read(e)
	next.Event(e)
}
