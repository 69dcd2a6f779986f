#!/bin/sh
# ci/logits_fingerprint.sh BINARY MODEL.gguf — fingerprints of what a build computes on one file, for checking that
# a refactor changed no bit: for each configuration (threads, prefill batch, LM head, prompt length) the md5 of the
# last position's logits (tritune eval --logits) and of the greedy continuation it prints, plus the two golden files
# in tests/data/golden/. Run it with the old and the new binary and diff the outputs. No wisdom is read, so both
# builds pick the same (untuned) kernels; every exact kernel gives the same integers anyway.
set -eu
if [ $# -ne 2 ]; then
    echo "usage: ci/logits_fingerprint.sh BINARY MODEL.gguf" >&2
    exit 2
fi
B=$1 M=$2
G=$(dirname "$0")/../tests/data/golden
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ids=$(seq -s, 11 23 200)  # 9 ids below 256: valid in any vocabulary of 256 or more
long=$(seq -s, 3 2 203)    # 101 ids: two chunks of 64
fp() { # tag, then eval arguments
    tag=$1
    shift
    "$B" eval "$@" --logits "$T/l.f32" --no-wisdom > "$T/out.txt" 2>&1 || { echo "$tag: eval failed"; cat "$T/out.txt"; exit 1; }
    g=$(grep -i -A1 greedy "$T/out.txt" | tr -d '\n' || true)
    printf '%-14s logits %s  greedy %s\n' "$tag" "$(md5sum < "$T/l.f32" | cut -c1-12)" \
        "$([ -n "$g" ] && printf '%s' "$g" | md5sum | cut -c1-8 || echo -)"
}
n=$(getconf _NPROCESSORS_ONLN)
t2=2
[ "$n" -ge 2 ] || t2=1
fp t$t2 -m "$M" --ids $ids -t $t2 --greedy 6
fp t1-batch1 -m "$M" --ids $ids -t 1 --batch 1 --greedy 6
fp t1-q8head -m "$M" --ids $ids -t 1 --lm-head q8
fp long-b16 -m "$M" --ids "$long" -t $t2 --batch 16 --greedy 4
fp long-t1 -m "$M" --ids "$long" -t 1
fp long-b1 -m "$M" --ids "$long" -t $t2 --batch 1
for f in "$G"/*.gguf; do
    b=$(basename "$f" .gguf)
    fp "$b-t$t2" -m "$f" --ids-file "$G/ids64.txt" -t $t2 --greedy 8
    fp "$b-t3-b5" -m "$f" --ids-file "$G/ids64.txt" -t 3 --batch 5 --oversubscribe
done
