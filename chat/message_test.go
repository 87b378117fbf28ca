package chat

import (
	"encoding/json"
	"testing"
)

func TestIDKeepsItsWireForm(t *testing.T) {
	tests := []struct {
		in       string
		str      string
		isNumber bool
		ok       bool
	}{
		{`783700053`, "783700053", true, true},
		{`"783700053"`, "783700053", false, true},
		{`"all"`, "all", false, true},
		{`"7f00000108fc00000001"`, "7f00000108fc00000001", false, true},
		{`1.5e3`, "1.5e3", true, true},
		{`{"a":1}`, "", false, false},
		{`[1]`, "", false, false},
		{`null`, "", false, false},
		{`true`, "", false, false},
	}
	for _, tt := range tests {
		var id ID
		err := json.Unmarshal([]byte(tt.in), &id)
		if (err == nil) != tt.ok {
			t.Errorf("Unmarshal(%s) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if id.String() != tt.str || id.IsNumber() != tt.isNumber {
			t.Errorf("Unmarshal(%s) = %q number=%v, want %q number=%v", tt.in, id.String(), id.IsNumber(), tt.str, tt.isNumber)
		}
		out, _ := json.Marshal(id)
		if string(out) != tt.in {
			t.Errorf("Marshal after Unmarshal(%s) = %s", tt.in, out)
		}
	}
}

func TestMessageDecodesBothProtocols(t *testing.T) {
	var m Message
	if err := json.Unmarshal([]byte(`{"type":"say","from_uid":783700053,"to_uid":"all","content":"hi, all !","time":"2014-08-12 17:51:02"}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeSay || m.FromUID.String() != "783700053" || m.ToUID.String() != ToAll || m.Content != "hi, all !" {
		t.Errorf("uid say decoded as %+v", m)
	}
	m = Message{}
	if err := json.Unmarshal([]byte(`{"type":"login","client_id":"7f00000108fc00000001","client_name":"bob","time":"x","client_list":{"7f00000108fc00000001":"bob"}}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.ClientID != "7f00000108fc00000001" || m.ClientList["7f00000108fc00000001"] != "bob" {
		t.Errorf("room login decoded as %+v", m)
	}
	if b, _ := json.Marshal(UIDLoginNotice{Type: TypeLogin, UID: 783700053, Name: "mynick", Time: "2014-08-12 17:50:30"}); string(b) != `{"type":"login","uid":783700053,"name":"mynick","time":"2014-08-12 17:50:30"}` {
		t.Errorf("key order: %s", b)
	}
}
