package bots

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// clientTLS is the configuration of the wss:// connections: cfg (nil:
// Go's defaults, the system's roots), offering HTTP/1.1 by ALPN as
// browsers do unless cfg names protocols. Its KeyLogWriter is kept.
func clientTLS(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"http/1.1"}
	}
	return cfg
}

// errNotTLS is a wss:// server answering the ClientHello with something
// other than TLS.
var errNotTLS = errors.New("the server does not speak TLS")

// dialTLS dials addr with dial and does the TLS handshake with cfg, the
// server's name taken from addr unless cfg names one.
func dialTLS(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), cfg *tls.Config, network, addr string) (net.Conn, error) {
	raw, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			raw.Close()
			return nil, err
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	c := tls.Client(raw, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		var record tls.RecordHeaderError
		if errors.As(err, &record) {
			return nil, fmt.Errorf("%w: %w", errNotTLS, err)
		}
		return nil, err
	}
	return c, nil
}

// dialError says what a failed dial means where the cause is the scheme or
// the certificate, for which every bot would fail alike: one line naming
// the server and what to do. Other errors are the bot's own.
func dialError(rawURL string, idx int, resp *http.Response, err error) error {
	u, _ := url.Parse(rawURL)
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &verify):
		if u != nil && isLoopback(u.Hostname()) {
			return fmt.Errorf("%s: certificate not trusted (%v): for the self-signed certificate of chatsniff serve --tls, add --insecure", rawURL, verify.Err)
		}
		return fmt.Errorf("%s: certificate not trusted (%v)", rawURL, verify.Err)
	case errors.Is(err, errNotTLS):
		return fmt.Errorf("%s: %w: use ws://", rawURL, errNotTLS)
	case u != nil && u.Scheme == "ws" && resp != nil && resp.StatusCode == http.StatusBadRequest:
		// What Go's TLS server answers plain HTTP with; coder/websocket
		// says only that the status was not 101.
		return fmt.Errorf("client %d: connect: %w (if the server speaks TLS, as chatsniff serve --tls does, use wss://)", idx, err)
	}
	return fmt.Errorf("client %d: connect: %w", idx, err)
}

// isLoopback tells whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
