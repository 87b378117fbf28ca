#!/usr/bin/env bash
# violations.sh makes chatsniff's captures of RFC 6455 violations.
#
# For each capture it starts tcpdump on loopback, runs one group of
# scenarios of violations/main.go (a raw Go server and a raw Go client on
# 127.0.0.1:PORT, one connection per scenario), stops tcpdump with SIGINT so
# it closes the file cleanly, and checks with tshark that the file holds
# WebSocket frames.
#
# usage: testdata/make/violations.sh [NAME...]   (default: all three)
# Needs: root (or capture rights), go, tcpdump, tshark, ss.
# PORT (default 7272) must be free: anything else on it would be captured too.
# OUT (default testdata/make/out, not committed) is where the files go: they
# move to testdata/ by hand, since every capture there needs goldens.
#
# Payloads and masking keys are fixed; ports and timestamps change from run
# to run, so a remade capture needs its goldens reviewed and regenerated.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
port=${PORT:-7272}
out=${OUT:-$here/out}

# name  interface  link-type  group
captures=(
	"violations-client-lo.pcap     lo  EN10MB     client"
	"violations-server-lo.pcap     lo  EN10MB     server"
	"violations-handshake-any.pcap any LINUX_SLL2 handshake"
)

die() {
	echo "violations.sh: $*" >&2
	exit 1
}

for tool in go tcpdump tshark ss; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

if ss -Htan exclude time-wait "( sport = :$port or dport = :$port )" | grep -q .; then
	die "port $port is in use; stop what uses it or set PORT"
fi

tmp=$(mktemp -d)
cappid=
cleanup() {
	# A tcpdump left running would hold the interface and the file.
	if [ -n "$cappid" ] && kill -0 "$cappid" 2>/dev/null; then
		kill -INT "$cappid" 2>/dev/null || true
		wait "$cappid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && go build -o "$tmp/violations" ./testdata/make/violations) || die "go build failed"
mkdir -p "$out"

# wait_for FILE TEXT: wait until tcpdump says it is capturing, so that the
# first SYN is not missed.
wait_for() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$cappid" 2>/dev/null || die "tcpdump exited: $(cat "$1")"
		sleep 0.1
	done
	die "tcpdump did not start: $(cat "$1")"
}

make_one() {
	local name=$1 iface=$2 link=$3 group=$4
	local file="$tmp/$name" log="$tmp/$name.log"

	tcpdump -i "$iface" -y "$link" -U -w "$file" "tcp port $port" 2>"$log" &
	cappid=$!
	wait_for "$log" "listening on"

	"$tmp/violations" -addr "127.0.0.1:$port" "$group" || die "$name: violations $group failed"
	# Let the last FIN/ACK reach the capture buffer before stopping.
	sleep 0.5
	kill -INT "$cappid"
	wait "$cappid" || true
	cappid=
	cat "$log" >&2

	local frames
	frames=$(tshark -r "$file" -d "tcp.port==$port,http" -Y websocket 2>/dev/null | wc -l)
	[ "$frames" -gt 0 ] || die "$name: tshark sees no WebSocket frames"
	# tcpdump writes the file as its unprivileged user: make the result an
	# ordinary file of the tree.
	chmod 0644 "$file"
	chown "$(id -u):$(id -g)" "$file"
	mv "$file" "$out/$name"
	echo "violations.sh: wrote $out/$name ($(stat -c %s "$out/$name") bytes, $frames packets with WebSocket frames)" >&2
}

want=("$@")
for line in "${captures[@]}"; do
	read -r name iface link group <<<"$line"
	if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then
		continue
	fi
	make_one "$name" "$iface" "$link" "$group"
	sleep 0.5
done
