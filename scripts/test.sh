#!/bin/bash
# Runs every test: C unit and contract tests (plain, then under ASan+UBSan), then the end-to-end
# tests against the built server on SQLite + local files, then on PostgreSQL + S3 (Swift).
# Starts PostgreSQL and Swift in a temporary folder and stops them on exit, whatever happens.
# Called by `make test` after scripts/deps.sh has installed what is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
work=$(mktemp -d "${TMPDIR:-/tmp}/tonearm-test.XXXXXX")
chmod 755 "$work"
results=()
failed=0

cleanup() {
	set +e
	[ -d "$work/swift" ] && tests/lib/swift.sh stop "$work/swift" >/dev/null 2>&1
	[ -d "$work/pg" ] && tests/lib/pg.sh stop "$work/pg" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '\n=== %s ===\n' "$*"; }
record() { # name, exit status
	if [ "$2" -eq 0 ]; then results+=("ok    $1"); else results+=("FAIL  $1"); failed=$((failed + 1)); fi
}

step "build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build

step "services: PostgreSQL and Swift (S3)"
TA_TEST_PG=$(tests/lib/pg.sh start "$work/pg")
export TA_TEST_PG TA_TEST_PG_DIR="$work/pg"
eval "$(tests/lib/swift.sh start "$work/swift")"
export TA_TEST_S3 TA_TEST_S3_ACCESS_KEY TA_TEST_S3_SECRET_KEY
echo "postgres: $TA_TEST_PG"
echo "s3:       $TA_TEST_S3"

step "unit and contract tests"
set +e
(cd build && ctest --output-on-failure -j "$jobs")
record "unit+contract" $?
set -e

step "unit and contract tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTONEARM_SANITIZE=ON >/dev/null
cmake --build build-asan
set +e
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure -j "$jobs")
record "unit+contract (asan+ubsan)" $?
set -e

e2e() { # label, then env assignments
	local label=$1
	shift
	step "end to end: $label"
	set +e
	env "$@" TA_BIN="$root/build/tonearm" node --test --test-concurrency=2 tests/e2e/
	record "e2e $label" $?
	set -e
}
e2e "sqlite + file" TA_E2E_DB=sqlite TA_E2E_STORE=file
e2e "postgres + s3" TA_E2E_DB="$TA_TEST_PG" TA_E2E_STORE="$TA_TEST_S3"
# The server under the sanitizers, end to end: catches memory errors only real traffic reaches.
step "end to end under ASan+UBSan: sqlite + file"
set +e
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$root/tests/lsan.supp" TA_E2E_DB=sqlite TA_E2E_STORE=file TA_BIN="$root/build-asan/tonearm" \
	node --test --test-concurrency=2 tests/e2e/
record "e2e sqlite + file (asan+ubsan)" $?
set -e

printf '\n=== summary ===\n'
printf '%s\n' "${results[@]}"
total=${#results[@]}
echo "$((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
