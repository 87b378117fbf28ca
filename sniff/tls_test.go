package sniff

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/chatsniff/chatsniff/internal/pcaptest"
	"github.com/chatsniff/chatsniff/tlsdecrypt"
)

// tlsCapture is a real wss:// capture in testdata/, with its key log
// beside it (x.pcap: x.keys) or inside it (pcapng Decryption Secrets
// Blocks); testdata/README.md says how each was made.
type tlsCapture struct {
	name    string
	port    int
	conns   int
	version string
	ciphers []string // one per connection, in the order of their opens
	sni     string
	alpn    string
	// randoms is how many client randoms the key log has secrets for.
	randoms int
}

var tlsCaptures = []tlsCapture{
	// Chromium sends no SNI to an address.
	{"chromium-tls13-any.pcap", 7272, 2, "1.3",
		[]string{"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"}, "", "http/1.1", 2},
	{"tls12-gcm-any.pcap", 7272, 2, "1.2",
		[]string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, "localhost", "http/1.1", 2},
	{"tls12-chacha-lo.pcap", 7272, 1, "1.2",
		[]string{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}, "localhost", "http/1.1", 1},
	{"tls12-chacha-secrets-lo.pcapng", 7272, 1, "1.2",
		[]string{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}, "localhost", "http/1.1", 1},
}

// keyLogFor reads the key log beside a capture, if any.
func keyLogFor(t *testing.T, path string) *tlsdecrypt.KeyLog {
	t.Helper()
	keys := tlsdecrypt.NewKeyLog()
	if name := keysFor(path); name != "" {
		if err := keys.ReadFile(name); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func (tc tlsCapture) path(t *testing.T) string { return pcaptest.Path(t, tc.name) }

// keys is the key log tshark is given: the one beside the file, or none
// for a pcapng that holds its own.
func (tc tlsCapture) keys(t *testing.T) string { return keysFor(tc.path(t)) }

// checkOpens checks the open events' TLS layer against the table.
func (tc tlsCapture) checkOpens(t *testing.T, r *result) {
	t.Helper()
	var ciphers []string
	for _, e := range r.events {
		if e.Event != "open" {
			continue
		}
		if e.TLS == nil || !e.TLS.Decrypted {
			t.Errorf("open of %s not decrypted: %+v", e.Client, e.TLS)
			continue
		}
		if e.TLS.Version != tc.version || e.TLS.SNI != tc.sni || e.TLS.ALPN != tc.alpn || e.TLS.Reason != "" {
			t.Errorf("open of %s: tls %+v, want version %s sni %s alpn %s", e.Client, *e.TLS, tc.version, tc.sni, tc.alpn)
		}
		ciphers = append(ciphers, e.TLS.Cipher)
	}
	if !slices.Equal(ciphers, tc.ciphers) {
		t.Errorf("ciphers %q, want %q", ciphers, tc.ciphers)
	}
}

// TestTLSCaptures decrypts each real wss:// capture with its key log:
// every connection decrypted, with the version, cipher, SNI and ALPN it
// negotiated, no gap and no error, every key used, and the same messages
// as tshark decrypting the file with the same keys. Without the keys the
// connections are shown, not decrypted, and nothing else.
func TestTLSCaptures(t *testing.T) {
	for _, tc := range tlsCaptures {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runNDJSON(t, tc.path(t), nil)
			checkClean(t, r)
			tc.checkOpens(t, r)
			if n := len(r.messages()); n != 2*tc.conns {
				t.Errorf("messages on %d directions, want %d", n, 2*tc.conns)
			}
			wantSum := fmt.Sprintf("%d TLS (%d decrypted), keys: %d read, %d used", tc.conns, tc.conns, tc.randoms, tc.randoms)
			if !strings.Contains(r.stderr, wantSum) {
				t.Errorf("summary %q lacks %q", r.stderr, wantSum)
			}
			compareTshark(t, r, pcaptest.TsharkTLSMessages(t, tc.path(t), tc.port, tc.keys(t)))

			if tc.keys(t) == "" {
				return // the keys are in the file
			}
			bare := runNDJSONKeys(t, tc.path(t), "", nil)
			opens := 0
			for _, e := range bare.events {
				switch {
				case e.Event == "open" && e.TLS != nil && !e.TLS.Decrypted && e.TLS.Reason != "" && e.TLS.SNI == tc.sni && e.TLS.Version == tc.version:
					opens++
				case e.Event == "close":
				default:
					t.Errorf("without keys: %+v", e)
				}
			}
			if opens != tc.conns || !strings.Contains(bare.stderr, fmt.Sprintf("%d TLS (0 decrypted), keys: 0 read, 0 used", tc.conns)) {
				t.Errorf("without keys: %d opens, summary %q", opens, bare.stderr)
			}
		})
	}
}

