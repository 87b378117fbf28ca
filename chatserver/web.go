package chatserver

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strconv"
)

//go:embed web
var webFiles embed.FS

// PageHandler serves the chat page from the embedded web/ directory, and
// /config.js telling the page which WebSocket scheme, port and protocol to
// use: wss:// when the server speaks TLS (Options.TLS), else ws://.
func (s *Server) PageHandler(wsAddr net.Addr) (http.Handler, error) {
	root, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, fmt.Errorf("web page files: %w", err)
	}
	port := 0
	if ta, ok := wsAddr.(*net.TCPAddr); ok {
		port = ta.Port
	} else if _, p, err := net.SplitHostPort(wsAddr.String()); err == nil {
		port, _ = strconv.Atoi(p)
	}
	scheme := "ws://"
	if s.opts.TLS != nil {
		scheme = "wss://"
	}
	cfg, err := json.Marshal(struct {
		WSScheme string `json:"wsScheme"`
		WSPort   int    `json:"wsPort"`
		Protocol string `json:"protocol"`
	}{scheme, port, string(s.opts.Protocol)})
	if err != nil {
		return nil, fmt.Errorf("page config: %w", err)
	}
	configJS := []byte("window.CHATSNIFF = " + string(cfg) + ";\n")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /config.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(configJS)
	})
	mux.Handle("GET /", http.FileServerFS(root))
	return securityHeaders(mux), nil
}

// securityHeaders forbids the page any script or style but its own files,
// a second line behind inserting every name and message as text.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src ws: wss:; img-src 'self' data:")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
