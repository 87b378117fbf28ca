// Package decode turns a TCP connection's reassembled byte streams into
// typed events: the HTTP/1.1 upgrade, RFC 6455 WebSocket frames and messages
// (unmasked, joined, inflated per RFC 7692), and workerman-chat JSON.
//
// Client frames are unmasked in one place, Mask in mask.go.
package decode
