package decode

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// windowSize is the deflate window: the most a back-reference can reach,
// and so how much of the previous messages' output is kept as the dictionary
// for context takeover (RFC 7692 section 7.2.2).
const windowSize = 32 << 10

// tail ends every compressed message: RFC 7692 section 7.2.2 has the sender
// strip the empty stored block that a sync flush writes, and the receiver
// put it back before inflating.
var tail = [4]byte{0x00, 0x00, 0xff, 0xff}

// errInflateBound reports a message that inflates past maxInflated.
var errInflateBound = errors.New("output over " + strconv.Itoa(maxInflated>>20) + " MiB, stopped")

// pmdParams are the permessage-deflate parameters a 101 response agreed on.
type pmdParams struct {
	enabled          bool
	serverNoTakeover bool // server_no_context_takeover: each server message starts a fresh window
	clientNoTakeover bool // client_no_context_takeover
	// The window sizes are recorded, not enforced: inflating with a 32 KiB
	// window reads every stream a smaller window wrote.
	serverMaxWindowBits int
	clientMaxWindowBits int
}

// parseExtensions reads the permessage-deflate offer the server accepted
// from a Sec-WebSocket-Extensions value (RFC 6455 section 9.1): a
// comma-separated list of extensions, each with ';'-separated parameters.
// Only the first permessage-deflate counts; the server answers with one.
func parseExtensions(s string) pmdParams {
	var p pmdParams
	for ext := range strings.SplitSeq(s, ",") {
		name, params, _ := strings.Cut(ext, ";")
		if !strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
			continue
		}
		p.enabled = true
		for param := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(param, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			v = strings.Trim(strings.TrimSpace(v), `"`)
			bits, _ := strconv.Atoi(v)
			switch k {
			case "server_no_context_takeover":
				p.serverNoTakeover = true
			case "client_no_context_takeover":
				p.clientNoTakeover = true
			case "server_max_window_bits":
				p.serverMaxWindowBits = bits
			case "client_max_window_bits":
				p.clientMaxWindowBits = bits
			}
		}
		return p
	}
	return p
}

// inflater inflates one direction's compressed messages. Each message is
// inflated on its own with compress/flate, reset with the window (the last
// 32 KiB of what the earlier messages inflated to) as its dictionary: a
// flate reader cannot be fed a stream piece by piece as segments arrive, as
// it takes the end of its input for an error, so messages are whole before
// they are inflated.
type inflater struct {
	fr  io.ReadCloser // compress/flate's reader, reused through flate.Resetter
	src source
	// window ends with the last windowSize bytes inflated in this
	// direction (or all of them, when fewer), in a buffer of twice that so
	// that appending seldom moves it.
	window []byte
	// lost says the window is not the sender's: bytes were lost in a gap,
	// decoding began midstream, or a message did not inflate. A message that
	// refers back into what is missing fails to inflate; one that does not
	// still inflates correctly, as a reference can only reach bytes kept.
	lost bool
	// spill receives output past the message cap, to keep the window right.
	spill []byte
}

// forget clears the window, for a new connection.
func (f *inflater) forget() {
	f.window = f.window[:0]
	f.lost = false
	f.src = source{}
}

// loseWindow notes that the sender's window is no longer known.
func (f *inflater) loseWindow() {
	f.window = f.window[:0]
	f.lost = true
}

