#!/usr/bin/env bash
# Issue 7's load points: `chatsniff serve` driven by `chatsniff bots --load`
# on this machine, both on loopback. Prints one report line per point.
#
#   bash chatserver/load.sh              # every point, about 4 minutes
#   RAMP=1 bash chatserver/load.sh       # also ramp to the highest clean rate (p99 <= 100 ms)
#   DURATION=10s ADDR=127.0.0.1:17272    # seconds per point, server address
set -euo pipefail
cd "$(dirname "$0")/.."

addr=${ADDR:-127.0.0.1:17272}
duration=${DURATION:-10s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/chatsniff
go build -o "$bin" ./cmd/chatsniff

# point NAME PROTOCOL CLIENTS RATE [bots flags...]; SERVE_FLAGS for the server.
point() {
	local name=$1 proto=$2 n=$3 rate=$4
	shift 4
	# shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
	"$bin" serve --ws "$addr" --http - --protocol "$proto" --log-level warn ${SERVE_FLAGS:-} 2>"$tmp/serve.log" &
	local pid=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null && break
		sleep 0.05
	done
	echo "-- $name: $proto, $n clients, $rate msg/s $*"
	"$bin" bots --load -n "$n" --rate "$rate" --protocol "$proto" --duration "$duration" \
		--server-pid "$pid" "$@" "ws://$addr/" | grep -v '^bots:' || true
	kill "$pid"
	wait "$pid" || true
	grep -h 'client dropped' "$tmp/serve.log" | head -3 || true
}

uptime
echo "== 1. one room, 64-byte messages, 200,000 deliveries/s (deflate not negotiated)"
for proto in room uid; do
	point "50 clients" "$proto" 50 4000
	point "200 clients" "$proto" 200 1000
	point "1000 clients" "$proto" 1000 200
done
echo "== 1'. the same with permessage-deflate (server compresses once per broadcast, bots inflate)"
point "50 clients" room 50 4000 --deflate
point "200 clients" room 200 1000 --deflate
point "1000 clients" room 1000 200 --deflate
echo "== 2. 10,000 clients in 100 rooms, low rate; RSS per connection"
point "10k clients" room 10000 100 --rooms 100 --connect 100
echo "== 3. one stalled client among 200"
point "stalled" room 200 1000 --stall 1
if [ -n "${RAMP:-}" ]; then
	echo "== ramps: highest clean rate, p99 <= 100 ms"
	point "50 clients" room 50 8000 --ramp --clean-p99 100ms --ramp-steps 8
	point "200 clients" room 200 2000 --ramp --clean-p99 100ms --ramp-steps 8
	point "1000 clients" room 1000 400 --ramp --clean-p99 100ms --ramp-steps 8
fi
uptime
