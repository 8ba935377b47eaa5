#!/bin/sh
# Fails when a banned function (see src/base/banned.h) is called anywhere under the given folders.
# Part of the build (the check-banned target), so an unsafe call cannot land.
set -eu
pattern='(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|gmtime|localtime|gets)[[:space:]]*\('
if grep -rnE "$pattern" --include='*.c' --include='*.h' --include='*.cc' "$@" | grep -v 'banned.h:'; then
	echo "error: banned function used (see src/base/banned.h for the safe replacement)" >&2
	exit 1
fi
exit 0
