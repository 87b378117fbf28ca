#!/usr/bin/env bash
# captures.sh remakes chatsniff's real captures in testdata/.
#
# For each capture it starts the real capture tool on loopback, runs one
# scenario of traffic.js (a ws server and ws clients on PORT), stops the
# tool with SIGINT so it flushes and closes the file cleanly, and checks with
# tshark that the file holds WebSocket frames.
#
# usage: testdata/make/captures.sh [NAME...]   (default: all captures)
# Needs: root (or capture rights), tcpdump, dumpcap, tshark, editcap,
# openssl, node and npm.
#
# The tls* scenarios are wss://: node writes the TLS secrets with
# --tls-keylog into NAME.keys beside the capture, and
# tls12-chacha-secrets-lo.pcapng is tls12-chacha-lo.pcap with that key log
# embedded by editcap --inject-secrets (a Decryption Secrets Block).
# PORT (default 7272) must be free: anything else on it would be captured too.
#
# The captures are not byte-for-byte reproducible (ports, masking keys,
# timestamps and "time" fields change), so remaking one means reviewing and
# regenerating its goldens too.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/.." && pwd)
port=${PORT:-7272}

# name  tool  link-type  host  scenario
captures=(
	"uid-plain-any.pcap        tcpdump LINUX_SLL2 127.0.0.1 uid-plain"
	"room-deflate-lo.pcap      tcpdump EN10MB     127.0.0.1 room-deflate"
	"room-nocontext-lo6.pcapng dumpcap EN10MB     ::1       room-nocontext"
	"room-plain-sll6.pcap      tcpdump LINUX_SLL  ::1       room-plain"
	"tls12-gcm-any.pcap        tcpdump LINUX_SLL2 127.0.0.1 tls12-gcm"
	"tls12-chacha-lo.pcap      tcpdump EN10MB     127.0.0.1 tls12-chacha"
)

die() {
	echo "captures.sh: $*" >&2
	exit 1
}

for tool in tcpdump dumpcap tshark editcap openssl node npm ss; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

if ss -Htan exclude time-wait "( sport = :$port or dport = :$port )" | grep -q .; then
	die "port $port is in use; stop what uses it or set PORT"
fi

if [ ! -d "$here/node_modules/ws" ]; then
	(cd "$here" && npm ci --no-audit --no-fund) || die "npm ci failed"
fi

tmp=$(mktemp -d)
cappid=
cleanup() {
	# A capture tool left running would hold the interface and the file.
	if [ -n "$cappid" ] && kill -0 "$cappid" 2>/dev/null; then
		kill -INT "$cappid" 2>/dev/null || true
		wait "$cappid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for FILE TEXT: wait until the capture tool says it is capturing, so
# that the first SYN is not missed.
wait_for() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$cappid" 2>/dev/null || die "capture tool exited: $(cat "$1")"
		sleep 0.1
	done
	die "capture tool did not start: $(cat "$1")"
}

make_one() {
	local name=$1 tool=$2 link=$3 host=$4 scenario=$5
	local file="$tmp/$name" log="$tmp/$name.log"
	local filter="tcp port $port"

	case $tool in
	tcpdump)
		if [ "$link" = EN10MB ]; then
			tcpdump -i lo -U -w "$file" "$filter" 2>"$log" &
		else
			tcpdump -i any -y "$link" -U -w "$file" "$filter" 2>"$log" &
		fi
		cappid=$!
		wait_for "$log" "listening on"
		;;
	dumpcap)
		dumpcap -i lo -f "$filter" -w "$file" 2>"$log" &
		cappid=$!
		wait_for "$log" "Capturing on"
		;;
	*) die "unknown tool $tool" ;;
	esac

	local keys= dissect="http"
	case $scenario in
	tls*)
		# A certificate for the scenario's server, made once per run.
		if [ ! -f "$tmp/cert.pem" ]; then
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
				-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=localhost \
				-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" 2>/dev/null || die "openssl failed"
		fi
		keys="$tmp/${name%.*}.keys"
		dissect="tls"
		TLS_CERT="$tmp/cert.pem" TLS_KEY="$tmp/key.pem" node --tls-keylog="$keys" "$here/traffic.js" "$scenario" "$host" "$port" ||
			die "$name: traffic.js $scenario failed"
		;;
	*)
		node "$here/traffic.js" "$scenario" "$host" "$port" || die "$name: traffic.js $scenario failed"
		;;
	esac
	# Let the last FIN/ACK reach the capture buffer before stopping (and
	# tcpdump's ring buffer block time out: on lo it may hold them 1 s).
	sleep 1.5
	kill -INT "$cappid"
	wait "$cappid" || true
	cappid=
	cat "$log" >&2

	local frames
	frames=$(tshark -r "$file" -d "tcp.port==$port,$dissect" -d "tls.port==$port,http" ${keys:+-o "tls.keylog_file:$keys"} -Y websocket 2>/dev/null | wc -l)
	[ "$frames" -gt 0 ] || die "$name: tshark sees no WebSocket frames"
	# tcpdump writes the file as its unprivileged user and dumpcap with mode
	# 0600: make the result an ordinary file of the tree.
	chmod 0644 "$file"
	chown "$(id -u):$(id -g)" "$file"
	mv "$file" "$out/$name"
	echo "captures.sh: wrote testdata/$name ($(stat -c %s "$out/$name") bytes, $frames packets with WebSocket frames)" >&2
	if [ -n "$keys" ]; then
		cp "$keys" "$out/${name%.*}.keys"
		chmod 0644 "$out/${name%.*}.keys"
		echo "captures.sh: wrote testdata/${name%.*}.keys ($(wc -l <"$keys") lines)" >&2
	fi
	if [ "$name" = tls12-chacha-lo.pcap ]; then
		editcap --inject-secrets "tls,$keys" "$out/$name" "$out/tls12-chacha-secrets-lo.pcapng" || die "editcap --inject-secrets failed"
		chmod 0644 "$out/tls12-chacha-secrets-lo.pcapng"
		echo "captures.sh: wrote testdata/tls12-chacha-secrets-lo.pcapng (its key log embedded)" >&2
	fi
}

want=("$@")
for line in "${captures[@]}"; do
	read -r name tool link host scenario <<<"$line"
	if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then
		continue
	fi
	make_one "$name" "$tool" "$link" "$host" "$scenario"
	sleep 0.5
done
