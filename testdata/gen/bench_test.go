package main

import (
	"io"
	"testing"
	"time"
)

func BenchmarkGenerate(b *testing.B) {
	for _, deflate := range []bool{false, true} {
		name := "plain"
		if deflate {
			name = "deflate"
		}
		b.Run(name, func(b *testing.B) {
			o := options{Out: "-", Expect: "-", Size: 20e6, Conns: 1000, Alive: 100, Protocol: "room",
				MSS: 1448, Deflate: deflate, Link: "ethernet", Seed: 1, IPv6: 0.1, HTTP: 0.05, Huge: 2000, Short: 70,
				Start: time.Date(2026, 11, 24, 18, 42, 0, 0, time.UTC)}
			if err := o.check(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(o.Size))
			for b.Loop() {
				if _, err := generate(io.Discard, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
