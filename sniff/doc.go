// Package sniff runs the pipeline: packets from a capture.Source are decoded
// to TCP, reassembled, decoded to WebSocket events and handed to a renderer,
// in one loop, with the counts for the closing summary.
package sniff
