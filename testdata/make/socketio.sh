#!/usr/bin/env bash
# socketio.sh remakes chatsniff's real Socket.IO captures in testdata/
# (issue 14).
#
# For each capture it starts the real capture tool on loopback, runs one
# scenario of socketio.js (a socket.io server and socket.io-client clients,
# the real npm packages, on PORT), stops the tool with SIGINT so it flushes
# and closes the file cleanly, and checks with tshark that the file holds
# what the README says: it prints the HTTP requests and responses (long
# polling, the upgrade, the page) and the WebSocket messages, and fails if
# an expected Engine.IO or Socket.IO packet is missing.
#
# usage: testdata/make/socketio.sh [NAME...]   (default: all captures)
# Needs: root (or capture rights), tcpdump, dumpcap, tshark, node and npm;
# chromium and go for chromium-socketio-lo.pcap (./browser -mode socketio).
# PORT (default 3000, socket.io's examples' port) must be free: anything
# else on it would be captured too.
#
# The captures are not byte-for-byte reproducible (ports, sids, masking
# keys, timestamps, and where the heartbeats fall change), so remaking one
# means reviewing and regenerating its goldens too.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/.." && pwd)
root=$(cd "$out/.." && pwd)
port=${PORT:-3000}

# name  tool  link-type  host  scenario
captures=(
	"socketio-ws-any.pcap      tcpdump LINUX_SLL2 127.0.0.1 ws"
	"socketio-polling-lo.pcap  tcpdump EN10MB     127.0.0.1 polling"
	"socketio2-lo6.pcapng      dumpcap EN10MB     ::1       v2"
	"chromium-socketio-lo.pcap tcpdump EN10MB     127.0.0.1 chromium"
)

die() {
	echo "socketio.sh: $*" >&2
	exit 1
}

for tool in tcpdump dumpcap tshark node npm ss; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

if ss -Htan exclude time-wait "( sport = :$port or dport = :$port )" | grep -q .; then
	die "port $port is in use; stop what uses it or set PORT"
fi

if [ ! -d "$here/node_modules/socket.io" ] || [ ! -d "$here/node_modules/socket.io-v2" ]; then
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

# show FILE: what is on the wire, as tshark 4.0 shows it. HTTP: the
# requests (method, URI, Content-Type, Accept-Encoding) and responses
# (status, Content-Type, Content-Encoding, and the body as tshark gives it,
# inflated, up to 160 characters; the page's script is left out);
# WebSocket: one line a frame, c→s or s→c, opcode, text (or the binary
# payload in hex, or the close code).
show() {
	local file=$1
	tshark -r "$file" -d "tcp.port==$port,http" -Y http -T fields -E occurrence=f \
		-e frame.number -e tcp.stream -e tcp.srcport -e http.request.method -e http.request.uri \
		-e http.content_type -e http.accept_encoding -e http.response.code -e http.content_encoding -e http.file_data 2>/dev/null |
		awk -F'\t' -v port="$port" '{
			dir = ($3 == port) ? "s→c" : "c→s"
			body = $10
			if ($5 ~ /socket\.io\.js/ || $6 ~ /javascript/) body = "(script)"
			if (length(body) > 160) body = substr(body, 1, 160) "…"
			if ($4 != "") printf "  http %s #%s %s %s %s [%s] [ae: %s] %s\n", $1, $2, dir, $4, $5, $6, $7, body
			else printf "  http %s #%s %s %s [%s] [ce: %s] %s\n", $1, $2, dir, $8, $6, $9, body
		}'
	tshark -r "$file" -d "tcp.port==$port,http" -Y websocket -T fields -E occurrence=a -E aggregator='|' \
		-e frame.number -e tcp.stream -e tcp.srcport -e websocket.opcode -e websocket.payload.text -e data.data \
		-e websocket.payload.close.status_code 2>/dev/null |
		awk -F'\t' -v port="$port" '{
			dir = ($3 == port) ? "s→c" : "c→s"
			printf "  ws   %s #%s %s op %s %s%s%s\n", $1, $2, dir, $4, $5, ($6 != "" ? "bin " $6 : ""), ($7 != "" ? "close " $7 : "")
		}'
}

