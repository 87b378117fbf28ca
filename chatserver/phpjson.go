package chatserver

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/chatsniff/chatsniff/chat"
)

// phpJSON encodes v as PHP's json_encode (no flags) writes it: struct fields
// in declaration order (package chat orders them as the real server does),
// "/" written "\/", every non-ASCII character written \uXXXX (UTF-16
// surrogate pairs past the BMP, lower-case hex), "<", ">" and "&" left as
// they are. encoding/json does the structure; chat.AppendPHPEscaped rewrites its
// strings, which is safe because "/" and non-ASCII bytes occur in
// encoding/json's output only inside strings.
func phpJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return chat.AppendPHPEscaped(nil, out), nil
}
