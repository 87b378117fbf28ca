package tlsdecrypt

import (
	"bytes"
	"crypto/tls"
	"strings"
	"testing"
)

func TestRealTLS(t *testing.T) {
	tests := []struct {
		name   string
		cc, sc *tls.Config
		cipher uint16
		alpn   string
	}{
		{"1.3 AES-128-GCM", &tls.Config{MinVersion: tls.VersionTLS13}, &tls.Config{}, tls.TLS_AES_128_GCM_SHA256, ""},
		{"1.3 ALPN", &tls.Config{NextProtos: []string{"http/1.1"}}, &tls.Config{NextProtos: []string{"http/1.1"}}, tls.TLS_AES_128_GCM_SHA256, "http/1.1"},
		{"1.3 HelloRetryRequest",
			&tls.Config{CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}},
			&tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}},
			tls.TLS_AES_128_GCM_SHA256, ""},
		{"1.2 ECDHE AES-128-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
			&tls.Config{}, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ""},
		{"1.2 ECDHE AES-256-GCM-SHA384", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}},
			&tls.Config{}, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, ""},
		{"1.2 ECDHE ChaCha20-Poly1305", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
			&tls.Config{}, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, ""},
		{"1.2 ALPN", &tls.Config{MaxVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}},
			&tls.Config{NextProtos: []string{"http/1.1"}}, 0, "http/1.1"},
	}
	feeds := []struct {
		name string
		o    feedOpts
	}{
		{"writes", feedOpts{}},
		{"coalesced", feedOpts{coalesce: true}},
		{"7 bytes", feedOpts{chunk: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := makeSession(t, tt.cc, tt.sc, defaultExchange())
			want := tt.cipher
			if want == 0 {
				want = s.clientInfo.CipherSuite
			}
			if s.clientInfo.CipherSuite != want {
				t.Fatalf("Go negotiated %s, want %s", tls.CipherSuiteName(s.clientInfo.CipherSuite), tls.CipherSuiteName(want))
			}
			if tt.name == "1.3 HelloRetryRequest" && !s.clientInfo.HelloRetryRequest {
				t.Fatal("no HelloRetryRequest made")
			}
			for _, f := range feeds {
				t.Run(f.name, func(t *testing.T) {
					fc, h := run(t, s, keysOf(t, s.keyLog), Options{}, f.o)
					info := fc.info(t)
					if !info.Decrypted || info.Reason != "" {
						t.Fatalf("info %+v, want decrypted", info)
					}
					if info.Version != s.clientInfo.Version || info.Cipher != want || info.SNI != "example.com" || info.ALPN != tt.alpn {
						t.Errorf("info %+v, want version %x cipher %x SNI example.com ALPN %q", info, s.clientInfo.Version, want, tt.alpn)
					}
					if len(fc.errors) > 0 {
						t.Errorf("TLS errors: %q", fc.errors)
					}
					checkPlain(t, fc, s)
					st := h.Stats()
					if st.Connections != 1 || st.Decrypted != 1 || st.Records == 0 || st.AuthFailures != 0 {
						t.Errorf("stats %+v", st)
					}
				})
			}
		})
	}
}

// TestByteByByte splits the records at every byte.
func TestByteByByte(t *testing.T) {
	for _, max := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		s := makeSession(t, &tls.Config{MaxVersion: max}, &tls.Config{}, defaultExchange())
		fc, _ := run(t, s, keysOf(t, s.keyLog), Options{}, feedOpts{chunk: 1})
		if info := fc.info(t); !info.Decrypted {
			t.Errorf("%x: not decrypted: %+v", max, info)
		}
		checkPlain(t, fc, s)
	}
}

// TestBatching checks that the records of one Data call are passed on in
// one Data call.
func TestBatching(t *testing.T) {
	ex := exchange{requests: []string{"a"}, reply: func(int, string) string { return "b" }}
	s := makeSession(t, &tls.Config{}, &tls.Config{}, ex)
	fc, _ := run(t, s, keysOf(t, s.keyLog), Options{}, feedOpts{coalesce: true})
	checkPlain(t, fc, s)
	if fc.calls[0] != 1 || fc.calls[1] != 1 {
		t.Errorf("Data calls %v, want one a direction", fc.calls)
	}
}

