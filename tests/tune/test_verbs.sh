#!/bin/sh
# Every verb of the tritune binary, as listed by `tritune --help`: -h and --help print the verb's usage on stdout and
# exit 0; an unknown option prints a message and the usage on stderr and exits 2; so does a malformed value where
# the verb takes numbers. The list comes from the binary, so a new verb is walked without editing this script.
set -u
T=$1
fail=0
verbs=$("$T" --help | awk '/^commands:/ {f = 1; next} f && /^  [a-z]/ {print $1} f && /^$/ {exit}')
[ -n "$verbs" ] || { echo "FAILED: no verbs in tritune --help"; exit 1; }
n=0
for v in $verbs; do
    n=$((n + 1))
    for h in -h --help; do
        out=$("$T" "$v" "$h" 2>/dev/null); rc=$?
        if [ $rc -ne 0 ] || ! printf '%s' "$out" | grep -qi 'usage'; then
            echo "FAILED: tritune $v $h: exit $rc, usage on stdout: $(printf '%s' "$out" | head -1)"; fail=1
        fi
    done
    err=$("$T" "$v" --no-such-option 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 2 ] || ! printf '%s' "$err" | grep -qi 'usage'; then
        echo "FAILED: tritune $v --no-such-option: exit $rc (want 2 with the usage on stderr)"; fail=1
    fi
done
# malformed or out-of-range values are refused before any work
for args in "bench --variant x --threads zero" "bench --variant x --shape 12" "bench-gemm --tokens -3" \
            "tune --budget -1" "tune --regime lukewarm" "list --json=1" "eval -m x --ids 1 --top 99" \
            "bench-e2e -m x -t 1,,2" "run -m x -n many" "run -m x --place maybe" "bench-ab -m x --place on,maybe" "bench-ab -m x --fuse on,maybe" \
            "run -m x --calibrate maybe" "bench-e2e -m x --calibrate 1"; do
    # shellcheck disable=SC2086
    "$T" $args >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || { echo "FAILED: tritune $args: exit $rc, want 2"; fail=1; }
done
# more threads than CPUs need --oversubscribe
cpus=$(getconf _NPROCESSORS_ONLN)
"$T" bench --variant x --threads $((cpus + 1)) >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAILED: bench --threads $((cpus + 1)) on $cpus CPUs: exit $rc, want 2"; fail=1; }
# an output folder that does not exist is refused up front
"$T" bench --variant x --json /nonexistent-dir/x.json >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAILED: bench --json into a missing folder: exit $rc, want 2"; fail=1; }
# a generator A/B library that cannot be loaded is a clear error, before any timing
err=$("$T" bench --variant tt_i2s_gemv --ab /nonexistent-dir/old.so 2>&1 >/dev/null); rc=$?
if [ $rc -ne 1 ] || ! printf '%s' "$err" | grep -q -- '--ab /nonexistent-dir/old.so'; then
    echo "FAILED: bench --ab with a missing library: exit $rc: $err"; fail=1
fi
# the LM-head family: every kind's portable member is listed and usable; --json parses to the same count
out=$("$T" list --heads); rc=$?
for k in f16 i8 q6k q80 q40; do
    printf '%s' "$out" | grep -q "^head_${k}_portable .* yes" || { echo "FAILED: list --heads: no usable head_${k}_portable"; fail=1; }
done
nt=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) head kernels listed.*/\1/p')
nj=$("$T" list --heads --json | grep -c '"name"')
[ $rc -eq 0 ] && [ -n "$nt" ] && [ "$nt" = "$nj" ] || { echo "FAILED: list --heads: exit $rc, $nt listed, $nj in JSON"; fail=1; }
"$T" list --heads --format i2s >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAILED: list --heads --format: exit $rc, want 2"; fail=1; }
echo "verbs: $n walked"
[ $fail -eq 0 ] && echo "verbs: ok" || echo "verbs: FAILED"
exit $fail
