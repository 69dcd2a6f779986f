#!/bin/sh
# Copy build/tritune and the non-system shared libraries it needs into DIR (for ci/remote_run.sh).
set -eu
B=${1:-build}; D=${2:-.remote}
mkdir -p "$D/lib"
cp "$B/tritune" "$D/"
ldd "$B/tritune" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|ld-linux)[.-]' |
    while read -r so; do cp -L "$so" "$D/lib/"; done
ls "$D/lib"