# expect FILE LISTING PATTERN...: fail unless each (grep -E) pattern is in
# the listing; the capture that failed is kept in /tmp to look at.
expect() {
	local file=$1 listing=$2
	shift 2
	for pat in "$@"; do
		if ! grep -qE -- "$pat" "$listing"; then
			cp "$file" "/tmp/failed-$(basename "$file")"
			die "$(basename "$file"): tshark shows no $pat (the capture is kept as /tmp/failed-$(basename "$file"))"
		fi
	done
}

make_one() {
	local name=$1 tool=$2 link=$3 host=$4 scenario=$5
	local file="$tmp/$name" log="$tmp/$name.log"
	local filter="tcp port $port"

	if [ "$scenario" = chromium ]; then
		command -v chromium >/dev/null || die "chromium is not installed"
		command -v go >/dev/null || die "go is not installed"
		(cd "$root" && go build -o "$tmp/browser" ./testdata/make/browser) || die "go build ./testdata/make/browser failed"
	fi

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

	BROWSER="$tmp/browser" node "$here/socketio.js" "$scenario" "$host" "$port" || die "$name: socketio.js $scenario failed"
	# Let the last FIN/ACK reach the capture buffer before stopping (and
	# tcpdump's ring buffer block time out: on lo it may hold them 1 s).
	sleep 1.5
	kill -INT "$cappid"
	wait "$cappid" || true
	cappid=
	cat "$log" >&2

	local listing="$tmp/$name.txt"
	show "$file" >"$listing"
	cat "$listing" >&2
	local frames requests packets
	frames=$(tshark -r "$file" -d "tcp.port==$port,http" -Y websocket 2>/dev/null | wc -l)
	requests=$(tshark -r "$file" -d "tcp.port==$port,http" -Y http.request 2>/dev/null | wc -l)
	packets=$(tshark -r "$file" 2>/dev/null | wc -l)
	[ "$frames" -gt 0 ] || die "$name: tshark sees no WebSocket frames"
	# What each capture must hold (see ../README.md).
	case $scenario in
	ws)
		expect "$file" "$listing" 'GET /socket\.io/\?EIO=4&transport=websocket' \
			's→c op 1 0\{"sid":' 'c→s op 1 40$' 's→c op 1 40\{"sid":' \
			'c→s op 1 42\["add user","alice"\]' 's→c op 1 42\["login",\{"numUsers":1\}\]' \
			's→c op 1 42\["user joined",\{"username":"bob","numUsers":2\}\]' \
			'c→s op 1 42\["typing"\]' 's→c op 1 42\["stop typing",\{"username":"alice"\}\]' \
			'c→s op 1 42[0-9]+\["new message","hello bob"\]' 's→c op 1 43[0-9]+\["delivered"\]' \
			's→c op 1 42\["new message",\{"username":"alice","message":"hello bob"\}\]' \
			'c→s op 1 42\["chat message","hello from carol"\]' \
			's→c op 1 42\["room message",\{"username":"bob","message":"only for room1"\}\]' \
			's→c op 1 42[0-9]+\["ping\?","are you there\?"\]' 'c→s op 1 43[0-9]+\["pong!"\]' \
			'c→s op 1 451-[0-9]+\["upload",\{"name":"a.txt","data":\{"_placeholder":true,"num":0\}\}\]' 'c→s op 2 bin 68656c6c6f' \
			's→c op 1 451-\["upload",\{"username":"alice","name":"a.txt","data":\{"_placeholder":true,"num":0\}\}\]' 's→c op 2 bin 68656c6c6f' \
			'c→s op 1 40/chat,$' 's→c op 1 40/chat,\{"sid":' 's→c op 1 42/chat,\["chat message","hello /chat"\]' \
			's→c op 1 2$' 'c→s op 1 3$' 'c→s op 1 41/chat,$' 'c→s op 1 41$' \
			's→c op 1 42\["user left",\{"username":"bob","numUsers":1\}\]' 'op 8'
		;;
	polling)
		expect "$file" "$listing" 'GET /socket\.io/\?EIO=4&transport=polling&t=[^ ]* \[' \
			'POST /socket\.io/\?EIO=4&transport=polling&t=[^ ]*&sid=' 'GET /socket\.io/\?EIO=4&transport=websocket&sid=' \
			'200 \[text/plain; charset=UTF-8\] \[ce: \] 0\{"sid":' \
			'c→s op 1 2probe' 's→c op 1 3probe' 'c→s op 1 5$' '\] 6$' \
			'\[ae: gzip, deflate\]' '\[ce: gzip\] 42\["history"' \
			'POST .* 451-[0-9]+\["upload",\{"name":"b.bin","data":\{"_placeholder":true,"num":0\}\}\]' \
			'POST .* bAAECA/7/$' 's→c 200 .* 451-\["upload",\{"username":"erin"' 's→c 200 .* bAAECA/7/' \
			's→c op 2 bin 00010203feff' \
			'40/chat,' '42/chat,\["chat message","erin on /chat"\]' \
			'43[0-9]+\["pong!"\]' 's→c op 1 2$' 'c→s op 1 3$' '\] 1$'
		;;
	v2)
		# Node's socket.io-client 2 asks for base64 (b64=1): its XHR
		# (xmlhttprequest-ssl 1.6) has no responseType, so no binary payloads.
		expect "$file" "$listing" 'GET /socket\.io/\?EIO=3&transport=polling&t=[^ ]*&b64=1 \[' \
			'GET /socket\.io/\?EIO=3&transport=websocket&sid=' ' 94:0\{"sid":"[^"]*","upgrades":\["websocket"\],"pingInterval":500,"pingTimeout":1000\}2:40$' \
			'c→s op 1 2probe' 's→c op 1 3probe' 'c→s op 1 5$' '\] 1:6$' \
			'c→s op 1 42[0-9]+\["new message","hello hank, 你好"\]' 's→c op 1 43[0-9]+\["delivered"\]' \
			's→c op 1 42[0-9]+\["ping\?","are you there\?"\]' 'c→s op 1 43[0-9]+\["pong!"\]' \
			'c→s op 1 451-[0-9]+\["upload"' 'c→s op 2 bin 0468656c6c6f' 's→c op 2 bin 0400010203feff' \
			'POST .* [0-9]+:451-[0-9]+\["upload",\{"name":"b.bin"' 'POST .* 10:b4AAECA/7/$' 's→c 200 .* 10:b4aGVsbG8=$' \
			'c→s op 1 40/chat,$' 's→c op 1 40/chat,$' 'c→s op 1 2$' 's→c op 1 3$' 'POST .* 1:2$' 's→c 200 .* 1:3$' \
			'POST .* 2:41$' 'POST .* 1:1$'
		;;
	chromium)
		expect "$file" "$listing" 'GET / \[' 'GET /socket\.io/socket\.io\.js' '\[ce: gzip\] \(script\)' \
			'GET /socket\.io/\?EIO=4&transport=polling' 'GET /socket\.io/\?EIO=4&transport=websocket&sid=' \
			'c→s op 1 2probe' 'c→s op 1 5$' \
			'c→s op 1 42\["chat message","hello from chromium"\]' \
			's→c op 1 42\["chat message","ça va\? 你好 🙂"\]' \
			'c→s op 1 42\["chat message","third & last <message>"\]' \
			'c→s op 1 42\["chat message","hello chromium, from node"\]'
		;;
	esac
	# tcpdump writes the file as its unprivileged user and dumpcap with mode
	# 0600: make the result an ordinary file of the tree.
	chmod 0644 "$file"
	chown "$(id -u):$(id -g)" "$file"
	mv "$file" "$out/$name"
	echo "socketio.sh: wrote testdata/$name ($(stat -c %s "$out/$name") bytes, $packets packets, $requests HTTP requests, $frames packets with WebSocket frames)" >&2
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
