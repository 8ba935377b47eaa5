#!/bin/bash
# make bench — named benchmarks, side by side with the program people would otherwise use, in one
# run, on this machine. Prints medians and ratios and how to reproduce each; docs/BENCHMARKS.md
# records the figures. Everything binds 127.0.0.1 on free ports and is stopped on exit.
#
#   bench/run.sh [name …]      names: http, blocking, idle, db, analyse, import, ratelimit, auth, tls, segments, live,
#                              browse, transcode (default: all)
#   ROUNDS=5 DURATION=10 bench/run.sh http
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${TA_BIN:-$root/build/tonearm}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CONNS=${CONNS:-256}
work=$(mktemp -d "${TMPDIR:-/tmp}/tonearm-bench.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -d "$work/pg" ] && tests/lib/pg.sh stop "$work/pg" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
wait_http() { for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.02; done; return 1; }

# wrk_run URL → prints "rps p99_ms"
wrk_run() {
	local out rps p99
	out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$1" 2>&1)
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<<"$out")
	echo "$rps ${p99:-nan}"
}

start_tonearm() { # port, extra env…
	local port=$1
	shift
	mkdir -p "$work/data-$port"
	# Abuse limits off unless a bench turns them on: wrk from one address is a flood by design.
	env -i PATH="$PATH" HOME="$HOME" TONEARM_RATE_IP_RPS=0 TONEARM_RATE_USER_RPS=0 TONEARM_MAX_CONNS_PER_IP=0 \
		"$@" "$bin" serve --listen "127.0.0.1:$port" --data "$work/data-$port" \
		>"$work/tonearm-$port.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$port/healthz"
}

start_nginx() { # port, root [access log: on|off]
	local log="access_log off;"
	[ "${3:-off}" = on ] && log="log_format j escape=json '{\"time\":\"\$time_iso8601\",\"method\":\"\$request_method\",\"path\":\"\$uri\",\"status\":\$status,\"bytes\":\$bytes_sent,\"duration\":\$request_time,\"peer\":\"\$remote_addr\",\"ua\":\"\$http_user_agent\"}'; access_log $work/nginx/access-$1.log j;"
	mkdir -p "$work/nginx"
	cat >"$work/nginx/nginx-$1.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx-$1.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  $log
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  default_type application/json;
  server { listen 127.0.0.1:$1 reuseport; root $2; }
}
CONF
	nginx -p "$work/nginx" -c "$work/nginx/nginx-$1.conf" -e "$work/nginx/error.log" -g 'daemon off;' &
	pids+=($!)
	wait_http "http://127.0.0.1:$1/version.json"
}

bench_http() {
	echo "== http: small JSON GET at $CONNS connections, tonearm /api/v1/version vs nginx static file of the same size =="
	local tp np
	tp=$(free_port)
	start_tonearm "$tp" TONEARM_ACCESS_LOG=false
	mkdir -p "$work/static"
	curl -fsS "http://127.0.0.1:$tp/api/v1/version" >"$work/static/version.json"
	np=$(free_port)
	start_nginx "$np" "$work/static"
	echo "body: $(wc -c <"$work/static/version.json") bytes; $ROUNDS rounds of ${DURATION}s, alternating"
	: >"$work/t" ; : >"$work/n"
	for _ in $(seq 1 "$ROUNDS"); do
		wrk_run "http://127.0.0.1:$tp/api/v1/version" >>"$work/t"
		wrk_run "http://127.0.0.1:$np/version.json" >>"$work/n"
	done
	local trps np_rps tp99 np99
	trps=$(cut -d' ' -f1 "$work/t" | median); np_rps=$(cut -d' ' -f1 "$work/n" | median)
	tp99=$(cut -d' ' -f2 "$work/t" | median); np99=$(cut -d' ' -f2 "$work/n" | median)
	printf 'tonearm  %10.0f req/s  p99 %7.2f ms\n' "$trps" "$tp99"
	printf 'nginx    %10.0f req/s  p99 %7.2f ms\n' "$np_rps" "$np99"
	printf 'ratio    %10.2fx req/s (target >= 1.0)   p99 %.2fx (target <= 1.0)\n' \
		"$(echo "$trps / $np_rps" | bc -l)" "$(echo "$tp99 / $np99" | bc -l)"
	# The same with both writing an access log line per request to a file.
	: >"$work/tl"; : >"$work/nl"
	local tl nl
	tl=$(free_port)
	start_tonearm "$tl" TONEARM_ACCESS_LOG=true
	nl=$(free_port)
	start_nginx "$nl" "$work/static" on
	for _ in $(seq 1 "$ROUNDS"); do
		wrk_run "http://127.0.0.1:$tl/api/v1/version" >>"$work/tl"
		wrk_run "http://127.0.0.1:$nl/version.json" >>"$work/nl"
	done
	trps=$(cut -d' ' -f1 "$work/tl" | median); np_rps=$(cut -d' ' -f1 "$work/nl" | median)
	printf 'with access logs: tonearm %10.0f req/s p99 %7.2f ms; nginx %10.0f req/s p99 %7.2f ms; ratio %.2fx\n' \
		"$trps" "$(cut -d' ' -f2 "$work/tl" | median)" "$np_rps" "$(cut -d' ' -f2 "$work/nl" | median)" \
		"$(echo "$trps / $np_rps" | bc -l)"
	echo "reproduce: ROUNDS=$ROUNDS DURATION=$DURATION bench/run.sh http"
}

