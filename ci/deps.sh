#!/bin/sh
# Install the Debian packages tritune needs (as root, via apt), or print the exact command to do so.
# When another apt/dpkg process holds the package manager's lock (on a fresh VM, typically the daily apt job), wait
# for it with a message every 10 s, at most TRITUNE_APT_WAIT seconds (default 600), then fail saying so.
set -eu
PKGS="meson ninja-build pkg-config gcc g++ python3 libbenchmark-dev libhwloc-dev hwloc libpapi-dev libjansson-dev libpcre2-dev \
gnuplot-nox gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"
LOCKS="/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock"
WAIT=${TRITUNE_APT_WAIT:-600}

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "tritune: missing Debian packages:$missing" >&2
    echo "tritune: install them with:  sudo apt-get install -y$missing" >&2
    exit 1
fi

# lock_holder: "FILE PID" for the first apt/dpkg lock file another process holds, else nothing. apt and dpkg take
# fcntl (POSIX) locks, which flock(1) does not see; /proc/locks lists them by inode (waiters, "->", are skipped).
lock_holder() {
    for f in $LOCKS; do
        [ -e "$f" ] || continue
        ino=$(stat -c %i "$f")
        pid=$(awk -v ino="$ino" '$2 != "->" { n = split($6, a, ":"); if (a[n] == ino) { print $5; exit } }' /proc/locks)
        if [ -n "$pid" ] && [ "$pid" != $$ ]; then
            echo "$f $pid"
            return
        fi
    done
}

# wait_for_lock: returns once no other process holds an apt/dpkg lock; exits 1 after WAIT seconds.
wait_for_lock() {
    start=$(date +%s)
    while held=$(lock_holder) && [ -n "$held" ]; do
        waited=$(($(date +%s) - start))
        set -- $held
        if [ "$waited" -ge "$WAIT" ]; then
            echo "tritune: gave up after ${WAIT} s: $1 is still held by pid $2 ($(ps -o comm= -p "$2" 2>/dev/null || echo '?'))." >&2
            echo "tritune: wait for it to finish (or set TRITUNE_APT_WAIT=seconds), then rerun: make deps" >&2
            exit 1
        fi
        echo "tritune: waiting for the package manager: $1 is held by pid $2 ($(ps -o comm= -p "$2" 2>/dev/null || echo '?')), ${waited} s of at most ${WAIT} s"
        sleep 10
    done
}

echo "tritune: installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
wait_for_lock
# The lock may be taken again between the check and apt's own locking: let apt wait too (apt >= 1.9.11).
apt_wait="-o DPkg::Lock::Timeout=$WAIT"
apt-get $apt_wait update -qq
wait_for_lock
apt-get $apt_wait install -y -qq --no-install-recommends $missing
