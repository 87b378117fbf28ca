package pcaptest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tsharkTimeout bounds one tshark run; the captures here take well under a
// second, so this only stops a hung tshark from hanging the test binary.
const tsharkTimeout = 2 * time.Minute

// Message is one WebSocket message, or one control frame, as tshark sees it.
type Message struct {
	Frame      int  // tshark's number of the packet that completed it, from 1
	Stream     int  // tshark's tcp.stream: connections numbered from 0
	FromClient bool // sent to the port given to TsharkMessages
	// Opcode is named as decode.Opcode.String names it: "text", "binary",
	// "close", "ping", "pong", "continuation" (a continuation frame with no
	// message to continue) or "reserved-0xN".
	Opcode string
	// Text is the payload as a string: for text, the message unmasked,
	// joined and inflated; for binary, ping and pong, the payload bytes;
	// for close, the reason. Empty when Opaque.
	Text      string
	CloseCode int  // close: the status code, 0 when the frame has none
	Fragments int  // frames the message came in (1 when not fragmented)
	Masked    bool // the (first) frame was masked
	// Compressed is set when the first frame had RSV1 (permessage-deflate).
	Compressed bool
	// Opaque is set when tshark could not give the payload: tshark 4.0
	// joins the fragments of a compressed message but does not inflate
	// them, it shows no text when inflating fails, and a binary payload
	// cannot be told apart when several binary frames share a packet.
	Opaque bool
}

// TsharkMessages runs tshark on file, dissecting TCP port as HTTP so that
// the WebSocket upgrade on it is followed, and returns the messages tshark
// shows, in capture order. Control frames are messages of their own;
// fragments are joined into the message they belong to.
//
// It skips the test when tshark is not installed, unless the environment
// variable CI is "true": CI is meant to have tshark, so there its absence
// fails the test.
func TsharkMessages(t testing.TB, file string, port int) []Message {
	t.Helper()
	return tsharkMessages(t, file, port, "-d", fmt.Sprintf("tcp.port==%d,http", port))
}

// TsharkTLSMessages is TsharkMessages for wss:// on port: TLS decrypted
// with the key log keyLog ("" for the secrets the pcapng holds), the
// plaintext dissected as HTTP.
func TsharkTLSMessages(t testing.TB, file string, port int, keyLog string) []Message {
	t.Helper()
	args := []string{"-d", fmt.Sprintf("tcp.port==%d,tls", port), "-d", fmt.Sprintf("tls.port==%d,http", port)}
	if keyLog != "" {
		args = append(args, "-o", "tls.keylog_file:"+keyLog)
	}
	return tsharkMessages(t, file, port, args...)
}

func tsharkMessages(t testing.TB, file string, port int, dissect ...string) []Message {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tshark is not installed (CI=true): %v", err)
		}
		t.Skipf("tshark is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), tsharkTimeout)
	defer cancel()
	args := append([]string{"-n", "-r", file}, dissect...)
	args = append(args,
		"-o", "websocket.decompress:TRUE",
		// The transforms reorder segments; tshark then needs this to join them.
		"-o", "tcp.reassemble_out_of_order:TRUE",
		"-Y", "websocket",
		"-T", "json", "--no-duplicate-keys",
		"-J", "frame tcp websocket data")
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v: %s", file, err, strings.TrimSpace(stderr.String()))
	}
	msgs, err := parseTshark(out, port)
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	return msgs
}

// tsharkPacket is one packet of tshark's -T json output. With
// --no-duplicate-keys a layer that occurs more than once in a packet (two
// WebSocket frames in one segment) becomes an array.
type tsharkPacket struct {
	Source struct {
		Layers map[string]json.RawMessage `json:"layers"`
	} `json:"_source"`
}

// tsharkFrame is the part of one WebSocket frame that parseTshark reads.
type tsharkFrame struct {
	Fin     string          `json:"websocket.fin"`
	Rsv     string          `json:"websocket.rsv"`
	Opcode  string          `json:"websocket.opcode"`
	Mask    string          `json:"websocket.mask"`
	Length  string          `json:"websocket.payload_length"`
	Payload json.RawMessage `json:"websocket.payload"`
}

