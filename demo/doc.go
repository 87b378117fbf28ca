// Package demo runs the bundled server, bots and a live capture together on
// loopback: `chatsniff demo`, the one command that shows the whole tool on a
// fresh machine. It starts a workerman-chat compatible server on 127.0.0.1
// (workerman-chat's ports 7272 and 55151 when they are free), captures the
// server port live on lo before anyone connects (so every upgrade is seen),
// lets a few bots chat (deflated and plain connections, non-ASCII text, and
// one user who only sends private messages), prints what the sniffer
// decodes as it happens, and stops after a while or on Ctrl-C with the
// capture summary.
package demo
