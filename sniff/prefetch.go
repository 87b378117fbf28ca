package sniff

import (
	"io"
	"sync"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/chatsniff/chatsniff/capture"
)

// Reading a file ahead. Parsing pcap records (and the read system calls
// under them) was about a tenth of the main loop's profile: a reader
// goroutine does it while the main loop decodes, copying the packets into
// batches that go round between the two goroutines, so that steady state
// allocates nothing. Like the stages after the loop (async.go) it is one
// goroutine for the whole run, and only for files: a live source's
// timeouts and per-packet flushing stay in the main loop.

const (
	prefetchPackets = 1024
	prefetchBytes   = 1 << 20
	prefetchBatches = 4
)

// packetBatch is packets copied into one arena; err, when set, is what the
// source returned after them (io.EOF at the end).
type packetBatch struct {
	ci    []gopacket.CaptureInfo
	link  []layers.LinkType
	end   []int // end offsets in arena
	arena []byte
	err   error
	// secrets are the Decryption Secrets Blocks read while the batch was
	// filled, handed to the main loop's function before its packets.
	secrets []secretsBlock
}

// secretsBlock is one Decryption Secrets Block, copied.
type secretsBlock struct {
	kind uint32
	data []byte
}

// prefetchSource is a capture.Source that reads its source on its own
// goroutine. Next is called from one goroutine only.
type prefetchSource struct {
	src  capture.Source
	free chan *packetBatch
	full chan *packetBatch
	stop chan struct{}
	wg   sync.WaitGroup

	cur  *packetBatch
	next int   // the next packet of cur
	err  error // the source's final error, once reached

	// The source's Decryption Secrets Blocks (capture.SecretsReader) are
	// collected by the reader goroutine into the batch it fills (filling)
	// and given to secretsFn on the main loop's goroutine, in file order
	// with the packets: the key log they hold is not shared between
	// goroutines. early holds those found before the first batch.
	filling   *packetBatch
	early     []secretsBlock
	secretsFn func(kind uint32, data []byte)
}

func newPrefetchSource(src capture.Source) *prefetchSource {
	p := &prefetchSource{
		src:  src,
		free: make(chan *packetBatch, prefetchBatches),
		full: make(chan *packetBatch, prefetchBatches),
		stop: make(chan struct{}),
	}
	if sr, ok := src.(capture.SecretsReader); ok {
		// Set before the reader goroutine starts, as SetSecrets asks;
		// the function then runs on that goroutine (or here, for the
		// blocks read before).
		sr.SetSecrets(func(kind uint32, data []byte) {
			blk := secretsBlock{kind, append([]byte(nil), data...)}
			if p.filling == nil {
				p.early = append(p.early, blk)
			} else {
				p.filling.secrets = append(p.filling.secrets, blk)
			}
		})
	}
	for range prefetchBatches {
		p.free <- &packetBatch{
			ci:    make([]gopacket.CaptureInfo, 0, prefetchPackets),
			link:  make([]layers.LinkType, 0, prefetchPackets),
			end:   make([]int, 0, prefetchPackets),
			arena: make([]byte, 0, prefetchBytes),
		}
	}
	p.wg.Add(1)
	go p.read()
	return p
}

// read is the reader goroutine.
func (p *prefetchSource) read() {
	defer p.wg.Done()
	for {
		var b *packetBatch
		select {
		case b = <-p.free:
		case <-p.stop:
			return
		}
		p.filling = b
		for len(b.end) < prefetchPackets && len(b.arena) < prefetchBytes {
			data, ci, link, err := p.src.Next()
			if err != nil {
				b.err = err
				break
			}
			b.arena = append(b.arena, data...)
			b.ci = append(b.ci, ci)
			b.link = append(b.link, link)
			b.end = append(b.end, len(b.arena))
		}
		last := b.err != nil // b is the main loop's once sent
		select {
		case p.full <- b:
		case <-p.stop:
			return
		}
		if last {
			return
		}
	}
}

// Next returns the next packet; data is valid until the next call.
func (p *prefetchSource) Next() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error) {
	for p.cur == nil || p.next == len(p.cur.end) {
		if p.err != nil {
			err := p.err
			p.err = io.EOF // as Source promises: io.EOF after any error
			return nil, ci, 0, err
		}
		if p.cur != nil {
			p.err = p.cur.err
			p.recycle(p.cur)
			p.cur = nil
			continue
		}
		p.cur, p.next = <-p.full, 0
		p.giveSecrets(p.cur)
	}
	b, i := p.cur, p.next
	p.next++
	start := 0
	if i > 0 {
		start = b.end[i-1]
	}
	return b.arena[start:b.end[i]:b.end[i]], b.ci[i], b.link[i], nil
}

// SetSecrets implements capture.SecretsReader: fn is called on the
// goroutine that calls Next, before the packets read after each block.
func (p *prefetchSource) SetSecrets(fn func(kind uint32, data []byte)) { p.secretsFn = fn }

// giveSecrets hands the blocks read before and with b's packets to the
// function SetSecrets set, and forgets them.
func (p *prefetchSource) giveSecrets(b *packetBatch) {
	if p.secretsFn != nil {
		for _, s := range p.early {
			p.secretsFn(s.kind, s.data)
		}
		for _, s := range b.secrets {
			p.secretsFn(s.kind, s.data)
		}
	}
	p.early, b.secrets = nil, b.secrets[:0]
}

func (p *prefetchSource) recycle(b *packetBatch) {
	b.ci, b.link, b.end = b.ci[:0], b.link[:0], b.end[:0]
	if cap(b.arena) > 4*prefetchBytes {
		b.arena = make([]byte, 0, prefetchBytes) // grown for a huge packet
	}
	b.arena, b.err = b.arena[:0], nil
	p.free <- b
}

// halt stops the reader goroutine and waits for it, so that the source may
// be used (Stats) or closed.
func (p *prefetchSource) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}

// Stats stops the reader, which may have read ahead, and reports the
// source's counts: it is asked for once the run is over.
func (p *prefetchSource) Stats() capture.Stats {
	p.halt()
	return p.src.Stats()
}

// Close stops the reader and closes the source.
func (p *prefetchSource) Close() error {
	p.halt()
	return p.src.Close()
}
