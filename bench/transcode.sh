#!/bin/bash
# bench/transcode.sh — the transcoding ladder vs the usual one-ffmpeg-per-track pipeline.
#
# Corpus: N (default 6) generated 4-minute 44.1 kHz 16-bit stereo FLACs (music-like tones over
# pink noise). Three measures (the issue's):
#   ingest throughput    tracks/min, 2 tracks at a time (and CPU seconds per track)
#   single-track latency wall seconds for one track alone
#   memory               resident above idle transcoding a 60-minute FLAC
# tonearm: bench/transcode_bench.c — per track what the `transcode` job does for an imported
#   track: decode once, feeding the analysis (loudness, true peak, fingerprint, peaks) and AAC
#   64/128/256 + FLAC in parallel threads, CMAF fMP4, AES-128 per segment, stored in a file
#   store with rows in SQLite. For comparison, the same with the analysis in a decode of its own
#   first (-s, as the `analyse` job did) and the ladder alone (-n).
# baseline: per track, one ffmpeg process encoding the same four renditions with the same
#   encoders (FFmpeg's aac and flac) into fragmented MP4, then `ffmpeg -af ebur128=peak=true`
#   and `fpcalc` (what a pipeline without a shared decode runs for loudness and fingerprint;
#   true peak because tonearm measures it too, for ReplayGain's peak: the filter's default
#   measures none).
#
#   bench/transcode.sh [N]         TA_BUILD=build-ladder bench/transcode.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TA_BUILD:-build}
n=${1:-6}
work=$(mktemp -d "${TMPDIR:-/tmp}/tonearm-tbench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
command -v fpcalc >/dev/null || { echo "fpcalc missing: scripts/deps.sh bench (libchromaprint-tools)" >&2; exit 1; }
cmake --build "$root/$build" --target transcode_bench >/dev/null
tb="$root/$build/transcode_bench"

mel='0.25*sin(2*PI*220*pow(2\,floor(mod(t*2\,12))/12)*t)+0.1*sin(2*PI*55*t)'
for i in $(seq 1 "$n"); do
	ffmpeg -nostdin -v error -y \
		-f lavfi -i "aevalsrc=exprs=$mel+0.15*sin(2*PI*$((300 + i * 20))*t)|$mel+0.15*sin(2*PI*$((500 + i * 10))*t):s=44100:d=240" \
		-f lavfi -i "anoisesrc=c=pink:r=44100:a=0.1:d=240:seed=$i" \
		-filter_complex "[1]aformat=channel_layouts=stereo[n];[0][n]amix=inputs=2:normalize=0" \
		-sample_fmt s16 -c:a flac "$work/t$i.flac"
done

baseline_one() { # file → encodes the four renditions, then loudness, then fingerprint
	local f=$1 o="$work/out-$(basename "$1" .flac)"
	mkdir -p "$o"
	ffmpeg -nostdin -v error -y -i "$f" \
		-map 0:a -c:a aac -b:a 64k -movflags +frag_keyframe+empty_moov -frag_duration 6000000 "$o/a64.mp4" \
		-map 0:a -c:a aac -b:a 128k -movflags +frag_keyframe+empty_moov -frag_duration 6000000 "$o/a128.mp4" \
		-map 0:a -c:a aac -b:a 256k -movflags +frag_keyframe+empty_moov -frag_duration 6000000 "$o/a256.mp4" \
		-map 0:a -c:a flac -strict -2 -movflags +frag_keyframe+empty_moov -frag_duration 6000000 "$o/flac.mp4"
	ffmpeg -nostdin -v info -i "$f" -af ebur128=peak=true -f null - 2>&1 | grep -q "Integrated loudness"
	fpcalc "$f" >/dev/null
}
baseline_all() { printf '%s\n' "$work"/t*.flac | xargs -P 2 -I{} bash -c 'baseline_one "$1"' _ {}; }
export -f baseline_one baseline_all
export work

now() { date +%s.%N; }
# timed NAME CMD…: run CMD under /usr/bin/time; "wall user+sys" seconds in $work/NAME.time.
# On a shared machine the CPU seconds (children included) say more than the wall clock: with
# both cores busy, tracks per minute is 2 × 60 / (CPU seconds per track).
timed() { local name=$1; shift; /usr/bin/time -f '%e %U %S' -o "$work/$name.raw" "$@"; awk '{print $1, $2 + $3}' "$work/$name.raw" >"$work/$name.time"; }
tpm() { awk -v n="$n" '{printf "%.2f", n * 60 / $1}' "$work/$1.time"; }
cpu() { awk -v n="$n" '{printf "%.2f", $2 / n}' "$work/$1.time"; }
echo "== transcode: $n × 4-minute FLAC, ladder aac:64,aac:128,aac:256,flac, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) =="
timed ours "$tb" -j 2 "$work"/t*.flac >"$work/ours.txt"
timed base bash -c baseline_all
echo "throughput (2 at a time): tonearm $(tpm ours) tracks/min, baseline $(tpm base) tracks/min," \
	"ratio $(awk -v a="$(tpm ours)" -v b="$(tpm base)" 'BEGIN {printf "%.2f", a / b}')× (target ≥ 1.2×)"
echo "CPU per track (user+sys): tonearm $(cpu ours) s, baseline $(cpu base) s:" \
	"$(awk -v a="$(cpu ours)" -v b="$(cpu base)" 'BEGIN {printf "%.2f", b / a}')× the tracks per CPU-second"
grep rss_above_idle "$work/ours.txt"
for v in s n; do
	timed "ours-$v" "$tb" -"$v" -j 2 "$work"/t*.flac >/dev/null
	echo "  tonearm -$v ($([[ $v == s ]] && echo "analysis in a decode of its own" || echo "the ladder alone")):" \
		"$(tpm "ours-$v") tracks/min, $(cpu "ours-$v") CPU s per track"
done

t0=$(now); "$tb" -j 1 "$work/t1.flac" >/dev/null; t1=$(now)
ours_lat=$(echo "$t1 - $t0" | bc)
t0=$(now); baseline_one "$work/t1.flac"; t1=$(now)
base_lat=$(echo "$t1 - $t0" | bc)
echo "single-track latency: tonearm ${ours_lat}s, baseline ${base_lat}s," \
	"ratio $(awk -v a="$ours_lat" -v b="$base_lat" 'BEGIN {printf "%.2f", a / b}')× (target ≤ 0.6×)"
# Memory: one 60-minute source (the same music, looped), alone, analysis included.
ffmpeg -nostdin -v error -y -stream_loop 14 -i "$work/t1.flac" -t 3600 -c:a flac "$work/long.flac"
"$tb" -j 1 "$work/long.flac" >"$work/long.txt"
echo "memory, one 60-minute FLAC (ladder and analysis): $(grep rss_above_idle "$work/long.txt") (target < 64 MiB above idle)"
echo "reproduce: bench/run.sh transcode   (or TA_BUILD=build bench/transcode.sh $n)"
