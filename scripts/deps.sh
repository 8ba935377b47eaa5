#!/bin/sh
# Installs what tonearm needs on Debian 12 — exactly the packages that are missing, and nothing
# when all are there (so `make run` and `make test` can call it every time).
#
#   scripts/deps.sh run     build and run the server
#   scripts/deps.sh test    + test tools, PostgreSQL, an S3 server (Swift), npm packages for e2e
#   scripts/deps.sh bench   + wrk, nginx (the programs we compare against), testssl.sh
#   scripts/deps.sh fuzz    + clang's libFuzzer runtime
set -eu
profile=${1:-run}
root=$(cd "$(dirname "$0")/.." && pwd)

run_pkgs="build-essential cmake ninja-build pkg-config git
  libh2o-evloop-dev libjansson-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev libssl-dev
  libtag1-dev libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libswscale-dev libavfilter-dev
  libchromaprint-dev libebur128-dev libutf8proc-dev libargon2-dev"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev curl openssl nodejs npm ffmpeg chromium python3-mutagen
  postgresql swift-proxy swift-object swift-container swift-account memcached prometheus"
bench_pkgs="bc time wrk nginx mpd mpc minidlna libchromaprint-tools testssl.sh"
fuzz_pkgs="clang libclang-rt-14-dev"

case "$profile" in
run) want=$run_pkgs ;;
test) want="$run_pkgs $test_pkgs" ;;
bench) want="$run_pkgs $test_pkgs $bench_pkgs" ;;
fuzz) want="$run_pkgs $fuzz_pkgs" ;;
*) echo "usage: $0 run|test|bench|fuzz" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	# node and npm may come from elsewhere than Debian (as on the CI image): a working
	# command is enough.
	case $p in nodejs) command -v node >/dev/null 2>&1 && continue ;; npm) command -v npm >/dev/null 2>&1 && continue ;; esac
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done

if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$profile" = test ] || [ "$profile" = bench ]; then
	# npm packages for the end-to-end tests, exactly as the committed lockfile says.
	e2e="$root/tests/e2e"
	if [ ! -d "$e2e/node_modules" ] || [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
		echo "deps: npm ci in tests/e2e"
		(cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
	fi
fi