func TestResumption12(t *testing.T) {
	cache := tls.NewLRUClientSessionCache(4)
	cc := &tls.Config{MaxVersion: tls.VersionTLS12, ClientSessionCache: cache}
	sc := &tls.Config{}
	first := makeSession(t, cc, sc, defaultExchange())
	second := makeSession(t, cc, sc, defaultExchange())
	if !second.clientInfo.DidResume {
		t.Fatal("the second connection did not resume")
	}
	if len(second.keyLog) != 0 {
		t.Logf("key log of the resumed connection: %q", second.keyLog)
	}
	inner := &fakeInner{}
	h := NewHandler(inner, keysOf(t, first.keyLog, second.keyLog), Options{})
	feed(h.NewConn(connInfo(1)), first.writes, feedOpts{})
	feed(h.NewConn(connInfo(2)), second.writes, feedOpts{})
	for i, s := range []*session{first, second} {
		fc := inner.conns[i]
		if info := fc.info(t); !info.Decrypted {
			t.Errorf("connection %d: %+v", i+1, info)
		}
		checkPlain(t, fc, s)
	}
}

func TestResumption13(t *testing.T) {
	cache := tls.NewLRUClientSessionCache(4)
	cc := &tls.Config{ClientSessionCache: cache}
	sc := &tls.Config{}
	makeSession(t, cc, sc, defaultExchange())
	second := makeSession(t, cc, sc, defaultExchange())
	if !second.clientInfo.DidResume {
		t.Fatal("the second connection did not resume")
	}
	fc, _ := run(t, second, keysOf(t, second.keyLog), Options{}, feedOpts{})
	if info := fc.info(t); !info.Decrypted {
		t.Errorf("%+v", info)
	}
	checkPlain(t, fc, second)
}

func TestUndecryptable(t *testing.T) {
	s13 := makeSession(t, &tls.Config{}, &tls.Config{}, defaultExchange())
	cbc := makeSession(t, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
		&tls.Config{CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, defaultExchange())
	tests := []struct {
		name   string
		s      *session
		keys   *KeyLog
		reason string
	}{
		{"no key", s13, NewKeyLog(), "no key for its client random in the key log"},
		{"nil key log", s13, nil, "no key log given"},
		{"cbc", cbc, keysOf(t, cbc.keyLog), "cipher suite TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc, h := run(t, tt.s, tt.keys, Options{}, feedOpts{})
			info := fc.info(t)
			if info.Decrypted || info.Reason != tt.reason || info.SNI != "example.com" || info.Version == 0 {
				t.Errorf("info %+v, want reason %q", info, tt.reason)
			}
			if len(fc.data[0])+len(fc.data[1]) != 0 {
				t.Errorf("plaintext passed on: %d, %d bytes", len(fc.data[0]), len(fc.data[1]))
			}
			if !fc.ended {
				t.Error("no End")
			}
			if st := h.Stats(); st.Connections != 1 || st.Decrypted != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestTrafficSecretsOnly decrypts TLS 1.3 with only the application
// traffic secrets in the key log.
func TestTrafficSecretsOnly(t *testing.T) {
	s := makeSession(t, &tls.Config{}, &tls.Config{}, defaultExchange())
	var kl []byte
	for _, line := range strings.SplitAfter(string(s.keyLog), "\n") {
		if strings.Contains(line, "TRAFFIC_SECRET_0") {
			kl = append(kl, line...)
		}
	}
	fc, _ := run(t, s, keysOf(t, kl), Options{}, feedOpts{})
	if info := fc.info(t); !info.Decrypted {
		t.Errorf("%+v", info)
	}
	checkPlain(t, fc, s)
}

// TestPlaintextPassthrough checks that a connection that is not TLS is
// passed on unchanged, call by call.
func TestPlaintextPassthrough(t *testing.T) {
	writes := []write{
		{dir: 0, b: []byte("GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")},
		{dir: 1, b: []byte("HTTP/1.1 101 Switching Protocols\r\n\r\n")},
		{dir: 0, b: []byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1}},
		{dir: 1, b: []byte{0x16, 0x03, 0x03}}, // looks like TLS, but after plaintext
	}
	for _, plain := range []bool{false, true} {
		inner := &fakeInner{plain: plain}
		h := NewHandler(inner, NewKeyLog(), Options{})
		c := h.NewConn(connInfo(1))
		feed(c, writes, feedOpts{})
		fc := inner.conns[0]
		var want [2][]byte
		for _, w := range writes {
			want[w.dir] = append(want[w.dir], w.b...)
		}
		if !bytes.Equal(fc.data[0], want[0]) || !bytes.Equal(fc.data[1], want[1]) {
			t.Errorf("plaintext changed: %q", fc.data)
		}
		if len(fc.infos) != 0 || fc.calls[0] != 2 || fc.calls[1] != 2 || !fc.ended {
			t.Errorf("infos %v, calls %v, ended %v", fc.infos, fc.calls, fc.ended)
		}
		if st := h.Stats(); st.Connections != 0 {
			t.Errorf("stats %+v", st)
		}
	}
}
