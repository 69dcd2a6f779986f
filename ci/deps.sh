#!/bin/sh
# Install the Debian packages tritune needs (as root, via apt), or print the exact command to do so.
set -eu
PKGS="meson ninja-build pkg-config gcc g++ python3 libbenchmark-dev libhwloc-dev hwloc libpapi-dev libjansson-dev libpcre2-dev \
gnuplot-nox gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "tritune: installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "tritune: missing Debian packages:$missing" >&2
    echo "tritune: install them with:  sudo apt-get install -y$missing" >&2
    exit 1
fi