// serverRecords returns the indexes of the packets from port whose TCP
// payload starts with a TLS application_data record header, and the
// payloads.
func serverRecords(t *testing.T, c *pcaptest.Capture, port int) (idx []int, payloads [][]byte) {
	t.Helper()
	for i, p := range c.Packets {
		pkt := gopacket.NewPacket(p.Data, c.LinkType, gopacket.DecodeOptions{NoCopy: true})
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || int(tcp.SrcPort) != port || len(tcp.Payload) < 40 || !bytes.HasPrefix(tcp.Payload, []byte{0x17, 0x03, 0x03}) {
			continue
		}
		idx = append(idx, i)
		payloads = append(payloads, tcp.Payload)
	}
	return idx, payloads
}

// TestTLSDamaged: a record whose bytes were changed fails authentication,
// is an error event, and its direction goes on at the next record; a
// segment lost is a gap and the direction resumes at a later record. The
// other direction is untouched either way.
func TestTLSDamaged(t *testing.T) {
	for _, tc := range []tlsCapture{tlsCaptures[0], tlsCaptures[2]} { // TLS 1.3 and 1.2
		t.Run(tc.name, func(t *testing.T) { tlsDamaged(t, tc) })
	}
}

func tlsDamaged(t *testing.T, tc tlsCapture) {
	raw := pcaptest.Load(t, tc.name)
	clean := runNDJSON(t, tc.path(t), nil)
	cleanMsgs := clean.messages()

	for _, damage := range []string{"flip", "drop"} {
		t.Run(damage, func(t *testing.T) {
			c, err := pcaptest.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			idx, payloads := serverRecords(t, c, tc.port)
			if len(idx) < 4 {
				t.Fatalf("only %d server records", len(idx))
			}
			// Not the first records: those of the handshake.
			victim := idx[3]
			switch damage {
			case "flip":
				p := payloads[3]
				p[len(p)-1] ^= 0x40 // the last byte of the record's tag
			case "drop":
				c.Packets = slices.Delete(c.Packets, victim, victim+1)
			}
			b, err := c.Bytes()
			path := damaged(t, damage+".pcap", b, err)
			r := runNDJSONKeys(t, path, tc.keys(t), nil)
			if r.err != nil {
				t.Fatal(r.err)
			}
			var errs, gaps []string
			for _, e := range r.events {
				switch e.Event {
				case "error":
					errs = append(errs, e.From+": "+e.Error)
				case "gap":
					gaps = append(gaps, e.From)
				}
			}
			switch damage {
			case "flip":
				if len(errs) < 1 || !strings.Contains(errs[0], "server: TLS: ") || !strings.Contains(errs[0], "authentication") {
					t.Errorf("errors %q, want a server record failing authentication first", errs)
				}
			case "drop":
				if len(gaps) < 1 || gaps[0] != "server" {
					t.Errorf("gaps %q, want one of the server", gaps)
				}
			}
			// Every client direction is whole; one server direction lost
			// messages but still has its last, the close, which came after
			// the damage; the others are whole.
			got := r.messages()
			hurt := 0
			for k, want := range cleanMsgs {
				g := got[k]
				if diffMsgs(g, want) == "" {
					continue
				}
				last := want[len(want)-1]
				if k.fromClient || len(g) == 0 || len(g) >= len(want) || last.Opcode != "close" ||
					g[len(g)-1].Opcode != "close" || g[len(g)-1].CloseCode != last.CloseCode {
					t.Errorf("%v: %s", k, diffMsgs(g, want))
				}
				hurt++
			}
			if hurt != 1 {
				t.Errorf("%d directions lost messages, want 1", hurt)
			}
		})
	}
}

// TestTLSMidstream: a capture that starts after the TLS handshakes cannot
// be decrypted, keys or not: each connection is shown once as TLS whose
// handshake was not captured, with or without -p, and no frame is made up
// from its ciphertext.
func TestTLSMidstream(t *testing.T) {
	tc := tlsCaptures[0]
	c, err := pcaptest.Parse(pcaptest.Load(t, tc.name))
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := serverRecords(t, c, tc.port)
	// From the fifth application data record of the servers on: both
	// connections are past their handshakes (the test fails otherwise,
	// finding messages).
	c.Packets = c.Packets[idx[4]:]
	b, err := c.Bytes()
	path := damaged(t, "midstream.pcap", b, err)
	for _, ports := range [][]uint16{nil, {uint16(tc.port)}} {
		r := runNDJSONKeys(t, path, tc.keys(t), ports)
		if r.err != nil {
			t.Fatal(r.err)
		}
		opens := 0
		for _, e := range r.events {
			switch {
			case e.Event == "open" && e.TLS != nil && !e.TLS.Decrypted && e.TLS.Reason == "handshake not captured":
				opens++
			case e.Event == "close":
			default:
				t.Errorf("-p %v: %+v", ports, e)
			}
		}
		if opens != tc.conns {
			t.Errorf("-p %v: %d connections shown undecrypted, want %d", ports, opens, tc.conns)
		}
	}
}
