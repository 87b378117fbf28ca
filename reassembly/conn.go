package reassembly

import (
	"net/netip"
	"time"
)

// Dir is the direction of a byte stream within a connection.
type Dir uint8

const (
	// ClientToServer is the stream from the side that opened the connection.
	ClientToServer Dir = iota
	// ServerToClient is the stream from the side that accepted it.
	ServerToClient
)

// String returns "client" or "server": the side that sent the bytes.
func (d Dir) String() string {
	if d == ClientToServer {
		return "client"
	}
	return "server"
}

// Reverse returns the other direction.
func (d Dir) Reverse() Dir { return 1 - d }

// ConnInfo describes a connection when it is first seen.
type ConnInfo struct {
	ID     uint64         // 1, 2, 3… in the order connections were first seen
	Client netip.AddrPort // the side that sent the SYN, or the best guess without one
	Server netip.AddrPort
	// SawSYN is true when the connection's opening was captured, so which
	// side is the client is known rather than guessed.
	SawSYN bool
	Time   time.Time // capture time of the first packet
}

// EndReason says why a connection ended.
type EndReason uint8

const (
	EndFIN     EndReason = iota // both sides sent FIN
	EndRST                      // a RST was seen
	EndIdle                     // nothing was seen for the idle timeout
	EndCapture                  // the capture ended with the connection still open
)

func (r EndReason) String() string {
	switch r {
	case EndFIN:
		return "fin"
	case EndRST:
		return "rst"
	case EndIdle:
		return "idle"
	default:
		return "end of capture"
	}
}

// Handler is told of each new connection and returns the Conn that receives
// its bytes. Returning nil ignores the connection.
type Handler interface {
	NewConn(info ConnInfo) Conn
}

// Conn receives one connection's reassembled streams, in order per direction.
// All calls for all connections come from one goroutine.
type Conn interface {
	// Data delivers the next bytes of one direction. b is only valid during
	// the call; t is the capture time of the packet that carried its end.
	Data(dir Dir, b []byte, t time.Time)
	// Gap says that n bytes of dir were never captured (n < 0: unknown) and
	// that the next Data call starts at a segment boundary after them.
	Gap(dir Dir, n int, t time.Time)
	// End is the last call for the connection.
	End(reason EndReason, t time.Time)
}
