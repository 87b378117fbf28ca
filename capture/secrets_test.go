package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// dsb returns the body of a Decryption Secrets Block.
func dsb(order byteOrder, kind uint32, secrets string) []byte {
	var b []byte
	b = order.AppendUint32(b, kind)
	b = order.AppendUint32(b, uint32(len(secrets)))
	return append(b, secrets...)
}

// TestSecretsBlocks: each Decryption Secrets Block is handed out, in file
// order, before the packets that follow it; those read before SetSecrets
// (the reader reads ahead when it is made) too; in either byte order, and
// in any section.
func TestSecretsBlocks(t *testing.T) {
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			w := newNg(order).block(ngDecryptionSecrets, dsb(order, SecretsTLSKeyLog, "CLIENT_RANDOM aa bb\n")).
				iface(layers.LinkTypeEthernet).packet(0, []byte("p1"))
			// A secrets block far past what the reader reads ahead, an odd
			// length (padded), another kind, then a new section.
			for i := 0; i < 200; i++ {
				w.packet(0, bytes.Repeat([]byte{'x'}, 100))
			}
			w.block(ngDecryptionSecrets, dsb(order, SecretsTLSKeyLog, "CLIENT_RANDOM cc dd")).packet(0, []byte("p2"))
			w.block(ngDecryptionSecrets, dsb(order, 0x5353484b, "ssh")).section().iface(layers.LinkTypeEthernet)
			w.block(ngDecryptionSecrets, dsb(order, SecretsTLSKeyLog, "# third")).packet(0, []byte("p3"))

			src, err := NewReader(bytes.NewReader(w.b), "x.pcapng")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			src.(SecretsReader).SetSecrets(func(kind uint32, data []byte) {
				got = append(got, fmt.Sprintf("%x %s", kind, data))
			})
			seenBefore := map[string]int{}
			for {
				data, _, _, err := src.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(data) == 2 {
					seenBefore[string(data)] = len(got)
				}
			}
			want := []string{"544c534b CLIENT_RANDOM aa bb\n", "544c534b CLIENT_RANDOM cc dd", "5353484b ssh", "544c534b # third"}
			if !slices.Equal(got, want) {
				t.Errorf("secrets %q, want %q", got, want)
			}
			if seenBefore["p1"] < 1 || seenBefore["p2"] < 2 || seenBefore["p3"] < 4 {
				t.Errorf("secrets given before packets: %v", seenBefore)
			}
		})
	}
}

// TestSecretsBadBlocks: blocks that lie about their length stop the watch
// without a panic, and a Secrets Length past its block is passed over;
// the pcapng reader reports the file's problem as before.
func TestSecretsBadBlocks(t *testing.T) {
	order := byteOrder(binary.LittleEndian)
	bad := newNg(order).iface(layers.LinkTypeEthernet)
	body := dsb(order, SecretsTLSKeyLog, "short")
	order.PutUint32(body[4:], 1<<30) // Secrets Length past the block
	bad.block(ngDecryptionSecrets, body).packet(0, []byte("p1"))
	src, err := NewReader(bytes.NewReader(bad.b), "x.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	src.(SecretsReader).SetSecrets(func(uint32, []byte) { calls++ })
	for {
		if _, _, _, err := src.Next(); err != nil {
			break
		}
	}
	if calls != 0 {
		t.Errorf("%d secrets from a block whose length lies", calls)
	}

	w := &secretsWatcher{fn: func(uint32, []byte) { t.Error("secrets from garbage") }}
	w.scan(newNg(order).b)
	w.scan([]byte{10, 0, 0, 0, 5, 0, 0, 0}) // a length that is not a multiple of 4
	if !w.lost {
		t.Error("a block length of 5 was followed")
	}
}

// FuzzSecretsWatcher: any bytes, in any pieces, never panic, and a block
// is kept only up to its bound.
func FuzzSecretsWatcher(f *testing.F) {
	order := byteOrder(binary.LittleEndian)
	f.Add(newNg(order).block(ngDecryptionSecrets, dsb(order, SecretsTLSKeyLog, "CLIENT_RANDOM a b")).b, uint8(3))
	f.Add(newNg(binary.BigEndian).iface(layers.LinkTypeEthernet).packet(0, []byte("x")).b, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, piece uint8) {
		w := &secretsWatcher{}
		w.setFunc(func(_ uint32, data []byte) {
			if len(data) > maxSecretsBlock {
				t.Fatalf("%d bytes of secrets", len(data))
			}
		})
		n := int(piece) + 1
		for len(b) > 0 {
			k := min(n, len(b))
			w.scan(b[:k])
			b = b[k:]
		}
	})
}
