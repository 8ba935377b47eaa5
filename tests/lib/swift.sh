#!/bin/sh
# swift.sh — a throw-away OpenStack Swift cluster with the s3api middleware, for tests.
#
#   swift.sh start DIR   build a one-replica cluster in DIR (created; must not exist or be
#                        empty) on free 127.0.0.1 ports, wait until it answers, create the
#                        bucket `tonearm-test`, and print, one a line, shell-quoted:
#                          TA_TEST_S3='s3://tonearm-test?endpoint=http://127.0.0.1:P&region=us-east-1&path_style=true'
#                          TA_TEST_S3_ACCESS_KEY='test:tester'
#                          TA_TEST_S3_SECRET_KEY='testing'
#                        so `set -a; eval "$(swift.sh start "$D")"; set +a` exports them.
#   swift.sh stop DIR    stop every process `start` recorded in DIR (SIGTERM, up to 10 s, then
#                        SIGKILL) and remove DIR.
#
# Everything is measured in /work/shared/notes/SERVICES.md: base port P is the proxy (S3
# endpoint), P+1..P+3 object/container/account servers, P+4 memcached. The servers allow port
# sharing (SO_REUSEPORT), so a port is only taken when a plain bind(2) on it succeeds — two
# clusters on one port would silently split requests. On failure (or SIGINT/SIGTERM) `start`
# prints the tail of each log to stderr, stops what it started and exits non-zero, leaving
# DIR for inspection: `stop` removes it.
set -eu

PY=/usr/bin/python3            # Debian's python, which has the swift package
BUCKET=tonearm-test
ACCESS=test:tester
SECRET=testing
START_TIMEOUT=${SWIFT_START_TIMEOUT:-60}

die() { echo "swift.sh: $*" >&2; exit 1; }

# A base port P with P..P+4 all free on 127.0.0.1 (a plain bind without SO_REUSEPORT fails
# on a port a running Swift holds). Random start, so parallel runs rarely even collide.
pick_port() {
	"$PY" - <<'EOF'
import random, socket, sys
for _ in range(200):
    p = random.randrange(20000, 60000)
    socks = []
    try:
        for i in range(5):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", p + i))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    if len(socks) == 5:
        print(p)
        sys.exit(0)
sys.exit("no free port range found")
EOF
}

write_conf() { # name port pipeline-and-sections…
	name=$1 port=$2
	shift 2
	cat >"$D/etc/$name-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
swift_dir = $D/etc
devices = $D/node
mount_check = false
user = root
workers = 0
log_name = $name
log_level = INFO
EOF
	printf '%s\n' "$@" >>"$D/etc/$name-server.conf"
}

