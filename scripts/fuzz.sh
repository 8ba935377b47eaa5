#!/bin/bash
# make fuzz — builds every libFuzzer harness in tests/fuzz/ with clang (ASan + UBSan) and runs
# each for FUZZ_SECONDS (default 60). Seeds come from tests/fuzz/seeds/<name>/ when present;
# the working corpus and any crash go under build-fuzz/. Exits non-zero on the first crash.
#   FUZZ_SECONDS=300 make fuzz        scripts/fuzz.sh router_fuzz     (one harness)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${FUZZ_SECONDS:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTONEARM_FUZZ=ON >/dev/null
cmake --build build-fuzz
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in tests/fuzz/*_fuzz.c; do names+=("$(basename "$f" .c)"); done
fi
for n in "${names[@]}"; do
	corpus="build-fuzz/corpus/$n"
	mkdir -p "$corpus" "build-fuzz/crashes/$n"
	seeds=()
	[ -d "tests/fuzz/seeds/$n" ] && seeds=("tests/fuzz/seeds/$n")
	echo "== $n: ${secs}s =="
	"build-fuzz/$n" -max_total_time="$secs" -print_final_stats=1 -max_len=65536 \
		-artifact_prefix="build-fuzz/crashes/$n/" "$corpus" "${seeds[@]}" 2>&1 | tail -n 12
done
echo "fuzz: no crash in ${#names[@]} harnesses (${secs}s each)"
