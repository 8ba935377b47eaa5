#!/bin/bash
# make bench — named benchmarks, side by side with the program people would otherwise use, in one
# run, on this machine. Prints medians and ratios and how to reproduce each; docs/BENCHMARKS.md
# records the figures. Everything binds 127.0.0.1 on free ports and is stopped on exit.
#
#   bench/run.sh [name …]      names: http, blocking, idle, db, analyse, import (default: all)
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
	env -i PATH="$PATH" HOME="$HOME" "$@" "$bin" serve --listen "127.0.0.1:$port" --data "$work/data-$port" \
		>"$work/tonearm-$port.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$port/healthz"
}

start_nginx() { # port, root
	mkdir -p "$work/nginx"
	cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  default_type application/json;
  server { listen 127.0.0.1:$1 reuseport; root $2; }
}
CONF
	nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" -g 'daemon off;' &
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
	# The same with the access log on (one JSON line per request to a file).
	: >"$work/tl"
	local tl
	tl=$(free_port)
	start_tonearm "$tl" TONEARM_ACCESS_LOG=true
	for _ in $(seq 1 "$ROUNDS"); do wrk_run "http://127.0.0.1:$tl/api/v1/version" >>"$work/tl"; done
	printf 'tonearm with access log %10.0f req/s  p99 %7.2f ms\n' \
		"$(cut -d' ' -f1 "$work/tl" | median)" "$(cut -d' ' -f2 "$work/tl" | median)"
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
	local i port t0 t1 times=() rss=()
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
		kill "$pid"; wait "$pid" || true
	done
	printf 'ready after  %s ms (median of 10; target < 200)\n' "$(printf '%s\n' "${times[@]}" | median)"
	printf 'idle RSS     %s KiB (median of 10; target < 16384)\n' "$(printf '%s\n' "${rss[@]}" | median)"
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

bench_import() {
	# Folder import vs mpd and minidlnad -R on one generated corpus (bench/import.sh says how).
	TA_BIN="$bin" "$root/bench/import.sh" "${IMPORT_FILES:-5000}"
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(http blocking idle db analyse import)
for n in "${names[@]}"; do
	"bench_$n"
	echo
done
