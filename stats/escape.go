package stats

import "github.com/chatsniff/chatsniff/render"

// The names in the tables come from the wire: they are escaped as the
// conversation view escapes captured text.

// appendEscaped appends s for display on a terminal.
func appendEscaped(dst []byte, s string) []byte { return render.AppendEscaped(dst, s) }

// escapeJSON rewrites the runes encoding/json leaves raw that a terminal
// would act on: --stats --json may be read on one too.
func escapeJSON(b []byte) []byte { return render.AppendEscapedJSON(make([]byte, 0, len(b)), b) }
