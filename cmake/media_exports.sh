#!/bin/sh
# media_exports.sh NM MODULE OUTDIR ARCHIVE… — what the server binary must hold and export for
# the media module (src/media/stack.h): the symbols MODULE leaves undefined that one of the
# ARCHIVEs (the layer libraries the binary links) defines. Writes
#   OUTDIR/media-exports.list  a --dynamic-list: the binary exports these and nothing else;
#   OUTDIR/media-imports.ld    a linker script of EXTERN()s: they are linked in even when
#                              nothing in the binary itself calls them.
# Everything else the module needs (FFmpeg, libc, libcrypto …) comes from its own NEEDED list.
set -eu
nm=$1 module=$2 out=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$nm" -D --undefined-only "$module" | awk '{ sub(/@.*/, "", $NF); print $NF }' | sort -u >"$tmp/undef"
"$nm" -g --defined-only "$@" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/defs"
comm -12 "$tmp/undef" "$tmp/defs" >"$tmp/imports"
if [ ! -s "$tmp/imports" ]; then
	echo "media_exports.sh: the module takes nothing from the binary? ($module)" >&2
	exit 1
fi
{ echo '{'; sed 's/.*/\t&;/' "$tmp/imports"; echo '};'; } >"$out/media-exports.list"
{ echo '/* The media module calls these: link them in (cmake/media_exports.sh). */'
  sed 's/.*/EXTERN(&)/' "$tmp/imports"; } >"$out/media-imports.ld"
