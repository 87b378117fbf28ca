package main

// Expected is what a capture holds, written beside it as FILE.json for
// tests and scripts/bench to compare a decoder's counts with. A "message"
// is what chatsniff's NDJSON reports as a message event: a whole data
// message (however many frames it took) or one control frame.
type Expected struct {
	Generator Params `json:"generator"`
	Packets   int64  `json:"packets"`
	FileBytes int64  `json:"file_bytes"`
	FirstTime string `json:"first_time"` // RFC 3339, UTC
	LastTime  string `json:"last_time"`
	// TCPConnections counts every connection, the page loads on port 55151 included.
	TCPConnections       int `json:"tcp_connections"`
	WebSocketConnections int `json:"websocket_connections"`
	MaxAlive             int `json:"max_alive"` // WebSocket connections open at once, at most

	Messages messageCounts `json:"messages"`
	// Frames counts frames on the wire: continuation frames each count.
	Frames perDir `json:"frames"`
	// Fragmented counts messages sent in more than one frame.
	Fragmented perDir `json:"fragmented_messages"`
	// Large counts messages whose payload exceeds 65535 bytes (64-bit length).
	Large perDir `json:"large_messages"`
	// Compressed counts messages sent with RSV1 (permessage-deflate).
	Compressed perDir `json:"compressed_messages"`
	// PayloadBytes adds up message payloads as the application sees them:
	// unmasked and inflated.
	PayloadBytes perDir `json:"payload_bytes"`
	// FrameBytes adds up frames as they are on the wire, headers included.
	FrameBytes perDir `json:"frame_bytes"`
	// TCPPayloadBytes adds up TCP payloads on port 7272, HTTP included
	// (and port 55151's, whose side is the client or the server likewise).
	TCPPayloadBytes perDir `json:"tcp_payload_bytes"`
	// ChatTypes counts text messages by their JSON "type".
	ChatTypes chatCounts `json:"chat_types"`
}

// Params echoes the flags that made the capture.
type Params struct {
	Size     int64   `json:"size,omitempty"`
	Messages int64   `json:"messages,omitempty"`
	Conns    int     `json:"conns"`
	Alive    int     `json:"alive"`
	Rooms    int     `json:"rooms"`
	Protocol string  `json:"protocol"`
	MSS      int     `json:"mss"`
	Deflate  bool    `json:"deflate"`
	Link     string  `json:"link"`
	Seed     uint64  `json:"seed"`
	IPv6     float64 `json:"ipv6"`
	HTTP     float64 `json:"http"`
	Huge     int     `json:"huge"`
	Short    int     `json:"short"`
	Start    string  `json:"start"`
}

type perDir struct {
	Client int64 `json:"client"`
	Server int64 `json:"server"`
}

func (p *perDir) add(side int, n int) {
	if side == client {
		p.Client += int64(n)
	} else {
		p.Server += int64(n)
	}
}

type messageCounts struct {
	Total  int64    `json:"total"`
	Client opCounts `json:"client"`
	Server opCounts `json:"server"`
}

// opCounts are one direction's messages by opcode, named as in NDJSON.
type opCounts struct {
	Total  int64 `json:"total"`
	Text   int64 `json:"text"`
	Binary int64 `json:"binary"`
	Ping   int64 `json:"ping"`
	Pong   int64 `json:"pong"`
	Close  int64 `json:"close"`
}

type chatCounts struct {
	Client map[string]int64 `json:"client"`
	Server map[string]int64 `json:"server"`
}

// message counts one message: its opcode, payload length (as the
// application sees it), frames, and whether it was compressed.
func (e *Expected) message(side int, op byte, length, frames int, compressed bool) {
	e.Messages.Total++
	oc := &e.Messages.Client
	if side == server {
		oc = &e.Messages.Server
	}
	oc.Total++
	switch op {
	case opText:
		oc.Text++
	case opBinary:
		oc.Binary++
	case opPing:
		oc.Ping++
	case opPong:
		oc.Pong++
	case opClose:
		oc.Close++
	}
	e.PayloadBytes.add(side, length)
	if frames > 1 {
		e.Fragmented.add(side, 1)
	}
	if length > 0xffff {
		e.Large.add(side, 1)
	}
	if compressed {
		e.Compressed.add(side, 1)
	}
}

// chat counts n text messages of chat type typ.
func (e *Expected) chat(side int, typ string, n int) {
	m := &e.ChatTypes.Client
	if side == server {
		m = &e.ChatTypes.Server
	}
	if *m == nil {
		*m = map[string]int64{}
	}
	(*m)[typ] += int64(n)
}
