package capture

import (
	"errors"
	"slices"
	"testing"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in   string
		want []uint16
		err  string
	}{
		{in: "7272", want: []uint16{7272}},
		{in: "7272,8080", want: []uint16{7272, 8080}},
		{in: " 8080 , 7272,7272 ", want: []uint16{7272, 8080}},
		{in: "", want: nil},
		{in: "1,65535", want: []uint16{1, 65535}},
		{in: "0", err: "bad port 0: out of range 1-65535"},
		{in: "65536", err: "bad port 65536: out of range 1-65535"},
		{in: "7272,99999999999999999999", err: "bad port 99999999999999999999: out of range 1-65535"},
		{in: "http", err: `bad port "http": not a number`},
		{in: "-1", err: `bad port "-1": not a number`},
		{in: "7272,", err: `bad port list "7272,": empty item`},
	}
	for _, tc := range tests {
		got, err := ParsePorts(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !errors.Is(err, ErrBadPort) {
				t.Errorf("ParsePorts(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestLiveOptionsChecks(t *testing.T) {
	tests := []struct {
		opts LiveOptions
		err  string
	}{
		{LiveOptions{Ports: []uint16{7272, 0}}, "bad port 0: out of range 1-65535"},
		{LiveOptions{Ports: func() []uint16 {
			p := make([]uint16, MaxPorts+1)
			for i := range p {
				p[i] = uint16(i + 1)
			}
			return p
		}()}, "bad port list: 101 ports, at most 100"},
		{LiveOptions{Snaplen: -1}, "live capture: snaplen -1 below 0"},
		{LiveOptions{BufferMB: -2}, "live capture: buffer size -2 MB below 0"},
		{LiveOptions{Timeout: -1}, "live capture: timeout -1ns below 0"},
	}
	for _, tc := range tests {
		if _, err := OpenLive(tc.opts); err == nil || err.Error() != tc.err {
			t.Errorf("OpenLive(%+v) = %v, want %q", tc.opts, err, tc.err)
		}
	}
	o, err := LiveOptions{Snaplen: 1 << 30}.withDefaults()
	if err != nil || o.Interface != "any" || o.Snaplen != MaxSnaplen || o.BufferMB != DefaultBufferMB || o.Timeout != DefaultTimeout {
		t.Errorf("defaults: %+v %v", o, err)
	}
}
