package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chatsniff/chatsniff/capture"
	"github.com/chatsniff/chatsniff/chatserver"
	"github.com/chatsniff/chatsniff/chatserver/bots"
	"github.com/chatsniff/chatsniff/sniff"
)

// permError says how to run the demo with the rights it needs; it matches
// capture.ErrPermission.
type permError struct{ err error }

func (e *permError) Error() string {
	return "demo: live capture on loopback needs root or CAP_NET_RAW: run it as root (sudo go run ./cmd/chatsniff demo), " +
		"or give a built binary the capability: sudo setcap cap_net_raw,cap_net_admin=eip $(which chatsniff)"
}
func (e *permError) Unwrap() error { return e.err }

// Run is `chatsniff demo`. It returns when the duration is over, ctx ends
// (Ctrl-C), the message limit is reached, or a part fails; the users leave
// first, then the capture stops and prints its summary, then the server.
func Run(ctx context.Context, opts Options) error {
	o, err := opts.withDefaults()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	wsLn, err := listen(ctx, o.WSAddr, DefaultWSAddr)
	if err != nil {
		return fmt.Errorf("demo: websocket listener: %w", err)
	}
	defer wsLn.Close()
	pageLn, err := listen(ctx, o.HTTPAddr, DefaultHTTPAddr)
	if err != nil {
		return fmt.Errorf("demo: web page listener: %w", err)
	}
	defer pageLn.Close()
	port := uint16(wsLn.Addr().(*net.TCPAddr).Port)

	// The capture starts before the server accepts anyone, so that every
	// connection is seen from its upgrade on.
	src, err := capture.OpenLive(capture.LiveOptions{Interface: o.Interface, Ports: []uint16{port}})
	if err != nil {
		if errors.Is(err, capture.ErrPermission) {
			return &permError{err: err}
		}
		return fmt.Errorf("demo: %w", err)
	}
	srcClosed := false
	defer func() {
		if !srcClosed {
			src.Close()
		}
	}()

	// With TLS the users' TLS clients write their secrets to a key log
	// in a directory of the demo's, and the capture follows it.
	var serverTLS, clientTLS *tls.Config
	keyLogPath := ""
	if o.TLS {
		var cleanup func()
		var err error
		if serverTLS, clientTLS, keyLogPath, cleanup, err = demoTLS(); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer cleanup()
	}
	srv, err := chatserver.New(chatserver.Options{
		WSAddr:   wsLn.Addr().String(),
		TLS:      serverTLS,
		Protocol: o.Protocol,
		// Only what goes wrong: the sniffer tells what happens.
		Logger: slog.New(slog.NewTextHandler(o.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("demo: server: %w", err)
	}
	// Each part gets a context of its own, not a child of ctx: on Ctrl-C
	// they must stop in order (users, capture, server), not all at once.
	base := context.WithoutCancel(ctx)
	srvCtx, stopSrv := context.WithCancel(base)
	defer stopSrv()
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(srvCtx, wsLn, pageLn) }()

	wsURL := "ws://" + wsLn.Addr().String() + "/"
	pageURL := "http://" + pageLn.Addr().String() + "/"
	if o.TLS {
		wsURL, pageURL = "wss"+wsURL[len("ws"):], "https"+pageURL[len("http"):]
	}
	banner(o, wsURL, pageURL, port)

	sniffCtx, stopSniff := context.WithCancel(base)
	defer stopSniff()
	cmd := &sniff.Command{
		Open:       func() (capture.Source, error) { return src, nil },
		Name:       o.Interface,
		Options:    sniff.Options{Ports: []uint16{port}, Live: true, MaxMessages: o.MaxMessages},
		KeyLogPath: keyLogPath,
		Format:     o.Format,
		Color:      o.Color,
		Compact:    o.Compact,
		Stdout:     o.Stdout,
		Stderr:     o.Stderr,
	}
	srcClosed = true // Execute closes it
	sniffDone := make(chan error, 1)
	go func() { sniffDone <- cmd.Execute(sniffCtx) }()

	usersCtx, stopUsers := context.WithCancel(base)
	defer stopUsers()
	usersDone := make(chan error, 2)
	parts := 1
	go func() {
		usersDone <- bots.Run(usersCtx, bots.Options{
			URL: wsURL, Protocol: o.Protocol, Clients: o.Bots, Rate: o.Rate,
			// Browsers offer permessage-deflate, and so do the bots: the
			// server then deflates what is long enough to gain from it.
			Deflate: true,
			Quiet:   true,
			TLS:     clientTLS,
		}, io.Discard)
	}()
	if !o.NoWhisper {
		parts++
		go func() {
			w, err := dialWhisperer(usersCtx, wsURL, o.Protocol, clientTLS)
			if err != nil {
				usersDone <- err
				return
			}
			usersDone <- w.run(usersCtx)
		}()
	}

	var timeout <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		timeout = t.C
	}
	var firstErr error
	sniffEnded := false
	var sniffErr error
	select {
	case <-ctx.Done():
	case <-timeout:
	case err := <-usersDone:
		parts--
		firstErr = err
	case sniffErr = <-sniffDone:
		sniffEnded = true
	case err := <-srvDone:
		srvDone <- err
	}

	// The users leave, and the capture goes on a moment to show them go.
	stopUsers()
	for ; parts > 0; parts-- {
		// A user cut short by the stop is no failure.
		if err := <-usersDone; err != nil && !errors.Is(err, context.Canceled) && firstErr == nil {
			firstErr = err
		}
	}
	if !sniffEnded {
		select {
		case sniffErr = <-sniffDone:
		case <-time.After(settle):
			stopSniff()
			sniffErr = <-sniffDone
		}
	}
	stopSrv()
	srvErr := <-srvDone
	switch {
	case sniffErr != nil:
		return fmt.Errorf("demo: capture: %w", sniffErr)
	case srvErr != nil:
		return fmt.Errorf("demo: server: %w", srvErr)
	case firstErr != nil:
		return fmt.Errorf("demo: %w", firstErr)
	}
	return nil
}

// demoTLS makes the server's self-signed TLS configuration, and the
// users' configuration that trusts it and writes their secrets to the key
// log at keyLogPath, in a new directory of its own, which cleanup closes
// and removes.
func demoTLS() (server, client *tls.Config, keyLogPath string, cleanup func(), err error) {
	server, _, err = chatserver.SelfSignedTLS(nil)
	if err != nil {
		return nil, nil, "", nil, err
	}
	cert, err := x509.ParseCertificate(server.Certificates[0].Certificate[0])
	if err != nil {
		return nil, nil, "", nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	dir, err := os.MkdirTemp("", "chatsniff-demo-")
	if err != nil {
		return nil, nil, "", nil, err
	}
	keyLogPath = filepath.Join(dir, "keys.log")
	w, err := chatserver.KeyLogFile(keyLogPath, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, "", nil, err
	}
	cleanup = func() {
		w.Close()
		os.RemoveAll(dir)
	}
	return server, &tls.Config{RootCAs: roots, KeyLogWriter: w}, keyLogPath, cleanup, nil
}

// listen listens on addr, or on def and, if that is taken, on a free port
// of the same host.
func listen(ctx context.Context, addr, def string) (net.Listener, error) {
	var lc net.ListenConfig
	if addr != "" {
		return lc.Listen(ctx, "tcp", addr)
	}
	if ln, err := lc.Listen(ctx, "tcp", def); err == nil {
		return ln, nil
	}
	host, _, err := net.SplitHostPort(def)
	if err != nil {
		return nil, err
	}
	return lc.Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
}

// banner tells, on stderr, what runs where and how to join in.
func banner(o Options, wsURL, pageURL string, port uint16) {
	until := "Ctrl-C stops it"
	if o.Duration > 0 {
		until = "for " + o.Duration.String() + " (Ctrl-C stops it sooner)"
	}
	whisper := ""
	if !o.NoWhisper {
		whisper = ", and " + whispererName + " sends private messages"
	}
	fmt.Fprintf(o.Stderr, "demo: chat server %s (%s protocol); open %s in a browser to join in\n", wsURL, o.Protocol, pageURL)
	fmt.Fprintf(o.Stderr, "demo: %d bots chat at %s msg/s%s; capturing live on %s, TCP port %d, %s\n",
		o.Bots, strconv.FormatFloat(o.Rate, 'g', -1, 64), whisper, o.Interface, port, until)
	_, addr, _ := strings.Cut(strings.TrimSuffix(wsURL, "/"), "://")
	if o.TLS {
		fmt.Fprintf(o.Stderr, "demo: the same as: chatsniff serve --tls --ws %s --protocol %s & chatsniff live -i %s -p %d --keylog K & chatsniff bots --insecure --keylog K %s\n\n",
			addr, o.Protocol, o.Interface, port, wsURL)
		return
	}
	fmt.Fprintf(o.Stderr, "demo: the same as: chatsniff serve --ws %s --protocol %s & chatsniff live -i %s -p %d & chatsniff bots %s\n\n",
		addr, o.Protocol, o.Interface, port, wsURL)
}
