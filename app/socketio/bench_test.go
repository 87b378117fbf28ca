package socketio

import "testing"

// BenchmarkRead reads the typical message of a chat, a client's
// 42["chat message","hi"], on an established websocket session: with no
// name known (the emit line) and after "add user" (the chat line).
func BenchmarkRead(b *testing.B) {
	const ws = "/socket.io/?EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC"
	for _, bc := range []struct {
		name  string
		setup string
	}{
		{"emit", ""},
		{"named", `42["add user","alice"]`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := NewReader()
			if bc.setup != "" {
				r.Read(&Input{Conn: 1, FromClient: true, Path: ws, Payload: []byte(bc.setup)})
			}
			in := &Input{Conn: 1, FromClient: true, Path: ws, Payload: []byte(`42["chat message","hi"]`)}
			b.ReportAllocs()
			b.SetBytes(int64(len(in.Payload)))
			for b.Loop() {
				if ms := r.Read(in); len(ms) != 1 || ms[0].IO == nil {
					b.Fatal(ms)
				}
			}
		})
	}
}

// BenchmarkReadPolling reads a v4 polling body of two events.
func BenchmarkReadPolling(b *testing.B) {
	r := NewReader()
	in := &Input{Conn: 1, Polling: true, Method: "GET", Status: 200, Path: "/socket.io/?EIO=4&transport=polling&t=N8hyd7H&sid=S",
		Payload: []byte("42[\"new message\",{\"username\":\"alice\",\"message\":\"hi\"}]\x1e42[\"typing\",{\"username\":\"bob\"}]")}
	b.ReportAllocs()
	for b.Loop() {
		r.Read(in)
	}
}
