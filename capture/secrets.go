package capture

import (
	"encoding/binary"
	"io"
)

// SecretsTLSKeyLog is the Secrets Type of a pcapng Decryption Secrets Block
// that holds a TLS key log in the NSS format (`editcap --inject-secrets
// tls,keys.log` writes them).
const SecretsTLSKeyLog = 0x544c534b

// SecretsReader is a Source that finds decryption secrets in its file: the
// Decryption Secrets Blocks of a pcapng. The sources of OpenFile and
// NewReader are SecretsReaders.
type SecretsReader interface {
	// SetSecrets has fn called with each block's Secrets Type and data, in
	// the order of the file, before Next returns any packet that comes
	// after the block; fn runs on the goroutine that calls Next and may
	// not keep data. Set it before the first Next.
	SetSecrets(fn func(kind uint32, data []byte))
}

// Bounds of the block walker: a Decryption Secrets Block larger than
// maxSecretsBlock is passed over (a key log of some 100,000 connections
// fits in it), and nothing is kept for any other block.
const maxSecretsBlock = 64 << 20

// pcapng block types the walker looks at.
const (
	ngSectionHeader     = 0x0A0D0D0A
	ngDecryptionSecrets = 0x0000000A
	ngByteOrderMagic    = 0x1A2B3C4D
)

// secretsWatcher passes a pcapng file's bytes through to the pcapng reader
// and, as they go by, follows its blocks from their headers so that the
// Decryption Secrets Blocks are seen (gopacket's reader reads them but
// does not hand them out). It costs a few comparisons a block; any other
// block's body is passed over unread. On a block length that cannot be
// right it stops looking, and the pcapng reader reports the error.
type secretsWatcher struct {
	r  io.Reader
	fn func(kind uint32, data []byte)

	order binary.ByteOrder // of the current section
	hdr   [12]byte         // a block's type, length and, for a section header, byte-order magic
	hlen  int
	skip  uint32 // bytes of the current block still to pass
	keep  bool   // the current block is kept (a Decryption Secrets Block)
	body  []byte
	lost  bool // the blocks can no longer be followed
	// early holds the secrets read before fn was set: the pcapng reader
	// reads ahead when it is made, before SetSecrets can be called.
	early [][2][]byte // kind (4 bytes), data
}

func (w *secretsWatcher) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if !w.lost {
		w.scan(p[:n])
	}
	return n, err
}

// setFunc sets fn, and gives it what was found before.
func (w *secretsWatcher) setFunc(fn func(kind uint32, data []byte)) {
	w.fn = fn
	for _, e := range w.early {
		fn(binary.BigEndian.Uint32(e[0]), e[1])
	}
	w.early = nil
}

// scan follows the blocks through b, the next bytes of the file.
func (w *secretsWatcher) scan(b []byte) {
	for len(b) > 0 && !w.lost {
		if w.skip > 0 {
			n := min(uint32(len(b)), w.skip)
			if w.keep {
				w.body = append(w.body, b[:n]...)
			}
			w.skip -= n
			b = b[n:]
			if w.skip == 0 && w.keep {
				w.deliver()
			}
			continue
		}
		need := 8
		if w.hlen >= 4 && w.blockType() == ngSectionHeader {
			need = 12 // the byte-order magic says how to read the length
		}
		n := copy(w.hdr[w.hlen:need], b)
		w.hlen += n
		b = b[n:]
		if w.hlen < need || (need == 8 && w.blockType() == ngSectionHeader) {
			continue
		}
		w.startBlock(need)
	}
}

// blockType reads the type of the block whose header is being gathered;
// a section header's reads the same in either byte order.
func (w *secretsWatcher) blockType() uint32 {
	if w.order == nil {
		return binary.LittleEndian.Uint32(w.hdr[:4])
	}
	return w.order.Uint32(w.hdr[:4])
}

// startBlock sets up for the body of the block whose header (have bytes
// of it) was gathered.
func (w *secretsWatcher) startBlock(have int) {
	w.hlen = 0
	typ := w.blockType()
	if typ == ngSectionHeader {
		switch {
		case binary.LittleEndian.Uint32(w.hdr[8:12]) == ngByteOrderMagic:
			w.order = binary.LittleEndian
		case binary.BigEndian.Uint32(w.hdr[8:12]) == ngByteOrderMagic:
			w.order = binary.BigEndian
		default:
			w.lost = true
			return
		}
	}
	if w.order == nil {
		w.lost = true // no section header first: not for us to follow
		return
	}
	length := w.order.Uint32(w.hdr[4:8])
	if length < 12 || length%4 != 0 || length < uint32(have) {
		w.lost = true
		return
	}
	w.skip = length - uint32(have)
	w.keep = typ == ngDecryptionSecrets && length <= maxSecretsBlock
	w.body = w.body[:0]
}

// deliver hands the secrets of the Decryption Secrets Block just read to
// fn: its body is the Secrets Type, the Secrets Length, the secrets
// (padded), options and the trailing block length.
func (w *secretsWatcher) deliver() {
	w.keep = false
	b := w.body
	if len(b) >= 8 {
		kind, n := w.order.Uint32(b[:4]), w.order.Uint32(b[4:8])
		switch {
		case uint64(n) > uint64(len(b)-8):
		case w.fn != nil:
			w.fn(kind, b[8:8+n])
		default:
			w.early = append(w.early, [2][]byte{binary.BigEndian.AppendUint32(nil, kind), append([]byte(nil), b[8:8+n]...)})
		}
	}
	if cap(w.body) > 1<<20 {
		w.body = nil // a large key log is not held for the rest of the file
	}
}
