package render

import (
	"github.com/chatsniff/chatsniff/decode"
	"github.com/chatsniff/chatsniff/internal/memo"
)

// Formatter turns events into the bytes Text or NDJSON would write for
// them. A Formatter is for one goroutine at a time; several made by the
// same Text or NDJSON may run at once, and their bytes be written in order
// with its Write.
//
// A Formatter remembers how it showed the last few payloads, so the copies
// of a broadcast (the same bytes to every member of a room) are escaped
// once; its output is byte for byte AppendText's or AppendNDJSON's.
type Formatter interface {
	AppendEvent(dst []byte, e *decode.Event) []byte
}

// recalled is the memory of a Formatter: what one append function made
// of the last few keys.
type recalled = memo.Recent[[]byte]

// appendRecalled appends what appendKey(b, key) would, taking it from m when
// key was shown a moment ago. m may be nil: nothing is remembered.
func appendRecalled(b, key []byte, m *recalled, appendKey func(b, key []byte) []byte) []byte {
	if m == nil {
		return appendKey(b, key)
	}
	if v := m.Get(key); v != nil {
		return append(b, *v...)
	}
	start := len(b)
	b = appendKey(b, key)
	if len(b)-start > maxRecalled {
		return b
	}
	if v := m.Put(key); v != nil {
		*v = append((*v)[:0], b[start:]...)
	}
	return b
}

// maxRecalled bounds what a Formatter remembers of one key: text made of
// control characters, escaped six bytes for one, is not kept.
const maxRecalled = 2 * memo.MaxKey
