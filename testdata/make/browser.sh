#!/usr/bin/env bash
# browser.sh remakes testdata/chromium-tls13-any.pcap and its key log: the
# bundled server with --tls (wss:// on 7272, its page over https on 55151,
# a self-signed certificate), headless Chromium driven through a chat on
# the page by ./browser with SSLKEYLOGFILE set, and tcpdump -i any (SLL2)
# writing the WebSocket port. Chromium's key log becomes
# chromium-tls13-any.keys.
#
# usage: testdata/make/browser.sh        (from anywhere; needs root,
#        tcpdump, tshark, chromium and Go; ports 7272 and 55151 free)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/.." && pwd)
root=$(cd "$out/.." && pwd)
name=chromium-tls13-any

die() {
	echo "browser.sh: $*" >&2
	exit 1
}
for tool in tcpdump tshark chromium go; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && go build -o "$tmp/chatsniff" ./cmd/chatsniff && go build -o "$tmp/browser" ./testdata/make/browser)

tcpdump -i any -U -w "$tmp/$name.pcap" tcp port 7272 2>"$tmp/tcpdump.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$tmp/tcpdump.log" && break; sleep 0.1; done

"$tmp/chatsniff" serve --tls --ws 127.0.0.1:7272 --http 127.0.0.1:55151 2>"$tmp/serve.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "msg=websocket" "$tmp/serve.log" && break; sleep 0.1; done

SSLKEYLOGFILE="$tmp/$name.keys" "$tmp/browser" https://127.0.0.1:55151/ || die "browser failed: $(cat "$tmp/serve.log")"
# Let the last FIN/ACK reach the capture, and tcpdump's ring buffer block
# time out, before stopping.
sleep 1.5
for p in "${pids[@]}"; do kill -INT "$p"; done
wait || true
pids=()

frames=$(tshark -r "$tmp/$name.pcap" -d tcp.port==7272,tls -d tls.port==7272,http -o "tls.keylog_file:$tmp/$name.keys" -Y websocket 2>/dev/null | wc -l)
[ "$frames" -gt 0 ] || die "tshark sees no WebSocket frames"
# The key log holds the secrets of every TLS connection Chromium made:
# keep those of the captured ones only (their client randoms are in the
# capture), so the file says what it is for.
tshark -r "$tmp/$name.pcap" -d tcp.port==7272,tls -Y tls.handshake.type==1 -T fields -e tls.handshake.random 2>/dev/null | tr -d : >"$tmp/randoms"
grep -F -f "$tmp/randoms" "$tmp/$name.keys" >"$out/$name.keys" || die "no key of a captured connection"
chmod 0644 "$tmp/$name.pcap" "$out/$name.keys"
chown "$(id -u):$(id -g)" "$tmp/$name.pcap"
mv "$tmp/$name.pcap" "$out/$name.pcap"
echo "browser.sh: wrote testdata/$name.pcap ($(stat -c %s "$out/$name.pcap") bytes, $frames packets with WebSocket frames) and $name.keys ($(wc -l <"$out/$name.keys") lines)" >&2
