package chatserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// pprofMux serves the runtime profiles, on their own listener so that the
// page and WebSocket ports expose nothing of the kind.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Run is `chatsniff serve`: it listens on opts.WSAddr (and opts.HTTPAddr
// for the page), serves until ctx is cancelled (SIGINT/SIGTERM in the
// command), then closes every client with 1001.
func Run(ctx context.Context, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	raiseOpenFiles(s.log)
	web, ws := "http://", "ws://"
	if s.opts.TLS != nil {
		web, ws = "https://", "wss://"
	}
	var lc net.ListenConfig
	wsLn, err := lc.Listen(ctx, "tcp", s.opts.WSAddr)
	if err != nil {
		return fmt.Errorf("serve: websocket listener: %w", err)
	}
	defer wsLn.Close()
	var pageLn net.Listener
	if s.opts.HTTPAddr != "-" {
		pageLn, err = lc.Listen(ctx, "tcp", s.opts.HTTPAddr)
		if err != nil {
			return fmt.Errorf("serve: web page listener: %w", err)
		}
		defer pageLn.Close()
		s.log.Info("web page", slog.String("url", web+displayAddr(pageLn.Addr())+"/"))
	}
	if s.opts.PprofAddr != "" {
		pl, err := lc.Listen(ctx, "tcp", s.opts.PprofAddr)
		if err != nil {
			return fmt.Errorf("serve: pprof listener: %w", err)
		}
		defer pl.Close()
		go http.Serve(pl, pprofMux())
		s.log.Info("pprof", slog.String("url", "http://"+displayAddr(pl.Addr())+"/debug/pprof/"))
	}
	s.log.Info("websocket", slog.String("url", ws+displayAddr(wsLn.Addr())+"/"),
		slog.String("protocol", string(s.opts.Protocol)), slog.Bool("deflate", !s.opts.NoDeflate))
	if err := s.Serve(ctx, wsLn, pageLn); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// displayAddr names a listener's address as a user would type it: an
// unspecified host becomes 127.0.0.1.
func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ta.IP == nil || ta.IP.IsUnspecified() {
		return fmt.Sprintf("127.0.0.1:%d", ta.Port)
	}
	return ta.String()
}
