package chatserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/coder/websocket"
)

// BenchmarkBroadcast measures one say to a room of n clients through the
// protocol handler: decode, encode once, frame once, queue n times. The
// clients have no connection (frames stay queued), so this is the
// server's own work per broadcast; allocs/op staying flat as n grows is
// the "encoded and framed once per broadcast" check.
func BenchmarkBroadcast(b *testing.B) {
	for _, proto := range []chat.Protocol{chat.ProtocolUID, chat.ProtocolRoom} {
		for _, n := range []int{50, 200, 1000} {
			b.Run(fmt.Sprintf("%s/clients=%d", proto, n), func(b *testing.B) {
				s, err := New(Options{Protocol: proto, QueueMessages: 1 << 30, QueueBytes: 1 << 62, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					b.Fatal(err)
				}
				clients := make([]*client, n)
				for i := range clients {
					c := fakeClient(s, uint64(i))
					clients[i] = c
					s.proto.open(c)
					var m chat.Message
					json.Unmarshal([]byte(`{"type":"login","name":"u","client_name":"u","room_id":1}`), &m)
					s.proto.message(c, &m)
				}
				say := []byte(`{"type":"say","to_uid":"all","to_client_id":"all","to_client_name":"all","content":"` + strings.Repeat("x", 64) + `"}`)
				reset := func() {
					for _, c := range clients {
						c.q.mu.Lock()
						clear(c.q.items)
						c.q.items = c.q.items[:0]
						c.q.bytes = 0
						c.q.mu.Unlock()
					}
				}
				reset()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var m chat.Message
					if err := json.Unmarshal(say, &m); err != nil {
						b.Fatal(err)
					}
					s.proto.message(clients[i%n], &m)
					if i%1024 == 1023 {
						b.StopTimer()
						reset()
						b.StartTimer()
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			})
		}
	}
}

// BenchmarkFanout sends 64-byte-content messages to n real loopback
// connections and compares two write paths on the same server and
// readers: "preframed", this server's (one frame per broadcast, queued,
// one writev per batch per client), and "coder-write", coder/websocket's
// Conn.Write per message per client from a writer goroutine per client,
// which frames and flushes every message on its own. It is the measurement
// behind writing frames beside coder/websocket rather than through it.
// "preframed-deflate" is the server's path with every client having
// negotiated permessage-deflate: one compression per broadcast.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{50, 200} {
		for _, mode := range []string{"preframed", "preframed-deflate", "coder-write"} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode, n), func(b *testing.B) {
				benchFanout(b, n, mode)
			})
		}
	}
}

func benchFanout(b *testing.B, n int, mode string) {
	ts := startServer(b, Options{Protocol: chat.ProtocolUID, QueueMessages: 1 << 20, QueueBytes: 1 << 30, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var received atomic.Int64
	var wg sync.WaitGroup
	ext := ""
	if mode == "preframed-deflate" {
		ext = "permessage-deflate; client_max_window_bits"
	}
	for range n {
		r := dialRaw(b, ts, ext)
		r.conn.SetReadDeadline(time.Time{})
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for {
				k, err := r.br.Read(buf)
				received.Add(int64(k))
				if err != nil {
					return
				}
			}
		})
	}
	defer wg.Wait()
	// Connected counts a client before it joins the room: wait for the room.
	var room *room
	deadline := time.Now().Add(10 * time.Second)
	for room == nil || len(room.list()) != n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d clients joined", len(room.list()), n)
		}
		time.Sleep(5 * time.Millisecond)
		ts.hub.mu.Lock()
		room = ts.hub.rooms[everyoneRoom]
		ts.hub.mu.Unlock()
	}
	members := room.list()
	payload, _ := phpJSON(chat.UIDSayNotice{Type: chat.TypeSay, FromUID: 1, ToUID: chat.StringID("all"), Content: strings.Repeat("x", 64), Time: "2026-01-01 00:00:00"})
	frameLen := int64(len(newTextFrame(payload, -1).plain))
	if mode == "preframed-deflate" {
		f := ts.newFrame(payload)
		if d := f.bytes(true); d[0]&rsv1Bit != 0 {
			frameLen = int64(len(d))
		} else {
			b.Fatal("the benchmark message is not compressed")
		}
	}

	var writers sync.WaitGroup
	var chans []chan []byte
	if mode == "coder-write" {
		for _, c := range members {
			ch := make(chan []byte, 4096)
			chans = append(chans, ch)
			writers.Go(func() {
				for p := range ch {
					if err := c.ws.Write(context.Background(), websocket.MessageText, p); err != nil {
						return
					}
				}
			})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if mode != "coder-write" {
			room.broadcast(ts.newFrame(payload))
			continue
		}
		for _, ch := range chans {
			ch <- payload
		}
	}
	want := frameLen * int64(n) * int64(b.N)
	deadline = time.Now().Add(time.Minute)
	for received.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("received %d of %d bytes", received.Load(), want)
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	for _, ch := range chans {
		close(ch)
	}
	writers.Wait()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	ts.stop()
}