// inflate inflates msg (a compressed message, tail not included),
// appending the output to out[:0] up to limit bytes. It returns the output
// kept and the total inflated, which is larger when the message was cut at
// limit. With takeover, the window carries over from the previous message
// and is updated; without, each message starts afresh. cut says msg is only
// the start of the message (it was truncated at the cap): then no tail is
// added, as it would be read as more of the cut block.
func (f *inflater) inflate(out, msg []byte, limit int, takeover, cut bool) ([]byte, int, error) {
	var dict []byte
	if takeover {
		dict = f.window[max(0, len(f.window)-windowSize):]
	}
	wasLost := f.lost
	f.src = source{a: msg, b: tail[:]}
	if cut {
		f.src.b = nil
	}
	if f.fr == nil {
		f.fr = flate.NewReader(&f.src)
	}
	// Reset copies dict into the reader's own history: the window may be
	// updated below while the reader works.
	if err := f.fr.(flate.Resetter).Reset(&f.src, dict); err != nil {
		return out[:0], 0, err
	}
	out = out[:0]
	total := 0
	spilled := false
	var err error
	for err == nil {
		var n int
		if len(out) < limit {
			if len(out) == cap(out) {
				out = growCapped(out, 1, limit)
			}
			n, err = f.fr.Read(out[len(out):min(cap(out), limit)])
			out = out[:len(out)+n]
		} else {
			if !spilled {
				// From here on the output is not kept: it goes through
				// spill, and only the window remembers it.
				spilled = true
				if takeover {
					f.remember(out)
				}
				if f.spill == nil {
					f.spill = make([]byte, windowSize)
				}
			}
			n, err = f.fr.Read(f.spill)
			if takeover {
				f.remember(f.spill[:n])
			}
		}
		total += n
		if total > maxInflated {
			err = errInflateBound
		}
	}
	switch {
	case err == io.EOF:
		// The message ended with a final block: the sender closed its
		// deflate stream. Nothing may follow in it; the window is kept
		// anyway, harmlessly.
	case err == io.ErrUnexpectedEOF && f.src.drained():
		// The normal end: the empty stored block of the tail was read
		// and the reader wants the next block of a stream that goes on
		// in the next message.
	default:
		f.loseWindow()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("compressed data ends inside a block")
		}
		if wasLost && takeover {
			return out, total, fmt.Errorf("%w (the earlier messages it may refer to were not decoded)", err)
		}
		return out, total, err
	}
	if takeover && !spilled {
		f.remember(out)
	}
	return out, total, nil
}

// remember appends p to the window, keeping at least its last windowSize
// bytes. The slice may hold up to twice that: it is shifted down only when
// full, so that each byte is moved about once however small the messages.
func (f *inflater) remember(p []byte) {
	if f.window == nil {
		f.window = make([]byte, 0, 2*windowSize)
	}
	if len(p) >= windowSize {
		f.window = append(f.window[:0], p[len(p)-windowSize:]...)
		f.lost = false // the whole window is now known
		return
	}
	if len(f.window)+len(p) > cap(f.window) {
		keep := min(len(f.window), windowSize-len(p))
		n := copy(f.window, f.window[len(f.window)-keep:])
		f.window = f.window[:n]
	}
	f.window = append(f.window, p...)
}

// source is a message and its tail as one flate.Reader. Implementing
// io.ByteReader keeps compress/flate from wrapping it in a bufio.Reader,
// which would read ahead and allocate.
type source struct {
	a, b []byte
}

func (s *source) Read(p []byte) (int, error) {
	if len(s.a) == 0 {
		s.a, s.b = s.b, nil
	}
	if len(s.a) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.a)
	s.a = s.a[n:]
	return n, nil
}

func (s *source) ReadByte() (byte, error) {
	if len(s.a) == 0 {
		s.a, s.b = s.b, nil
	}
	if len(s.a) == 0 {
		return 0, io.EOF
	}
	c := s.a[0]
	s.a = s.a[1:]
	return c, nil
}

// drained reports whether every byte, tail included, was read.
func (s *source) drained() bool { return len(s.a) == 0 && len(s.b) == 0 }

// growCapped returns buf with room for n more bytes, growing it by doubling
// but never past limit (which must leave room for n): a buffer only grows as
// bytes arrive, and never beyond the message cap.
func growCapped(buf []byte, n, limit int) []byte {
	need := len(buf) + n
	if need <= cap(buf) {
		return buf
	}
	c := max(2*cap(buf), 512, need)
	c = min(c, limit)
	nb := make([]byte, len(buf), c)
	copy(nb, buf)
	return nb
}
