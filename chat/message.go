package chat

import (
	"bytes"
	"encoding/json"
)

// Protocol names one of the two workerman-chat protocols.
type Protocol string

const (
	// ProtocolUID is the 2014 protocol: login{name}, say{to_uid,content}.
	ProtocolUID Protocol = "uid"
	// ProtocolRoom is today's protocol: login{client_name,room_id}, say{to_client_id,...}, ping/pong.
	ProtocolRoom Protocol = "room"
)

// Message types, the value of every message's "type" key.
const (
	TypeLogin    = "login"
	TypeSay      = "say"
	TypeLogout   = "logout"
	TypeUserList = "user_list"
	TypePing     = "ping"
	TypePong     = "pong"
)

// ToAll is the to_uid / to_client_id of a message for everyone.
const ToAll = "all"

// ID is a user or room identifier as it stands on the wire: a JSON number
// (uid protocol) or a JSON string (room protocol, and "all"). It keeps the
// raw token so that 783700053 and "783700053" print as they were sent, while
// String gives the value to compare and look up.
type ID struct {
	raw json.RawMessage
}

// NumberID returns the ID written as a JSON number.
func NumberID(n int64) ID {
	b, _ := json.Marshal(n)
	return ID{raw: b}
}

// StringID returns the ID written as a JSON string.
func StringID(s string) ID {
	b, _ := json.Marshal(s)
	return ID{raw: b}
}

// IsZero reports whether the ID was absent.
func (id ID) IsZero() bool { return len(id.raw) == 0 }

// IsNumber reports whether the ID was written as a JSON number.
func (id ID) IsNumber() bool { return len(id.raw) > 0 && id.raw[0] != '"' }

// String returns the ID's value: the number's digits or the string's text.
func (id ID) String() string {
	if len(id.raw) == 0 {
		return ""
	}
	if id.raw[0] == '"' {
		var s string
		if json.Unmarshal(id.raw, &s) == nil {
			return s
		}
	}
	return string(id.raw)
}

// MarshalJSON writes the ID as it was received or built.
func (id ID) MarshalJSON() ([]byte, error) {
	if len(id.raw) == 0 {
		return []byte("null"), nil
	}
	return id.raw, nil
}

// UnmarshalJSON accepts a JSON number or string; anything else is an error.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == '{' || b[0] == '[' || string(b) == "null" || string(b) == "true" || string(b) == "false" {
		return &json.UnsupportedValueError{Str: "chat ID must be a number or a string"}
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	id.raw = append(json.RawMessage(nil), b...)
	return nil
}

// Message is every field of every message of both protocols, for decoding
// whatever arrives: a field absent from the JSON is left zero. Type says
// which fields mean something.
type Message struct {
	Type string `json:"type"`

	// uid protocol
	Name     string `json:"name,omitempty"`
	UID      ID     `json:"uid,omitzero"`
	FromUID  ID     `json:"from_uid,omitzero"`
	ToUID    ID     `json:"to_uid,omitzero"`
	UserList []User `json:"user_list,omitempty"`

	// room protocol
	ClientName     string            `json:"client_name,omitempty"`
	RoomID         ID                `json:"room_id,omitzero"`
	ClientID       string            `json:"client_id,omitempty"`
	ToClientID     string            `json:"to_client_id,omitempty"`
	ToClientName   string            `json:"to_client_name,omitempty"`
	FromClientID   string            `json:"from_client_id,omitempty"`
	FromClientName string            `json:"from_client_name,omitempty"`
	ClientList     map[string]string `json:"client_list,omitempty"`

	// both
	Content string `json:"content,omitempty"`
	Time    string `json:"time,omitempty"`
}

// User is one entry of the uid protocol's user_list.
type User struct {
	UID  int64  `json:"uid"`
	Name string `json:"name"`
}

// The uid protocol, client to server.

// UIDLogin is {"type":"login","name":"mynick"}.
type UIDLogin struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// UIDSay is {"type":"say","to_uid":"all"|N,"content":"..."}.
type UIDSay struct {
	Type    string `json:"type"`
	ToUID   ID     `json:"to_uid"`
	Content string `json:"content"`
}

// The uid protocol, server to client.

// UIDUserList goes to a user who has just logged in.
type UIDUserList struct {
	Type     string `json:"type"`
	UserList []User `json:"user_list"`
}

// UIDLoginNotice goes to everyone when a user logs in.
type UIDLoginNotice struct {
	Type string `json:"type"`
	UID  int64  `json:"uid"`
	Name string `json:"name"`
	Time string `json:"time"`
}

// UIDSayNotice carries a message to everyone, or to the one user named.
type UIDSayNotice struct {
	Type    string `json:"type"`
	FromUID int64  `json:"from_uid"`
	ToUID   ID     `json:"to_uid"`
	Content string `json:"content"`
	Time    string `json:"time"`
}

// UIDLogout goes to everyone when a user leaves.
type UIDLogout struct {
	Type string `json:"type"`
	UID  int64  `json:"uid"`
	Time string `json:"time"`
}

// The room protocol, client to server.

// RoomLogin is {"type":"login","client_name":"alice","room_id":1}; room_id may be a number or a string.
type RoomLogin struct {
	Type       string `json:"type"`
	ClientName string `json:"client_name"`
	RoomID     ID     `json:"room_id"`
}

// RoomSay is {"type":"say","to_client_id":"all"|id,"to_client_name":"...","content":"..."}.
type RoomSay struct {
	Type         string `json:"type"`
	ToClientID   string `json:"to_client_id"`
	ToClientName string `json:"to_client_name"`
	Content      string `json:"content"`
}

// RoomPong answers a ping: {"type":"pong"}.
type RoomPong struct {
	Type string `json:"type"`
}

// The room protocol, server to client.

// RoomLoginNotice goes to the room when someone joins; the joiner's copy
// also carries ClientList (itself included).
type RoomLoginNotice struct {
	Type       string            `json:"type"`
	ClientID   string            `json:"client_id"`
	ClientName string            `json:"client_name"`
	Time       string            `json:"time"`
	ClientList map[string]string `json:"client_list,omitempty"`
}

// RoomSayNotice carries a message to the room, or to its target (and an echo to the sender).
type RoomSayNotice struct {
	Type           string `json:"type"`
	FromClientID   string `json:"from_client_id"`
	FromClientName string `json:"from_client_name"`
	ToClientID     string `json:"to_client_id"`
	Content        string `json:"content"`
	Time           string `json:"time"`
}

// RoomLogout goes to the room when someone leaves.
type RoomLogout struct {
	Type           string `json:"type"`
	FromClientID   string `json:"from_client_id"`
	FromClientName string `json:"from_client_name"`
	Time           string `json:"time"`
}

// RoomPing is the server's keep-alive, {"type":"ping"}, sent every PingInterval.
type RoomPing struct {
	Type string `json:"type"`
}

// TimeLayout is the layout of every "time" field: PHP's date('Y-m-d H:i:s').
const TimeLayout = "2006-01-02 15:04:05"
