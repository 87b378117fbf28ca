// Package tlsdecrypt turns the TLS records of reassembled TCP streams into
// plaintext streams, with secrets from a key log.
//
// It sits between reassembly and decode: a Handler wraps the decoder's
// reassembly.Handler, and each connection's Conn reads its first bytes. A
// client whose first bytes are a handshake record holding a ClientHello is
// TLS, on any port; anything else goes straight through to the inner Conn,
// one branch and one call per Data, which is the path of every ws://
// connection. Decrypting here, before the WebSocket decoder, keeps that
// decoder blind to TLS: it sees the same byte streams, with gaps, as for
// plaintext, and hears of TLS only through the optional Conn interface
// (TLS once, before any plaintext; TLSError for problems to show).
//
// Secrets come from an NSS key log (SSLKEYLOGFILE, as browsers, Node and
// Go's crypto/tls write it), read whole, followed as it grows (live
// capture: KeyLog.Follow, Refresh), or from a pcapng Decryption Secrets
// Block. The key exchange does not matter, since the log holds the master
// or traffic secrets. Supported:
//
//   - TLS 1.3 with TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and
//     TLS_CHACHA20_POLY1305_SHA256: handshake keys until each side's
//     Finished, then the application keys, KeyUpdate followed;
//     HelloRetryRequest; with only the traffic secrets in the log the
//     handshake is skipped (each record is tried with the application key
//     until one opens). 0-RTT data is skipped, with one TLSError.
//   - TLS 1.2 with the AES-GCM and ChaCha20-Poly1305 suites of any key
//     exchange (keys.go, suiteByID), each direction from its
//     change_cipher_spec; resumption, including Go's, which logs no secret
//     for a resumed connection: session tickets and IDs are remembered
//     with the master secret of the connection that made them
//     (MaxResumptions).
//   - Anything else (CBC, CCM, RC4, SSL 3, renegotiation) is reported
//     undecrypted with a reason, and its bytes are dropped.
//
// Files: keylog.go (the key log), handshake.go (hellos, extensions,
// messages joined across records), keys.go (suites, HKDF-Expand-Label, the
// TLS 1.2 PRF, opening a record), tls.go (record framing, decryption,
// resync), handler.go (the Handler, telling TLS from plaintext, holding).
//
// Limits: a record's length field is checked before anything is kept
// (16 KiB + 256 in TLS 1.3, + 2048 otherwise; over it is a TLSError); a
// record split across Data calls is copied into a reused buffer of the
// direction, whole records are opened straight from the Data slice into
// one reused output buffer, and the records of one Data call go to the
// inner Conn in one call (up to MaxBatch): no allocation per record.
// Handshake messages that are parsed are kept up to MaxHandshakeMessage;
// others (certificates) are skipped by length. Key log lines are bounded
// by MaxKeyLogLine, randoms by MaxKeyLogRandoms. With Options.Wait a
// connection whose key is missing has its calls held, up to MaxHoldConn
// and MaxHoldTotal, until its key is read or the wait ends.
//
// Resync: a record that fails authentication is one TLSError per run of
// failures and one inner Gap; the following records are tried with the
// expected sequence number and ResyncWindow later ones, and the first that
// opens resumes there. After a reassembly gap or a header that cannot be
// right, the direction's framing is lost: its bytes are scanned for a
// plausible application data header (the header after it lining up, when
// there) and that record is tried with sequence numbers from an estimate
// of the records lost; bytes are dropped until one opens. The AEAD work
// such tries cost is paid for by the bytes scanned (scanBudget), so
// crafted bytes cannot make it unbounded.
package tlsdecrypt
