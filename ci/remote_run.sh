#!/bin/sh
# Measure on a machine that cannot install packages (e.g. a lent multi-core box): run a carried build with its
# shared libraries, tune with the topology's thread counts, run the end-to-end bench on a synthetic 2B4T model, and
# pack results/<cpu-id>/ (+ e2e.json) into OUT/bundle.tar.gz for reports/cpus/.
#   ci/remote_run.sh CARRY_DIR OUT_DIR [TUNE_BUDGET] [THREADS] [E2E_THREADS]
# CARRY_DIR holds tritune and lib/*.so* (ci/remote_pack.sh makes it).
set -u
C=$1 OUT=$2 BUDGET=${3:-270} THREADS=${4:-} E2E_THREADS=${5:-1,4,8,16}
export LD_LIBRARY_PATH="$C/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
T="$C/tritune"
W=$(mktemp -d)
"$T" info | tee "$OUT/info.txt"
id=$("$T" info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cpu_id"])')
targs="--budget $BUDGET --out $W/results --shapes 2560x2560,640x2560,6912x2560,2560x6912 --cold-mib 512"
[ -n "$THREADS" ] && targs="$targs --threads $THREADS"
# shellcheck disable=SC2086
"$T" tune $targs 2>&1 | grep -v '^\[.*\] excluded' | tail -40
"$T" model synth --preset 2b4t --out "$W/2b4t.gguf" 2>&1 | tail -2
"$T" bench-e2e -m "$W/2b4t.gguf" -p 128 -n 64 -t "$E2E_THREADS" -r 3 --json "$W/results/$id/e2e.json" 2>&1 | tail -30
(cd "$W/results" && tar czf "$OUT/bundle.tar.gz" "$id")
ls -la "$OUT"
