// Package sniff runs the pipeline: packets from a capture.Source are decoded
// to TCP, reassembled, decoded to WebSocket events, read as chat and handed
// to a renderer, with the counts for the closing summary.
//
// Live capture runs it all in one loop and flushes after every packet. A
// file is read with a fixed set of goroutines, none per connection: one
// reads ahead (prefetch.go), the main loop reassembles and decodes, and the
// events then pass through chat parsing, naming, formatting and writing
// stages (async.go), the parallel ones one goroutine per core, the output
// byte for byte the same.
package sniff
