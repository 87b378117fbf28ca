package app

import (
	"github.com/chatsniff/chatsniff/app/workerman"
	"github.com/chatsniff/chatsniff/decode"
)

// Workerman is workerman-chat's JSON as a Protocol, and the stage's last
// resort: it claims any connection the protocols before it did not claim
// by its first data message, and reads each of its text messages that is
// a JSON object (others pass through unread), as chatsniff always read
// chat.
type Workerman struct {
	r *workerman.Reader
}

// NewWorkerman returns the workerman-chat protocol, reading with opts.
func NewWorkerman(opts workerman.Options) *Workerman {
	return &Workerman{r: workerman.NewReader(nil, opts)}
}

// Name is "workerman-chat".
func (*Workerman) Name() string { return "workerman-chat" }

// Claims reports whether e is a message: any connection that is not the
// protocols' before it.
func (*Workerman) Claims(e *decode.Event) bool { return e.Kind == decode.KindMessage }

// Read fills in e's Chat, ChatLine and Heartbeat and passes it on.
func (w *Workerman) Read(e *decode.Event, next decode.Sink) {
	w.r.Read(e)
	next.Event(e)
}
