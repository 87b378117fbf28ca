// Package tlsdecrypt turns the TLS records of reassembled TCP streams into
// plaintext streams, with secrets from a key log.
package tlsdecrypt