type tsharkPayload struct {
	Text *string `json:"websocket.payload.text"`
	Ping string  `json:"websocket.payload.ping"`
	Pong string  `json:"websocket.payload.pong"`
	// Close is an object with the code and reason, or a plain string
	// when the payload is too short to hold a code (1 byte).
	Close json.RawMessage `json:"websocket.payload.close"`
}

// tsharkClose is the close payload tshark could read a code from.
type tsharkClose struct {
	Code   string `json:"websocket.payload.close.status_code"`
	Reason string `json:"websocket.payload.close.reason"`
}

// parseTshark turns tshark's JSON into messages.
func parseTshark(out []byte, port int) ([]Message, error) {
	var pkts []tsharkPacket
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil // some tshark versions print nothing when no packet matches
	}
	if err := json.Unmarshal(out, &pkts); err != nil {
		return nil, fmt.Errorf("parse tshark json: %w", err)
	}
	type dirKey struct {
		stream     int
		fromClient bool
	}
	open := map[dirKey]*Message{} // fragmented messages waiting for their last frame
	var msgs []Message
	for i, p := range pkts {
		l := p.Source.Layers
		frameNo, err := field[int](l["frame"], "frame.number")
		if err != nil {
			return nil, fmt.Errorf("packet %d: %w", i+1, err)
		}
		stream, err := field[int](l["tcp"], "tcp.stream")
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", frameNo, err)
		}
		dst, err := field[int](l["tcp"], "tcp.dstport")
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", frameNo, err)
		}
		frames, err := layerList[tsharkFrame](l["websocket"])
		if err != nil {
			return nil, fmt.Errorf("frame %d: websocket: %w", frameNo, err)
		}
		data, err := layerList[map[string]string](l["data"])
		if err != nil {
			return nil, fmt.Errorf("frame %d: data: %w", frameNo, err)
		}
		key := dirKey{stream, dst == port}
		var binaries []int // msgs indexes of this packet's binary messages
		for _, f := range frames {
			op, err := strconv.Atoi(f.Opcode)
			if err != nil {
				return nil, fmt.Errorf("frame %d: opcode %q: %w", frameNo, f.Opcode, err)
			}
			rsv, err := strconv.ParseUint(strings.TrimPrefix(f.Rsv, "0x"), 16, 8)
			if err != nil {
				return nil, fmt.Errorf("frame %d: rsv %q: %w", frameNo, f.Rsv, err)
			}
			var pl tsharkPayload
			if len(f.Payload) > 0 && f.Payload[0] == '{' {
				if err := json.Unmarshal(f.Payload, &pl); err != nil {
					return nil, fmt.Errorf("frame %d: payload: %w", frameNo, err)
				}
			}
			fin := f.Fin == "1"
			m := Message{
				Frame: frameNo, Stream: stream, FromClient: key.fromClient,
				Opcode: opcodeName(op), Fragments: 1,
				Masked: f.Mask == "1", Compressed: rsv&0x4 != 0,
			}
			var done *Message
			switch {
			case op >= 0x8: // control frames are never fragmented
				if err := m.setControl(op, pl); err != nil {
					return nil, fmt.Errorf("frame %d: %w", frameNo, err)
				}
				done = &m
			case op == 0x0:
				pend := open[key]
				if pend == nil {
					done = &m // nothing to continue
					break
				}
				pend.Fragments++
				pend.Frame = frameNo
				if fin {
					delete(open, key)
					done = pend
					done.setData(pl, f.Length == "0")
				}
			default:
				if fin {
					done = &m
					done.setData(pl, f.Length == "0")
				} else {
					// A new message while one is open: the old one never ended.
					open[key] = &m
				}
			}
			if done == nil {
				continue
			}
			if done.Opcode == "binary" {
				binaries = append(binaries, len(msgs))
			}
			msgs = append(msgs, *done)
		}
		// A binary payload sits in a data layer beside the WebSocket layer,
		// so it is matched to its message only when there is one of each;
		// no data layer means an empty payload.
		if len(binaries) == 1 && len(data) == 1 {
			m := &msgs[binaries[0]]
			b, err := hexBytes(data[0]["data.data"])
			if err != nil {
				return nil, fmt.Errorf("frame %d: data: %w", frameNo, err)
			}
			if !m.Opaque {
				m.Text = string(b)
			}
		} else if len(data) > 0 {
			for _, i := range binaries {
				msgs[i].Opaque = true
			}
		}
	}
	return msgs, nil
}

