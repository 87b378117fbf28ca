package decode

import (
	"fmt"
	"testing"

	"github.com/chatsniff/chatsniff/reassembly"
)

// benchConn is an open connection whose events are counted and dropped.
func benchConn(b *testing.B, ext string) (reassembly.Conn, *int) {
	n := new(int)
	d := NewDecoder(Config{}, SinkFunc(func(e *Event) {
		if e.Kind == KindMessage {
			*n++
		}
	}))
	c := d.NewConn(reassembly.ConnInfo{ID: 1, Client: testClient, Server: testServer, SawSYN: true, Time: testT0})
	c.Data(reassembly.ClientToServer, []byte(upgradeReq("/")), testT0)
	resp := upgradeResp()
	if ext != "" {
		resp = upgradeResp(ext)
	}
	c.Data(reassembly.ServerToClient, []byte(resp), testT0)
	return c, n
}

// feedSegments delivers stream in pieces of a loopback segment's size.
func feedSegments(c reassembly.Conn, dir reassembly.Dir, stream []byte) {
	const mss = 1448
	for len(stream) > 0 {
		n := min(mss, len(stream))
		c.Data(dir, stream[:n], testT0)
		stream = stream[n:]
	}
}

// BenchmarkFrames pushes small masked text frames (not JSON) through a
// connection, cut into segments: the steady state should not allocate.
func BenchmarkFrames(b *testing.B) {
	const frames = 1000
	var stream []byte
	for i := range frames {
		stream = append(stream, cf(OpText, fmt.Sprintf("a short chat line, number %04d", i))...)
	}
	c, n := benchConn(b, "")
	feedSegments(c, reassembly.ClientToServer, stream) // warm up the buffers
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		feedSegments(c, reassembly.ClientToServer, stream)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
	if *n < frames {
		b.Fatalf("%d messages decoded", *n)
	}
}

// BenchmarkInflate pushes compressed chat messages (context takeover, as
// browsers and Node's ws compress) through a connection.
func BenchmarkInflate(b *testing.B) {
	const msgs = 200
	d := newDeflater(true)
	var stream []byte
	raw := 0
	for i := range msgs {
		m := fmt.Sprintf(`{"type":"say","from_client_id":"7f00000108fd00000001","from_client_name":"alice","to_client_id":"all","content":"message %d of the benchmark","time":"2026-11-24 18:42:37"}`, i)
		raw += len(m)
		stream = append(stream, compressedFrame(OpBinary, d.compress([]byte(m)), false)...)
	}
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	for b.Loop() {
		// A new connection each round: the stream's window starts empty.
		b.StopTimer()
		c, _ := benchConn(b, "Sec-WebSocket-Extensions: permessage-deflate")
		b.StartTimer()
		feedSegments(c, reassembly.ServerToClient, stream)
		c.End(reassembly.EndFIN, testT0)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*msgs), "ns/msg")
}
