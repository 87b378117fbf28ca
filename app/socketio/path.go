package socketio

import (
	"encoding/json"
	"net/url"
	"strings"
)

// target is what a request target's query says about Engine.IO.
type target struct {
	eio       int    // EIO=3 or 4; 0 when absent or another value
	hasEIO    bool   // EIO= is present (any value)
	sid       string // sid=, "" when absent or longer than maxSID
	transport string // transport=, as written
}

// maxSID bounds a session id kept as a key; engine.io's are 20 bytes.
const maxSID = 128

// parseTarget reads the query of a request target such as
// "/socket.io/?EIO=4&transport=websocket&sid=X". Its strings alias path.
func parseTarget(path string) target {
	var t target
	q := strings.IndexByte(path, '?')
	if q < 0 {
		return t
	}
	rest := path[q+1:]
	if h := strings.IndexByte(rest, '#'); h >= 0 {
		rest = rest[:h]
	}
	for rest != "" {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "EIO":
			t.hasEIO = true
			switch v {
			case "3":
				t.eio = 3
			case "4":
				t.eio = 4
			}
		case "sid":
			if strings.ContainsAny(v, "%+") {
				if u, err := url.QueryUnescape(v); err == nil {
					v = u
				}
			}
			if len(v) <= maxSID {
				t.sid = v
			}
		case "transport":
			t.transport = v
		}
	}
	return t
}

// IsEngineIOPath reports whether a request target is an Engine.IO one: its
// query has EIO= with a version number (e.g.
// "/socket.io/?EIO=4&transport=websocket"), whatever the path it is
// mounted on.
func IsEngineIOPath(target string) bool {
	q := strings.IndexByte(target, '?')
	if q < 0 {
		return false
	}
	for rest := target[q+1:]; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		if v, ok := strings.CutPrefix(kv, "EIO="); ok {
			v, _, _ = strings.Cut(v, "#")
			return v != "" && len(v) <= 2 && strings.Trim(v, "0123456789") == ""
		}
	}
	return false
}

// LooksLikeEngineIO reports whether a connection's first text message,
// seen without its upgrade request (midstream), is a plausible Engine.IO
// packet: an open packet "0{"sid":...}", a bare ping or pong ("2", "3",
// "2probe", "3probe"), "1", "5", "6", or a message "4" whose data parses
// as a Socket.IO packet ("40", "42[...]", "430[...]", ...). Plain JSON,
// numbers other than those and text are not.
func LooksLikeEngineIO(first []byte) bool {
	if len(first) == 0 {
		return false
	}
	rest := first[1:]
	switch first[0] {
	case '0':
		rest = trimSpace(rest)
		return len(rest) > 0 && rest[0] == '{' && json.Valid(rest) && field(rest, "sid") != nil
	case '1', '5', '6':
		return len(rest) == 0
	case '2', '3':
		return len(rest) == 0 || string(rest) == "probe"
	case '4':
		if len(rest) == 0 {
			return false
		}
		var p Packet
		return parsePacket(rest, &p, nil) == nil
	}
	return false
}