log_tails() {
	for f in "$D"/log/*.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 20 lines)" >&2
		tail -n 20 "$f" >&2
	done
}

# The recorded pid, if that process is still ours: its command line names DIR.
our_pid() {
	pidfile=$1
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$D" || return 1
	echo "$pid"
}

stop_all() {
	pids=
	for f in "$D"/run/*.pid; do
		[ -f "$f" ] || continue
		if pid=$(our_pid "$f"); then
			kill -TERM "$pid" 2>/dev/null || true
			pids="$pids $pid"
		fi
	done
	i=0
	while [ $i -lt 100 ]; do
		alive=
		for pid in $pids; do
			kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
		done
		[ -z "$alive" ] && break
		pids=$alive
		sleep 0.1
		i=$((i + 1))
	done
	for pid in $pids; do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

http_code() { # url → the HTTP status, or 000 when nothing answers
	curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

start() {
	[ -d "$D" ] && [ -n "$(ls -A "$D")" ] && die "$D exists and is not empty"
	mkdir -p "$D/etc" "$D/node/d1" "$D/log" "$D/run"
	D=$(cd "$D" && pwd)
	P=$(pick_port) || die "no free ports"

	write_conf object $((P + 1)) '[pipeline:main]' 'pipeline = object-server' \
		'[app:object-server]' 'use = egg:swift#object'
	write_conf container $((P + 2)) '[pipeline:main]' 'pipeline = container-server' \
		'[app:container-server]' 'use = egg:swift#container'
	write_conf account $((P + 3)) '[pipeline:main]' 'pipeline = account-server' \
		'[app:account-server]' 'use = egg:swift#account'
	write_conf proxy "$P" '[pipeline:main]' \
		'pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server' \
		'[app:proxy-server]' 'use = egg:swift#proxy' 'account_autocreate = true' \
		'[filter:s3api]' 'use = egg:swift#s3api' 'location = us-east-1' \
		'[filter:tempauth]' 'use = egg:swift#tempauth' "user_${ACCESS%%:*}_${ACCESS#*:} = $SECRET .admin" \
		'[filter:cache]' 'use = egg:swift#memcache' "memcache_servers = 127.0.0.1:$((P + 4))" \
		'[filter:catch_errors]' 'use = egg:swift#catch_errors' \
		'[filter:gatekeeper]' 'use = egg:swift#gatekeeper' \
		'[filter:healthcheck]' 'use = egg:swift#healthcheck' \
		'[filter:proxy-logging]' 'use = egg:swift#proxy_logging' \
		'[filter:listing_formats]' 'use = egg:swift#listing_formats' \
		'[filter:copy]' 'use = egg:swift#copy' \
		'[filter:slo]' 'use = egg:swift#slo' \
		'[filter:dlo]' 'use = egg:swift#dlo'
	printf '[swift-hash]\nswift_hash_path_suffix = tonearm-test\nswift_hash_path_prefix = tonearm-test\n' \
		>"$D/etc/swift.conf"

	# Rings in one Python call (nine swift-ring-builder runs take 6–8 s; this takes ≈ 1 s).
	"$PY" - "$D" "$P" <<'EOF' >"$D/log/rings.log" 2>&1 || { log_tails; die "building rings failed"; }
import sys
from swift.common.ring import RingBuilder
d, p = sys.argv[1], int(sys.argv[2])
for i, name in enumerate(("object", "container", "account")):
    b = RingBuilder(6, 1, 1)
    b.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": p + 1 + i,
               "device": "d1", "weight": 1})
    b.rebalance()
    b.get_ring().save("%s/etc/%s.ring.gz" % (d, name))
EOF

	trap 'stop_all; exit 1' INT TERM
	# SWIFT_CONF_FILE: swift reads /etc/swift/swift.conf otherwise.
	export SWIFT_CONF_FILE="$D/etc/swift.conf"
	memcached -u root -l 127.0.0.1 -p $((P + 4)) -U 0 -P "$D/run/memcached.pid.file" \
		>"$D/log/memcached.log" 2>&1 &
	echo $! >"$D/run/memcached.pid"
	for name in object container account proxy; do
		"swift-$name-server" "$D/etc/$name-server.conf" -v >"$D/log/$name.log" 2>&1 &
		echo $! >"$D/run/$name.pid"
	done

	deadline=$(($(date +%s) + START_TIMEOUT))
	while :; do
		ok=1
		[ "$(http_code "http://127.0.0.1:$P/healthcheck")" = 200 ] || ok=0
		for i in 1 2 3; do
			[ "$(http_code "http://127.0.0.1:$((P + i))/")" = 000 ] && ok=0
		done
		[ $ok = 1 ] && break
		for f in "$D"/run/*.pid; do
			our_pid "$f" >/dev/null || { log_tails; stop_all; die "$(basename "$f" .pid) exited during start-up"; }
		done
		if [ "$(date +%s)" -ge "$deadline" ]; then
			log_tails
			stop_all
			die "cluster not ready after ${START_TIMEOUT}s"
		fi
		sleep 0.2
	done

	# The bucket is a Swift container: create it through the native API with a tempauth token.
	hdrs=$(curl -s -m 10 -D - -o /dev/null -H "X-Auth-User: $ACCESS" -H "X-Auth-Key: $SECRET" \
		"http://127.0.0.1:$P/auth/v1.0" | tr -d '\r')
	url=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Ss]torage-[Uu]rl: //p')
	tok=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p')
	if [ -z "$url" ] || [ -z "$tok" ]; then
		log_tails
		stop_all
		die "tempauth gave no token"
	fi
	code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X PUT -H "X-Auth-Token: $tok" "$url/$BUCKET")
	case $code in
	201 | 202) ;;
	*) log_tails; stop_all; die "creating bucket $BUCKET: HTTP $code" ;;
	esac

	trap - INT TERM
	echo "TA_TEST_S3='s3://$BUCKET?endpoint=http://127.0.0.1:$P&region=us-east-1&path_style=true'"
	echo "TA_TEST_S3_ACCESS_KEY='$ACCESS'"
	echo "TA_TEST_S3_SECRET_KEY='$SECRET'"
}

[ $# -eq 2 ] || die "usage: swift.sh start|stop DIR"
D=$2
case $1 in
start) start ;;
stop)
	[ -d "$D" ] || exit 0
	D=$(cd "$D" && pwd)
	stop_all
	rm -rf "$D"
	;;
*) die "usage: swift.sh start|stop DIR" ;;
esac
