package socketio

import (
	"fmt"
	"strings"
	"testing"
)

// desc writes a Packet's fields for comparison.
func desc(p *Packet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s ns=%s", p.Type, p.Namespace)
	if p.Query != "" {
		fmt.Fprintf(&b, " q=%s", p.Query)
	}
	if p.ID >= 0 {
		fmt.Fprintf(&b, " id=%d", p.ID)
	}
	if p.Attachments > 0 {
		fmt.Fprintf(&b, " att=%d", p.Attachments)
	}
	if p.Event != "" {
		fmt.Fprintf(&b, " event=%q", p.Event)
	}
	if p.Args != nil {
		b.WriteString(" args=")
		for i, a := range p.Args {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(a)
		}
	}
	if p.Data != nil {
		fmt.Fprintf(&b, " data=%s", p.Data)
	}
	return b.String()
}

func TestParsePacket(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		// The socket.io-protocol v5 README's examples.
		{in: `0`, want: `connect ns=/`},
		{in: `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, want: `connect ns=/admin data={"sid":"oSO0OpakMV_3jnilAAAA"}`},
		{in: `0{"token":"123"}`, want: `connect ns=/ data={"token":"123"}`},
		{in: `4{"message":"Not authorized"}`, want: `connect_error ns=/ data={"message":"Not authorized"}`},
		{in: `2["foo"]`, want: `event ns=/ event="foo" args=`},
		{in: `2/admin,["bar"]`, want: `event ns=/admin event="bar" args=`},
		{in: `51-["baz",{"_placeholder":true,"num":0}]`, want: `binary_event ns=/ att=1 event="baz" args={"_placeholder":true,"num":0}`},
		{in: `52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
			want: `binary_event ns=/admin att=2 event="baz" args={"_placeholder":true,"num":0},{"_placeholder":true,"num":1}`},
		{in: `212["foo"]`, want: `event ns=/ id=12 event="foo" args=`},
		{in: `3/admin,13["bar"]`, want: `ack ns=/admin id=13 args="bar"`},
		{in: `61-15["bar",{"_placeholder":true,"num":0}]`, want: `binary_ack ns=/ id=15 att=1 args="bar",{"_placeholder":true,"num":0}`},
		{in: `61-/admin,1[{"_placeholder":true,"num":0}]`, want: `binary_ack ns=/admin id=1 att=1 args={"_placeholder":true,"num":0}`},
		{in: `1`, want: `disconnect ns=/`},
		{in: `1/admin,`, want: `disconnect ns=/admin`},
		{in: `30[]`, want: `ack ns=/ id=0`},
		// What socket.io 4.8 and 2.5 send.
		{in: `2["chat message","hi"]`, want: `event ns=/ event="chat message" args="hi"`},
		{in: `2["new message",{"username":"alice","message":"hi"}]`, want: `event ns=/ event="new message" args={"username":"alice","message":"hi"}`},
		{in: `0/chat`, want: `connect ns=/chat`},                                    // v2 client, no comma at the end
		{in: `0/chat?token=abc,`, want: `connect ns=/chat q=token=abc`},             // v2 namespace query
		{in: `4"Not authorized"`, want: `connect_error ns=/ data="Not authorized"`}, // v2 ERROR
		{in: `2 [ "spaced" , 1 ] `, want: `event ns=/ event="spaced" args=1`},
		{in: `2[1,"a"]`, want: `event ns=/ args=1,"a"`},
		{in: `2["a\"b\u00e9"]`, want: `event ns=/ event="a\"bé" args=`},
		{in: `2[{"nested":[1,{"a":"]"}]},"x"]`, want: `event ns=/ args={"nested":[1,{"a":"]"}]},"x"`},
		// Malformed.
		{in: ``, err: "empty"},
		{in: `7`, err: "unknown socket.io packet type"},
		{in: `x`, err: "unknown socket.io packet type"},
		{in: `5["a"]`, err: "attachments"},
		{in: `5x-["a"]`, err: "attachments"},
		{in: `51["a"]`, err: "attachments"},
		{in: `51234567890-["a"]`, err: "attachments"},
		{in: `2["a"`, err: "not valid JSON"},
		{in: `2{"a":1}`, err: "non-empty array"},
		{in: `2[]`, err: "non-empty array"},
		{in: `2`, err: "non-empty array"},
		{in: `3["a"]`, err: "ack without an id"},
		{in: `31{}`, err: "not an array"},
		{in: `0"x"`, err: "not an object"},
		{in: `21234567890123456789["a"]`, err: "ack id too long"},
	} {
		p, err := ParsePacket([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := desc(p); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestInterner(t *testing.T) {
	var in interner
	a, _ := in.unquote([]byte(`"chat message"`))
	b, _ := in.unquote([]byte(`"chat message"`))
	if a != "chat message" || b != a {
		t.Fatal(a, b)
	}
	raw := []byte(`"chat message"`)
	if n := testing.AllocsPerRun(100, func() { in.unquote(raw) }); n != 0 {
		t.Errorf("%v allocations for an interned name", n)
	}
	for i := 0; i < 3*maxInterned; i++ {
		in.str([]byte(fmt.Sprint("/ns", i)))
	}
	if len(in.m) > maxInterned {
		t.Errorf("%d interned", len(in.m))
	}
	long := strings.Repeat("x", maxInternSize+1)
	if s := in.str([]byte(long)); s != long {
		t.Error("long string")
	}
}