// setData fills Text from the payload of the frame that completed a text or
// binary message; empty says that frame had no payload bytes.
func (m *Message) setData(pl tsharkPayload, empty bool) {
	if m.Compressed && m.Fragments > 1 {
		// tshark 4.0 shows the joined payload still deflated.
		m.Opaque = true
		return
	}
	if m.Opcode != "text" {
		return
	}
	switch {
	case pl.Text != nil:
		m.Text = *pl.Text
	case !empty && m.Fragments == 1:
		// Bytes but no text: tshark could not inflate them (a lost
		// segment breaks the shared deflate window).
		m.Opaque = true
	}
}

func (m *Message) setControl(op int, pl tsharkPayload) error {
	var err error
	switch op {
	case 0x8:
		var c tsharkClose
		if len(pl.Close) > 0 && pl.Close[0] == '{' {
			if err := json.Unmarshal(pl.Close, &c); err != nil {
				return fmt.Errorf("close payload: %w", err)
			}
		}
		if c.Code != "" {
			m.CloseCode, err = strconv.Atoi(c.Code)
			if err != nil {
				return fmt.Errorf("close code %q: %w", c.Code, err)
			}
		}
		m.Text = c.Reason
	case 0x9, 0xA:
		h := pl.Ping
		if op == 0xA {
			h = pl.Pong
		}
		b, err := hexBytes(h)
		if err != nil {
			return fmt.Errorf("%s payload: %w", m.Opcode, err)
		}
		m.Text = string(b)
	}
	return nil
}

// opcodeName names an opcode like decode.Opcode.String does.
func opcodeName(op int) string {
	switch op {
	case 0x0:
		return "continuation"
	case 0x1:
		return "text"
	case 0x2:
		return "binary"
	case 0x8:
		return "close"
	case 0x9:
		return "ping"
	case 0xA:
		return "pong"
	}
	return fmt.Sprintf("reserved-0x%x", op&0xf)
}

// hexBytes decodes tshark's colon-separated hex ("66:72:61"); "" is empty.
func hexBytes(s string) ([]byte, error) {
	return hex.DecodeString(strings.ReplaceAll(s, ":", ""))
}

// layerList decodes a layer that is either one object or, when it occurs
// more than once in the packet, an array of them. A missing layer gives
// nothing.
func layerList[T any](raw json.RawMessage) ([]T, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	if raw[0] == '[' {
		var list []T
		err := json.Unmarshal(raw, &list)
		return list, err
	}
	var one T
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, err
	}
	return []T{one}, nil
}

// field reads one numeric field of a layer (tshark writes numbers as
// strings). A layer that occurs more than once gives its first value.
func field[T ~int](raw json.RawMessage, name string) (T, error) {
	layers, err := layerList[map[string]json.RawMessage](raw)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if len(layers) == 0 {
		return 0, fmt.Errorf("%s: %w", name, errMissing)
	}
	var s string
	if err := json.Unmarshal(layers[0][name], &s); err != nil {
		return 0, fmt.Errorf("%s: %w", name, errMissing)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return T(n), nil
}

var errMissing = errors.New("missing")

// Tally counts messages per side, as RealCapture's Client and Server do.
func Tally(msgs []Message) (client, server Counts) {
	for _, m := range msgs {
		if m.FromClient {
			client.Add(m.Opcode)
		} else {
			server.Add(m.Opcode)
		}
	}
	return client, server
}
