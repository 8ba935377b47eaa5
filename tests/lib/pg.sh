#!/usr/bin/env bash
# pg.sh — a throwaway PostgreSQL for tests, on 127.0.0.1 and a free port, all in one folder.
#
#   pg.sh start DIR     create DIR's cluster (a copy of a cached initdb template), start it,
#                       print its URL (postgres://postgres@127.0.0.1:PORT/postgres) and
#                       return once it accepts connections
#   pg.sh stop DIR      stop it (fast mode) and remove DIR
#   pg.sh restart DIR   stop it and start it again on the same port (the URL stays valid)
#   pg.sh url DIR       print the URL again
#
# Only the URL goes to stdout; progress and errors go to stderr, the server's log to DIR/log.
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user (via
# runuser) and DIR is chowned to it. Settings are for tests only: trust authentication,
# fsync off. The template lives in ${TMPDIR:-/tmp}/tonearm-pg-template (delete it to
# rebuild). PGBIN picks the server binaries (default: the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: pg.sh start|stop|restart|url DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage

if [ -z "${PGBIN:-}" ]; then
	# shellcheck disable=SC2012 # fixed, plain paths; sort -V orders the versions
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
	die "no PostgreSQL server binaries (install the postgresql package, or set PGBIN)"
fi

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

marker=.tonearm-pg
tmp=${TMPDIR:-/tmp}
template=$tmp/tonearm-pg-template

# The initdb'd template, made once and shared by every run (under a lock: test runs may
# start in parallel). initdb goes to a private folder renamed into place when complete.
ensure_template() {
	local version
	version=$("$PGBIN/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\..*/\1/p')
	if [ -f "$template/PG_VERSION" ] && [ "$(cat "$template/PG_VERSION")" = "$version" ]; then
		return 0
	fi
	exec 9>"$template.lock"
	flock -w 120 9 || die "timed out waiting for $template.lock"
	if ! [ -f "$template/PG_VERSION" ] || [ "$(cat "$template/PG_VERSION")" != "$version" ]; then
		local build=$template.build.$$
		rm -rf "$build" "$template"
		mkdir -p "$build"
		if [ "$(id -u)" -eq 0 ]; then chown postgres: "$build"; fi
		echo "pg.sh: creating the cluster template in $template" >&2
		if ! as_pg "$PGBIN/initdb" -D "$build" -A trust -U postgres --no-sync -E UTF8 \
			--locale=C.UTF-8 >"$build.log" 2>&1; then
			cat "$build.log" >&2
			rm -rf "$build" "$build.log"
			die "initdb failed"
		fi
		rm -f "$build.log"
		mv -T "$build" "$template"
	fi
	exec 9>&-
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A random port below the kernel's range for outgoing connections' local ports: a port in
# that range is often held by some client socket (busy test machines clash every few runs).
random_port() {
	local n lo=32768 hi=60999 base=10000 span
	if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
		read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	fi
	span=$((lo - base))
	if [ "$span" -lt 1000 ]; then
		base=$((hi + 1))
		span=$((65536 - base))
	fi
	if [ "$span" -lt 1000 ]; then # no range clear of it: rely on the retries
		base=20000
		span=40000
	fi
	n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((base + n % span))
}

# Start the cluster in $dir on port $1. Returns 1 (not fatal) when the port was taken.
start_on() {
	local port=$1
	: >"$dir/log"
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/log"; fi
	if as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 -o \
		"-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >/dev/null 2>&1; then
		if as_pg "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 10; then
			echo "$port" >"$dir/port"
			return 0
		fi
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
		die "server started on port $port but does not answer (see $dir/log)"
	fi
	if grep -qE 'could not (bind|create listen socket)|already in use' "$dir/log"; then
		return 1
	fi
	tail -n 20 "$dir/log" >&2 || true
	die "the server did not start (log: $dir/log)"
}

print_url() {
	[ -f "$dir/port" ] || die "$dir holds no test cluster"
	echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
}

running() {
	[ -f "$dir/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

stop_server() {
	if running; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 ||
			die "could not stop the server in $dir"
	fi
}

case $cmd in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ -e "$dir/data" ] && die "$dir already holds a cluster (stop it first)"
	# The socket lives in DIR: keep the path under the 107-byte limit of a socket name.
	[ ${#dir} -le 80 ] || die "$dir is too long a path for the server's socket"
	touch "$dir/$marker"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		as_pg test -w "$dir" || die "user postgres cannot write $dir (is a parent folder private?)"
	fi
	ensure_template
	cp -a "$template" "$dir/data"
	for attempt in 1 2 3 4 5 6 7 8 9 10; do
		port=$(random_port)
		port_in_use "$port" && continue
		if start_on "$port"; then
			print_url
			exit 0
		fi
		echo "pg.sh: port $port was taken ($(grep -m1 -E 'could not (bind|create listen socket)|already in use' "$dir/log" | sed 's/.*\(LOG\|WARNING\|FATAL\): *//')); trying another (attempt $attempt)" >&2
	done
	die "found no free port after 10 attempts"
	;;
stop)
	[ -d "$dir" ] || exit 0
	[ -f "$dir/$marker" ] || die "$dir was not made by pg.sh start; not touching it"
	stop_server
	rm -rf "$dir"
	;;
restart)
	[ -f "$dir/$marker" ] || die "$dir was not made by pg.sh start"
	dir=$(cd "$dir" && pwd)
	port=$(cat "$dir/port")
	stop_server
	# The same port, so the URL the tests hold stays valid; it was ours a moment ago,
	# but retry a little in case the listener lingers.
	for attempt in 1 2 3 4 5; do
		start_on "$port" && exit 0
		sleep 0.5
	done
	die "could not start again on port $port"
	;;
url)
	print_url
	;;
*)
	usage
	;;
esac
