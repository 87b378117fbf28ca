package har

import (
	"encoding/json"
	"net/url"
	"strings"
)

// The HAR 1.2 objects an entry is made of (http://www.softwareishard.com/
// blog/har-12-spec/), with Chrome's extensions for WebSocket entries. The
// field order is the order written; fields HAR requires are never omitted.

type entry struct {
	StartedDateTime string    `json:"startedDateTime"`
	Time            float64   `json:"time"`
	Request         request   `json:"request"`
	Response        response  `json:"response"`
	Cache           struct{}  `json:"cache"`
	Timings         timings   `json:"timings"`
	ServerIPAddress string    `json:"serverIPAddress,omitempty"`
	Connection      string    `json:"connection,omitempty"`
	Comment         string    `json:"comment,omitempty"`
	ConnectionID    string    `json:"_connectionId,omitempty"`
	ResourceType    string    `json:"_resourceType"`
	Messages        []message `json:"_webSocketMessages"`
}

type request struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Headers     []nameValue `json:"headers"`
	QueryString []nameValue `json:"queryString"`
	Cookies     []cookie    `json:"cookies"`
	HeadersSize int         `json:"headersSize"`
	BodySize    int         `json:"bodySize"`
}

type response struct {
	Status      int         `json:"status"`
	StatusText  string      `json:"statusText"`
	HTTPVersion string      `json:"httpVersion"`
	Headers     []nameValue `json:"headers"`
	Cookies     []cookie    `json:"cookies"`
	Content     content     `json:"content"`
	RedirectURL string      `json:"redirectURL"`
	HeadersSize int         `json:"headersSize"`
	BodySize    int         `json:"bodySize"`
}

type nameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
}

type content struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
}

// timings are in milliseconds, -1 for what does not apply or is not known.
type timings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl"`
}

// message is one of Chrome's _webSocketMessages. Time is epoch seconds
// with microseconds, written from the integer time so that no float
// rounding shows. Data is the payload as text, or base64: for a binary
// message (opcode 2) as Chrome writes it; for any other opcode whose
// payload is not UTF-8 (a text frame breaking RFC 6455, a close frame's
// status code, a binary ping) with Encoding "base64", which Chrome never
// needs. Truncated and Length say a message was longer than what is kept.
type message struct {
	Type      string      `json:"type"` // "send": client to server; "receive"
	Time      json.Number `json:"time"`
	Opcode    int         `json:"opcode"`
	Data      string      `json:"data"`
	Encoding  string      `json:"encoding,omitempty"`
	Truncated bool        `json:"truncated,omitempty"`
	Length    *int        `json:"length,omitempty"` // the full length, when truncated
}

// wsURL builds the entry's URL from the request target and a host that
// validHost accepted. The target is what a peer sent, so bytes a URI may
// not hold are percent-encoded: the URL stays one valid URL for HAR
// readers that check it.
func wsURL(secure bool, host, target string) string {
	scheme := "ws"
	if secure {
		scheme = "wss"
	}
	if i := strings.Index(target, "://"); i > 0 && !strings.HasPrefix(target, "/") {
		// Absolute form (RFC 7230 section 5.3.2): its authority wins.
		rest := target[i+3:]
		auth, path, _ := strings.Cut(rest, "/")
		if validHost(auth) {
			host = auth
		}
		target = "/" + path
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	return scheme + "://" + host + escape(target, targetOK)
}

// validHost reports whether a Host header can stand in a URL as it is:
// not empty, and only the bytes of a reg-name, an IP literal and a port.
// Percent-escapes would do for RFC 3986, but URL parsers (Go's among
// them) refuse escaped ASCII in a host, so such a host is not used.
func validHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		if !hostOK(host[i]) {
			return false
		}
	}
	// Brackets and colons in odd places: asked of a parser.
	u, err := url.Parse("ws://" + host + "/")
	if err != nil || u.Host != host {
		return false
	}
	// An IPv6 address only in brackets (Go's parser lets "::" by).
	return !strings.Contains(u.Hostname(), ":") || strings.HasPrefix(host, "[")
}

// hostOK and targetOK say which bytes stand as they are (RFC 3986: an
// authority's reg-name or IP literal with a port; a path and query, with
// "%" kept since the target is already escaped by its sender).
func hostOK(c byte) bool {
	return unreserved(c) || strings.IndexByte("!$&'()*+,;=:[]", c) >= 0
}

func targetOK(c byte) bool {
	return unreserved(c) || strings.IndexByte("!$&'()*+,;=:@/?%", c) >= 0
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// escape percent-encodes the bytes of s that ok refuses; a "%" not
// followed by two hex digits is encoded too.
func escape(s string, ok func(byte) bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ok(c) && (c != '%' || i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2])) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// queryString splits the target's query into its parameters, in order,
// decoded as Chrome shows them ("+" as a space); one that does not decode
// is kept as sent.
func queryString(target string) []nameValue {
	out := []nameValue{}
	_, q, ok := strings.Cut(target, "?")
	if !ok {
		return out
	}
	q, _, _ = strings.Cut(q, "#")
	for p := range strings.SplitSeq(q, "&") {
		if p == "" {
			continue
		}
		name, value, _ := strings.Cut(p, "=")
		out = append(out, nameValue{unescape(name), unescape(value)})
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// requestCookies parses Cookie headers ("a=1; b=2") leniently: a sniffer
// shows what was sent, not what a strict parser accepts.
func requestCookies(headers []nameValue) []cookie {
	out := []cookie{}
	for _, h := range headers {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		for p := range strings.SplitSeq(h.Value, ";") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			name, value, _ := strings.Cut(p, "=")
			out = append(out, cookie{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
		}
	}
	return out
}

// responseCookies reads the Set-Cookie headers of the answer: the name,
// value and the attributes HAR has, other attributes left out.
func responseCookies(headers []nameValue) []cookie {
	out := []cookie{}
	for _, h := range headers {
		if !strings.EqualFold(h.Name, "Set-Cookie") {
			continue
		}
		parts := strings.Split(h.Value, ";")
		name, value, _ := strings.Cut(parts[0], "=")
		c := cookie{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}
		for _, a := range parts[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "path":
				c.Path = strings.TrimSpace(v)
			case "domain":
				c.Domain = strings.TrimSpace(v)
			case "httponly":
				c.HTTPOnly = true
			case "secure":
				c.Secure = true
			}
		}
		out = append(out, c)
	}
	return out
}