bench_blocking() {
	echo "== blocking: /readyz (runs on the handler pool: database + store ping) vs quick /healthz at $CONNS connections =="
	local tp
	tp=$(free_port)
	start_tonearm "$tp" TONEARM_ACCESS_LOG=false
	: >"$work/b"; : >"$work/q"
	for _ in $(seq 1 "$ROUNDS"); do
		wrk_run "http://127.0.0.1:$tp/readyz" >>"$work/b"
		wrk_run "http://127.0.0.1:$tp/healthz" >>"$work/q"
	done
	local b q
	b=$(cut -d' ' -f1 "$work/b" | median); q=$(cut -d' ' -f1 "$work/q" | median)
	printf 'blocking /readyz  %10.0f req/s  p99 %7.2f ms\n' "$b" "$(cut -d' ' -f2 "$work/b" | median)"
	printf 'quick /healthz    %10.0f req/s  p99 %7.2f ms\n' "$q" "$(cut -d' ' -f2 "$work/q" | median)"
	printf 'hand-off cost: blocking/quick = %.2fx\n' "$(echo "$b / $q" | bc -l)"
	echo "reproduce: ROUNDS=$ROUNDS DURATION=$DURATION bench/run.sh blocking"
}

bench_idle() {
	echo "== idle: resident memory and time to ready, empty database =="
	local i port t0 t1 times=() rss=() anon=()
	for i in $(seq 1 10); do
		port=$(free_port)
		rm -rf "$work/idle"; mkdir -p "$work/idle"
		t0=$(date +%s%N)
		env -i PATH="$PATH" "$bin" serve --listen "127.0.0.1:$port" --data "$work/idle" >"$work/idle.log" 2>&1 &
		local pid=$!
		until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; do sleep 0.002; done
		t1=$(date +%s%N)
		times+=($(( (t1 - t0) / 1000000 )))
		sleep 1
		rss+=($(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"))
		anon+=($(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status"))
		# The media stack is loaded on first use (src/media/stack.h): idle, it must not be.
		if grep -q 'tonearm-media\.so\|libavcodec' "/proc/$pid/maps"; then
			echo "idle: the media module is loaded in an idle server" >&2
			kill "$pid"; wait "$pid" || true; return 1
		fi
		kill "$pid"; wait "$pid" || true
	done
	printf 'ready after  %s ms (median of 10; target < 200)\n' "$(printf '%s\n' "${times[@]}" | median)"
	printf 'idle RSS     %s KiB (median of 10; target < 16384)\n' "$(printf '%s\n' "${rss[@]}" | median)"
	printf '  of which anonymous (private) %s KiB; the rest is pages of the binary and its ~40 libraries (the\n  media stack, FFmpeg and its ~150 dependencies, is not loaded until the first upload)\n' \
		"$(printf '%s\n' "${anon[@]}" | median)"
	echo "reproduce: bench/run.sh idle"
}

bench_db() {
	echo "== db: 50,000 inserts in batches of 1,000, then 100,000 point reads by primary key =="
	cmake --build build --target db_bench >/dev/null
	"$root/build/db_bench" "sqlite://$work/bench.db"
	local url
	url=$(tests/lib/pg.sh start "$work/pg")
	"$root/build/db_bench" "$url"
	echo "reproduce: bench/run.sh db"
}

bench_analyse() {
	echo "== analyse: loudness + true peak, fingerprint, peaks, features of a 5-minute 44.1 kHz stereo FLAC, one core =="
	cmake --build build --target analyse_bench >/dev/null
	# Music-like: two stepping melodies and a bass tone over pink noise, 16-bit.
	local mel='0.25*sin(2*PI*220*pow(2\,floor(mod(t*2\,12))/12)*t)+0.1*sin(2*PI*55*t)'
	ffmpeg -nostdin -v error -y \
		-f lavfi -i "aevalsrc=exprs=$mel+0.15*sin(2*PI*330*pow(2\,floor(mod(t*3\,7))/12)*t)|$mel+0.15*sin(2*PI*440*pow(2\,floor(mod(t*5\,5))/12)*t):s=44100:d=300" \
		-f lavfi -i "anoisesrc=c=pink:r=44100:a=0.1:d=300" \
		-filter_complex "[1]aformat=channel_layouts=stereo[n];[0][n]amix=inputs=2:normalize=0" \
		-sample_fmt s16 -c:a flac "$work/song.flac"
	taskset -c 0 "$root/build/analyse_bench" "$work/song.flac" "${ROUNDS}"
	echo "reproduce: ROUNDS=$ROUNDS bench/run.sh analyse"
}

# wrk_lua FILE HEADER DELAY_MS: a wrk script sending HEADER ("Name: value", may be empty) and
# pausing DELAY_MS between a connection's requests (wrk has no rate option).
wrk_lua() {
	{
		[ -n "$2" ] && printf 'wrk.headers["%s"] = "%s"\n' "${2%%:*}" "${2#*: }"
		printf 'function delay() return %s end\n' "$3"
	} >"$1"
}

# quiet_p99 PORT SECONDS: a well-behaved client (one keep-alive connection, a request every
# 12 ms: ~80 req/s, under its limit) timing each request itself; prints "p99_ms refused".
# Not wrk: with delay() its latency figures include its own timer slack.
quiet_p99() {
	python3 - "$1" "$2" <<'PY'
import http.client, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
lat, refused, end = [], 0, time.monotonic() + secs
while time.monotonic() < end:
    t = time.perf_counter()
    c.request("GET", "/api/v1/version", headers={"X-Forwarded-For": "198.51.100.1"})
    r = c.getresponse(); r.read()
    lat.append((time.perf_counter() - t) * 1000)
    refused += r.status == 429
    time.sleep(0.012)
lat.sort()
print("%.3f %d" % (lat[int(len(lat) * 0.99) - 1], refused))
PY
}

p99_ms() { awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}'; }

bench_ratelimit() {
	echo "== ratelimit: a client's p99 on /api/v1/version, alone and while another address floods at ~10,000 req/s =="
	# One machine, one address: the server trusts 127.0.0.1 as a proxy and each wrk plays a
	# client through X-Forwarded-For. Default limits: 100 req/s per address, burst 200.
	local tp quiet flood alone under out fl
	tp=$(free_port)
	start_tonearm "$tp" TONEARM_ACCESS_LOG=false TONEARM_TRUSTED_PROXIES=127.0.0.1 TONEARM_RATE_IP_RPS=100 \
		TONEARM_RATE_IP_BURST=200 TONEARM_MAX_CONNS_PER_IP=1000
	# The flood: 100 connections, 10 ms apart each (~10,000 req/s).
	wrk_lua "$work/flood.lua" "X-Forwarded-For: 203.0.113.66" 10
	: >"$work/alone"; : >"$work/under"
	for _ in $(seq 1 "$ROUNDS"); do
		quiet_p99 "$tp" "$DURATION" >>"$work/alone"
		wrk -t2 -c100 -d"$((DURATION + 2))s" -s "$work/flood.lua" "http://127.0.0.1:$tp/api/v1/version" >"$work/flood.out" 2>&1 &
		fl=$!
		sleep 1
		quiet_p99 "$tp" "$DURATION" >>"$work/under"
		wait "$fl"
		printf 'flood: %s req/s, refused (429): %s\n' "$(awk '/^Requests\/sec:/ {print $2}' "$work/flood.out")" \
			"$(awk '/Non-2xx/ {print $NF}' "$work/flood.out")"
	done
	if awk '$2 > 0 {bad=1} END {exit !bad}' "$work/alone" "$work/under"; then echo "warning: the measured client was refused"; fi
	alone=$(cut -d' ' -f1 "$work/alone" | median); under=$(cut -d' ' -f1 "$work/under" | median)
	printf 'client p99 alone %7.3f ms; during the flood %7.3f ms; ratio %.2fx (target <= 2x)\n' "$alone" "$under" \
		"$(echo "$under / $alone" | bc -l)"
	echo "reproduce: ROUNDS=$ROUNDS DURATION=$DURATION bench/run.sh ratelimit"
}

bench_auth() {
	echo "== auth: GET /api/v1/version with a valid Bearer token (ES256 verify, per-account bucket) vs without, 64 connections =="
	local tp tok a u
	tp=$(free_port)
	# Limits on but out of reach, so both runs pay for the bucket look-ups they would in production.
	start_tonearm "$tp" TONEARM_ACCESS_LOG=false TONEARM_ADMIN_PASSWORD='bench admin password 1' \
		TONEARM_RATE_IP_RPS=1000000 TONEARM_RATE_IP_BURST=10000000 TONEARM_RATE_USER_RPS=1000000 \
		TONEARM_RATE_USER_BURST=10000000
	tok=$(curl -fsS -H 'content-type: application/json' -d '{"username":"admin","password":"bench admin password 1"}' \
		"http://127.0.0.1:$tp/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
	curl -fsS -o /dev/null -H "Authorization: Bearer $tok" "http://127.0.0.1:$tp/api/v1/me"
	wrk_lua "$work/auth.lua" "Authorization: Bearer $tok" 0
	wrk_lua "$work/anon.lua" "" 0
	: >"$work/a"; : >"$work/u"
	for _ in $(seq 1 "$ROUNDS"); do
		wrk -t2 -c64 -d"${DURATION}s" -s "$work/anon.lua" "http://127.0.0.1:$tp/api/v1/version" | awk '/^Requests\/sec:/ {print $2}' >>"$work/u"
		wrk -t2 -c64 -d"${DURATION}s" -s "$work/auth.lua" "http://127.0.0.1:$tp/api/v1/version" | awk '/^Requests\/sec:/ {print $2}' >>"$work/a"
	done
	a=$(median <"$work/a"); u=$(median <"$work/u")
	printf 'unauthenticated %10.0f req/s; authenticated %10.0f req/s; overhead %.1f%% (target <= 10%%)\n' "$u" "$a" \
		"$(echo "(1 - $a / $u) * 100" | bc -l)"
	echo "reproduce: ROUNDS=$ROUNDS DURATION=$DURATION bench/run.sh auth"
}

bench_tls() {
	echo "== tls: testssl.sh against the native HTTPS listener (self-signed P-256 certificate) =="
	local tp
	if ! command -v testssl >/dev/null && ! command -v testssl.sh >/dev/null; then
		echo "testssl.sh is not installed (scripts/deps.sh bench); skipped"
		return 0
	fi
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls-key.pem" \
		-out "$work/tls-cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
	tp=$(free_port)
	start_tonearm "$tp" TONEARM_ACCESS_LOG=false TONEARM_TLS_CERT="$work/tls-cert.pem" TONEARM_TLS_KEY="$work/tls-key.pem" || true
	for _ in $(seq 1 200); do curl -ksf -o /dev/null "https://127.0.0.1:$tp/healthz" && break; sleep 0.02; done
	"$(command -v testssl || command -v testssl.sh)" --quiet --color 0 --warnings off -p -s -f -U \
		--jsonfile "$work/testssl.json" "127.0.0.1:$tp" >"$work/testssl.txt" 2>&1 || true
	grep -E 'SSLv|TLS 1|NULL|Anonymous|Export|LOW|3DES|Obsolete|Strong|Forward Secrecy|VULNERABLE|not vulnerable|Heartbleed|CCS|Ticketbleed|ROBOT|Renegotiation|CRIME|BREACH|POODLE|SWEET32|FREAK|DROWN|LOGJAM|BEAST|LUCKY13|RC4' \
		"$work/testssl.txt" | sed 's/  */ /g'
	python3 - "$work/testssl.json" <<'PY'
import json, sys
bad = [f for f in json.load(open(sys.argv[1])) if f.get("severity") in ("LOW", "MEDIUM", "HIGH", "CRITICAL")]
print("findings of severity LOW or worse:", len(bad))
for f in bad:
    print("  ", f["severity"], f["id"], f["finding"])
PY
	echo "reproduce: bench/run.sh tls"
}

# bench_segments: HLS segments (byte ranges of one object per rendition) vs nginx serving the same
# segment bytes as static files, and "time to first audio" on an idle server.
# bench_token PORT → an access token for the admin of a server started with the bench password
bench_token() {
	curl -fsS -H 'content-type: application/json' -d '{"username":"admin","password":"bench admin password 1"}' \
		"http://127.0.0.1:$1/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# bench_upload_tone PORT TOKEN FILE → makes FILE (a 4-minute 440 Hz stereo FLAC), uploads it,
# prints the new track's id
bench_upload_tone() {
	local up
	ffmpeg -nostdin -v error -y -f lavfi -i "sine=f=440:d=240" -ac 2 -c:a flac "$3"
	up=$(curl -fsS -H "Authorization: Bearer $2" -H 'content-type: audio/flac' --data-binary @"$3" \
		"http://127.0.0.1:$1/api/v1/tracks?name=bench.flac")
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$up"
}

bench_segments() {
	echo "== segments: 10 KB byte ranges of random HLS segments at $CONNS connections, tonearm /hls vs nginx static files =="
	local tp np tok track state master media nseg
	tp=$(free_port)
	start_tonearm "$tp" TONEARM_ACCESS_LOG=false TONEARM_ADMIN_PASSWORD='bench admin password 1' TONEARM_WORKERS=2 \
		TONEARM_ARGON2_MEMORY=1024 TONEARM_ARGON2_ITERATIONS=1
	tok=$(bench_token "$tp")
	track=$(bench_upload_tone "$tp" "$tok" "$work/seg-src.flac")
	for _ in $(seq 1 600); do
		state=$(curl -fsS -H "Authorization: Bearer $tok" "http://127.0.0.1:$tp/api/v1/tracks/$track/status" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
		[ "$state" = ready ] || [ "$state" = failed ] && break
		sleep 0.2
	done
	[ "$state" = ready ] || { echo "the ladder did not finish: $state"; return 1; }
	master=$(curl -fsS -H "Authorization: Bearer $tok" "http://127.0.0.1:$tp/api/v1/tracks/$track/hls" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
	media=$(curl -fsS "http://127.0.0.1:$tp$master" | grep '^aac_128/')
	mkdir -p "$work/seg/hls/$track/aac_128"
	nseg=0
	while read -r s; do
		curl -fsS -o "$work/seg/hls/$track/aac_128/$s" "http://127.0.0.1:$tp/hls/$track/aac_128/$s"
		nseg=$((nseg + 1))
	done < <(curl -fsS "http://127.0.0.1:$tp/hls/$track/$media" | grep '\.m4s$')
	cp "$work/static/version.json" "$work/seg/version.json" 2>/dev/null || echo '{}' >"$work/seg/version.json"
	np=$(free_port)
	start_nginx "$np" "$work/seg"
	cat >"$work/seg.lua" <<LUA
request = function()
  return wrk.format("GET", "/hls/$track/aac_128/" .. math.random(0, $nseg - 1) .. ".m4s", { ["Range"] = "bytes=0-10239" })
end
LUA
	echo "$nseg segments of aac_128 (240 s); $ROUNDS rounds of ${DURATION}s, alternating"
	: >"$work/st"; : >"$work/sn"
	for _ in $(seq 1 "$ROUNDS"); do
		wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$work/seg.lua" "http://127.0.0.1:$tp" >"$work/wt" 2>&1
		wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$work/seg.lua" "http://127.0.0.1:$np" >"$work/wn" 2>&1
		grep -q 'Non-2xx' "$work/wt" && echo "warning: tonearm answered non-2xx: $(grep Non-2xx "$work/wt")"
		echo "$(awk '/^Requests\/sec:/ {print $2}' "$work/wt") $(p99_ms <"$work/wt")" >>"$work/st"
		echo "$(awk '/^Requests\/sec:/ {print $2}' "$work/wn") $(p99_ms <"$work/wn")" >>"$work/sn"
	done
	local trps nrps tp99 np99
	trps=$(cut -d' ' -f1 "$work/st" | median); nrps=$(cut -d' ' -f1 "$work/sn" | median)
	tp99=$(cut -d' ' -f2 "$work/st" | median); np99=$(cut -d' ' -f2 "$work/sn" | median)
	printf 'tonearm  %10.0f req/s  p99 %7.2f ms\n' "$trps" "$tp99"
	printf 'nginx    %10.0f req/s  p99 %7.2f ms\n' "$nrps" "$np99"
	printf 'ratio    %10.2fx req/s (target >= 0.9)   p99 %.2fx (target <= 1.5)\n' \
		"$(echo "$trps / $nrps" | bc -l)" "$(echo "$tp99 / $np99" | bc -l)"
	# Time to first audio: master playlist → media playlist → init → key → first segment's last
	# byte, one keep-alive connection, idle server.
	python3 - "$tp" "$tok" "$track" <<'PY'
import http.client, sys, time, re
port, tok, track = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
def get(path, headers={}):
    c.request("GET", path, headers=headers)
    r = c.getresponse(); b = r.read()
    assert r.status == 200, (path, r.status, b[:200])
    return b
lat = []
for i in range(300):
    t = time.perf_counter()
    m = get(f"/hls/{track}/master.m3u8", {"Authorization": "Bearer " + tok}).decode()
    v = [l for l in m.splitlines() if l and not l.startswith("#")][0]
    p = get(f"/hls/{track}/{v}").decode()
    key = re.search(r'URI="\.\./key\?([^"]+)"', p).group(1)
    seg = [l for l in p.splitlines() if l.endswith(".m4s")][0]
    r = v.split("/")[0]
    get(f"/hls/{track}/{r}/init.mp4"); get(f"/hls/{track}/key?{key}"); get(f"/hls/{track}/{r}/{seg}")
    lat.append((time.perf_counter() - t) * 1000)
    time.sleep(0.01)
lat.sort()
print("time to first audio (master -> first segment's last byte, 5 requests): median %.2f ms, p99 %.2f ms (target p99 < 20 ms)"
      % (lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]))
PY
	echo "reproduce: ROUNDS=$ROUNDS DURATION=$DURATION bench/run.sh segments"
}

bench_live() {
	echo "== live: on-the-fly transcode of a 4-minute FLAC, first byte and whole, tonearm vs the ffmpeg CLI =="
	local tp tok track
	tp=$(free_port)
	# No workers: the ladder is never made, so /stream?format= is the only way to play it.
	start_tonearm "$tp" TONEARM_ACCESS_LOG=false TONEARM_ADMIN_PASSWORD='bench admin password 1' TONEARM_WORKERS=0 \
		TONEARM_ARGON2_MEMORY=1024 TONEARM_ARGON2_ITERATIONS=1
	tok=$(bench_token "$tp")
	track=$(bench_upload_tone "$tp" "$tok" "$work/live-src.flac")
	# Each live run starts from an empty cache (the cached copies are deleted from the store's
	# folder between runs); "cached" runs read the copy the previous live run left.
	python3 - "$tp" "$tok" "$track" "$work/data-$tp/objects/live/$track" "$work/live-src.flac" <<'PY'
import http.client, os, shutil, subprocess, sys, time
port, tok, track, cache, src = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def med(v): v = sorted(v); return v[len(v) // 2]
def p99(v): v = sorted(v); return v[max(0, int(len(v) * 0.99) - 1)]
def tonearm(fmt):
    c = http.client.HTTPConnection("127.0.0.1", port)
    t = time.perf_counter()
    c.request("GET", f"/api/v1/tracks/{track}/stream?format={fmt}&maxBitRate=192", headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    assert r.status == 200, (r.status, r.read()[:300])
    r.read(1); first = time.perf_counter() - t
    n = 1 + len(r.read()); whole = time.perf_counter() - t
    c.close()
    return first * 1000, whole, n, r.getheader("x-transcode")
def ffmpeg(fmt):
    codec = {"mp3": ["-c:a", "libmp3lame", "-f", "mp3", "-write_xing", "0", "-id3v2_version", "0"],
             "opus": ["-c:a", "libopus", "-vbr", "constrained", "-f", "ogg"], "aac": ["-c:a", "aac", "-f", "adts"]}[fmt]
    t = time.perf_counter()
    p = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-i", src, "-ac", "2", "-b:a", "192k", *codec, "pipe:1"],
                         stdout=subprocess.PIPE)
    p.stdout.read(1); first = time.perf_counter() - t
    n = 1 + len(p.stdout.read()); p.wait(); whole = time.perf_counter() - t
    return first * 1000, whole, n
RUNS = int(os.environ.get("LIVE_RUNS", "7"))
for fmt in ("mp3", "opus", "aac"):
    live, cached, ff = [], [], []
    for i in range(RUNS):
        shutil.rmtree(cache, ignore_errors=True)
        live.append(tonearm(fmt)); cached.append(tonearm(fmt)); ff.append(ffmpeg(fmt))
        assert live[-1][3] == "live" and cached[-1][3] == "cached", (live[-1][3], cached[-1][3])
    lf, lw = med([x[0] for x in live]), med([x[1] for x in live])
    ff_f, ff_w = med([x[0] for x in ff]), med([x[1] for x in ff])
    print(f"{fmt:5s} first byte: tonearm live median {lf:6.1f} ms (p99 {p99([x[0] for x in live]):6.1f}; target < 300), "
          f"cached {med([x[0] for x in cached]):5.1f} ms; ffmpeg CLI {ff_f:6.1f} ms; ratio {lf / ff_f:.2f}x")
    print(f"{fmt:5s} whole 240 s: tonearm {lw:5.2f} s ({240 / lw:4.0f}x real time), ffmpeg CLI {ff_w:5.2f} s "
          f"({240 / ff_w:4.0f}x); ratio {ff_w / lw:.2f}x the speed; {live[-1][2] / 1024:.0f} KiB vs {ff[-1][2] / 1024:.0f} KiB")
PY
	echo "reproduce: LIVE_RUNS=7 bench/run.sh live"
}

# pct_ms P: the P% latency of wrk --latency output on stdin, in milliseconds.
pct_ms() { awk -v p="$1%" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}'; }

# browse_row NAME PID WRK-ARGS…: ROUNDS wrk runs of DURATION s at 64 connections; prints the
# medians of req/s, p50, p99 and the server's CPU per answer (utime + stime of PID around each run
# ÷ its requests), which depends far less on the machine's load than latency does.
browse_row() {
	local name=$1 pid=$2 c0 c1 n tck
	shift 2
	tck=$(getconf CLK_TCK)
	: >"$work/browse"
	for _ in $(seq 1 "$ROUNDS"); do
		c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		wrk -t1 -c64 -d"${DURATION}s" --latency "$@" >"$work/browse.out" 2>&1
		c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		if grep -q 'Non-2xx' "$work/browse.out"; then echo "warning: $name answered errors"; fi
		n=$(awk '/requests in/ {print $1}' "$work/browse.out")
		echo "$(awk '/^Requests\/sec:/ {print $2}' "$work/browse.out") $(pct_ms 50 <"$work/browse.out") $(pct_ms 99 <"$work/browse.out") $(echo "($c1 - $c0) * 1000000 / $tck / $n" | bc -l)" >>"$work/browse"
	done
	printf '%-34s %10.0f %9.2f %9.2f %8.0f\n' "$name" "$(cut -d' ' -f1 "$work/browse" | median)" \
		"$(cut -d' ' -f2 "$work/browse" | median)" "$(cut -d' ' -f3 "$work/browse" | median)" \
		"$(cut -d' ' -f4 "$work/browse" | median)"
}

bench_browse() {
	local tracks=${BROWSE_TRACKS:-100000} tp tok base pid kind id url name rss pages
	echo "== browse: list and get of each resource, $tracks tracks, wrk -t1 -c64 (target: p99 < 5 ms, RSS < 64 MiB) =="
	tp=$(free_port)
	# Seeded before the server starts, into the folder start_tonearm serves.
	"$bin" seed --tracks "$tracks" --data "$work/data-$tp" >"$work/seed.log" 2>&1
	tail -1 "$work/seed.log"
	start_tonearm "$tp" TONEARM_ACCESS_LOG=false TONEARM_ADMIN_PASSWORD='bench admin password 1'
	pid=${pids[-1]}
	base="http://127.0.0.1:$tp/api/v1"
	tok=$(curl -fsS -H 'content-type: application/json' -d '{"username":"admin","password":"bench admin password 1"}' \
		"$base/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds of ${DURATION}s per URL, medians"
	printf '%-34s %10s %9s %9s %8s\n' "request" "req/s" "p50 ms" "p99 ms" "CPU µs"
	for kind in tracks albums artists genres; do
		# A get of the first item by name: an ordinary row (an album of about ten tracks, an
		# artist of a few albums, a genre of some 3,000 tracks).
		id=$(curl -fsS -H "authorization: Bearer $tok" "$base/$kind?limit=1" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
		for url in "$kind?limit=50" "$kind/$id"; do
			name="GET /$kind"; [[ $url == *\?* ]] && name="$name?limit=50" || name="$name/{id}"
			browse_row "$name" "$pid" -H "authorization: Bearer $tok" "$base/$url"
		done
	done
	# The row above asks for one page again and again: after the first answer its 50 tracks'
	# JSON is kept (src/api/track_json.c). Here each request is one of 2,000 pages spread over
	# the whole catalogue, 100,000 tracks of JSON against the 16 MiB kept by default (about
	# 15,000 tracks): most tracks are read and written anew, as on a server just started.
	pages=${BROWSE_PAGES:-2000}
	python3 - "$base" "$tok" "$pages" >"$work/pages" <<'PY'
import http.client, json, sys, urllib.parse
base, tok, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
path, cursor, step = u.path + "/tracks?limit=50", None, 0
while True:
    p = path + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
    conn.request("GET", p, headers={"authorization": "Bearer " + tok})
    page = json.loads(conn.getresponse().read())
    print(p)
    cursor = page["next_cursor"]
    step += 1
    if not cursor or step >= n:
        break
PY
	# The walk keeps the first n pages' paths: with n = 2,000 and 100,000 tracks, every page.
	cat >"$work/pages.lua" <<LUA
local paths = {}
for line in io.lines("$work/pages") do paths[#paths + 1] = line end
math.randomseed(7)
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
LUA
	browse_row "GET /tracks?limit=50, $(wc -l <"$work/pages") pages" "$pid" -s "$work/pages.lua" \
		-H "authorization: Bearer $tok" "http://127.0.0.1:$tp"
	curl -fsS "http://127.0.0.1:$tp/metrics" | awk '/^tonearm_track_json_cache_(hits_total|misses_total|entries|bytes) / {printf "%s %s  ", $1, $2} END {print ""}'
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
	printf 'server RSS after the runs: %.1f MiB (target < 64 MiB)\n' "$(echo "$rss / 1024" | bc -l)"
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "reproduce: ROUNDS=$ROUNDS DURATION=$DURATION bench/run.sh browse  (or by hand: tonearm seed --tracks $tracks --data D;"
	echo "  tonearm serve --data D; wrk -t1 -c64 -d10s --latency -H \"authorization: Bearer \$TOKEN\" URL;"
	echo "  TONEARM_TRACK_JSON_CACHE=0 for a server that keeps no track JSON)"
}

bench_transcode() {
	# The ladder vs one ffmpeg process per track + ebur128 + fpcalc (bench/transcode.sh says how).
	"$root/bench/transcode.sh" "${TRANSCODE_FILES:-6}"
}

bench_import() {
	# Folder import vs mpd and minidlnad -R on one generated corpus (bench/import.sh says how).
	TA_BIN="$bin" "$root/bench/import.sh" "${IMPORT_FILES:-5000}"
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(http blocking idle db analyse import ratelimit auth tls segments live browse transcode)
for n in "${names[@]}"; do
	"bench_$n"
	echo
done
