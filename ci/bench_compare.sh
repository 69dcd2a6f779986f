#!/bin/sh
# ci/bench_compare.sh [--quick] [--record] — kernel performance check for CI.
#
# Benchmarks the tuned winners and the baselines (bitnet.cpp-style `_base` kernels, which `tritune bench` always
# adds) on a small fixed set of BitNet 2B4T shapes, 1 thread, warm regime, in one interleaved session per shape,
# and compares the result with the committed baseline of this CPU, ci/baseline/<cpu-id>.json, using `tritune
# compare` (median change + two-sided Mann-Whitney U test). Files go to $BUILD/ci-bench/ and the Markdown report to
# $BUILD/ci-compare.md; nothing else is written unless --record is given.
#
# Winners come from, in order: $WINNERS (space-separated variant names or patterns, one per shape or one for all),
# results/<cpu-id>/profile.json, reports/cpus/<cpu-id>/profile.json (the winner at the lowest thread count tuned
# for that shape). Without any, only the baselines are benchmarked (and the report says so).
#
# Exit status: 0 no significant regression (or no committed baseline for this CPU: nothing to compare);
# 1 a benchmark is slower than the baseline by more than THRESHOLD with p < ALPHA; 2 setup error.
#
# Environment: BUILD (default build), REPS, MIN_TIME, THRESHOLD, ALPHA, WINNERS.
# --quick (make test): 2 shapes, 6 repetitions (the least for which p < 0.01 is reachable is 5 per side),
#   threshold 10 %, and times RELATIVE to the I2_S baseline kernel of the same shape in the same session
#   (tritune compare --relative-to): the host's drift between this run and the committed one cancels.
# Default (make bench): 4 shapes, 12 repetitions, threshold 5 %, absolute times (needs a quiet machine).
# --record (make baseline): write this run to ci/baseline/<cpu-id>.json (commit it) instead of comparing.
set -eu
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.."

usage() {
    sed -n '2,22p' "$SELF" | sed 's/^# \{0,1\}//'
}

QUICK=0
RECORD=0
for a in "$@"; do
    case $a in
        --quick) QUICK=1 ;;
        --record) RECORD=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench_compare: unknown argument '$a' (see --help)" >&2; exit 2 ;;
    esac
done

BUILD=${BUILD:-build}
TT=$BUILD/tritune
if [ ! -x "$TT" ]; then
    echo "bench_compare: $TT is not built (run: make build)" >&2
    exit 2
fi
if [ "$QUICK" = 1 ]; then
    SHAPES="2560x2560 2560x6912"
    REPS=${REPS:-6}
    MIN_TIME=${MIN_TIME:-0.02}
    THRESHOLD=${THRESHOLD:-0.10}
    RELATIVE='tt_i2s_gemv_*_base'
else
    RELATIVE=
    SHAPES="2560x2560 640x2560 6912x2560 2560x6912"
    REPS=${REPS:-12}
    MIN_TIME=${MIN_TIME:-0.05}
    THRESHOLD=${THRESHOLD:-0.05}
fi
ALPHA=${ALPHA:-0.01}

CPU_ID=$("$TT" info 2>/dev/null | awk '$1 == "cpu-id" { print $2; exit }')
if [ -z "$CPU_ID" ]; then
    echo "bench_compare: '$TT info' printed no cpu-id" >&2
    exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "bench_compare: python3 is needed to read the profile and merge the benchmark files" >&2
    exit 2
fi

BASELINE=ci/baseline/$CPU_ID.json
WORK=$BUILD/ci-bench
MD=$BUILD/ci-compare.md
rm -rf "$WORK"
mkdir -p "$WORK"

PROFILE=
for p in "results/$CPU_ID/profile.json" "reports/cpus/$CPU_ID/profile.json"; do
    if [ -f "$p" ]; then PROFILE=$p; break; fi
done

# winner_for MxK: the tuned winner for this shape ($WINNERS, else the profile), or nothing.
winner_for() {
    shape=$1
    if [ -n "${WINNERS:-}" ]; then
        set -- $WINNERS
        n=$#
        i=1
        for s in $SHAPES; do
            [ "$s" = "$shape" ] && break
            i=$((i + 1))
        done
        if [ "$n" -eq 1 ]; then echo "$1"; else eval "echo \${$i:-}"; fi
        return
    fi
    [ -n "$PROFILE" ] || return 0
    python3 - "$PROFILE" "$shape" <<'EOF'
import json, sys
m, k = (int(x) for x in sys.argv[2].split("x"))
try:
    entries = json.load(open(sys.argv[1])).get("entries", [])
except (OSError, ValueError):
    sys.exit(0)
mine = [e for e in entries if e.get("m") == m and e.get("k") == k and isinstance(e.get("winner"), dict)]
if mine:
    print(min(mine, key=lambda e: e.get("threads", 1))["winner"]["variant"])
EOF
}

echo "bench_compare: CPU $CPU_ID, shapes $SHAPES, $REPS repetitions, warm, 1 thread${RELATIVE:+, times relative to $RELATIVE}"
NOTE=
for shape in $SHAPES; do
    win=$(winner_for "$shape")
    if [ -z "$win" ]; then
        NOTE="No tuned winner known for some shapes (no \$WINNERS, no results/$CPU_ID/profile.json): those rows are baselines only."
        win=__baselines_only__ # matches no variant; bench still adds the baselines
        echo "  $shape: no tuned winner known: baselines only"
    else
        echo "  $shape: $win + baselines"
    fi
    "$TT" bench --variant "$win" --shape "$shape" --threads 1 --regime warm --reps "$REPS" --min-time "$MIN_TIME" \
        --json "$WORK/shape-$shape.json" >"$WORK/$shape.log" 2>&1 || {
        echo "bench_compare: tritune bench failed for $shape:" >&2
        tail -20 "$WORK/$shape.log" >&2
        exit 2
    }
done

# One Google Benchmark file for all shapes (context of the first run, benchmarks of all).
python3 - "$WORK/new.json" "$WORK"/shape-*.json <<'EOF'
import json, sys
out, files = sys.argv[1], sys.argv[2:]
merged = None
for f in files:
    d = json.load(open(f))
    if merged is None:
        merged = {"context": d.get("context", {}), "benchmarks": []}
    merged["benchmarks"].extend(d.get("benchmarks", []))
with open(out, "w") as f:  # one benchmark row per line: committed baselines diff readably
    f.write('{\n"context": %s,\n"benchmarks": [\n' % json.dumps(merged["context"], sort_keys=True))
    f.write(",\n".join(json.dumps(b) for b in merged["benchmarks"]))
    f.write("\n]\n}\n")
EOF

if [ "$RECORD" = 1 ]; then
    mkdir -p ci/baseline
    cp "$WORK/new.json" "$BASELINE"
    echo "bench_compare: wrote $BASELINE from this run: review and commit it"
    [ -z "$NOTE" ] || echo "bench_compare: $NOTE"
    exit 0
fi

if [ ! -f "$BASELINE" ]; then
    {
        echo "# tritune kernel comparison"
        echo
        echo "No committed baseline for CPU \`$CPU_ID\` (\`$BASELINE\`): nothing to compare. \`make baseline\` records one."
        [ -z "$NOTE" ] || printf '\n%s\n' "$NOTE"
        if [ -n "$RELATIVE" ]; then
            printf '\nThis run, median time relative to `%s` of the same shape:\n\n' "$RELATIVE"
            python3 - "$WORK/new.json" "$RELATIVE" <<'EOF'
import fnmatch, json, statistics, sys
rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("run_type") == "iteration" and not b.get("error_occurred"):
        variant, rest = b["run_name"].split("/", 1)
        shape = rest.split("/min_time")[0]
        rows.setdefault(shape, {}).setdefault(variant, []).append(b["real_time"])
for shape, vs in rows.items():
    refs = [v for v in vs if fnmatch.fnmatchcase(v, sys.argv[2])]
    if not refs:
        continue
    ref = statistics.median(vs[refs[0]])
    for v, t in vs.items():
        if v not in refs:
            print("- `%s/%s`: %.3f x ref" % (v, shape, statistics.median(t) / ref))
EOF
        fi
    } >"$MD"
    cat "$MD"
    echo "bench_compare: no committed baseline for $CPU_ID ($BASELINE): nothing compared; make baseline records one"
    exit 0
fi

set +e
if [ -n "$RELATIVE" ]; then
    "$TT" compare "$BASELINE" "$WORK/new.json" --threshold "$THRESHOLD" --alpha "$ALPHA" --relative-to "$RELATIVE" \
        --markdown "$MD" >"$WORK/compare.out"
else
    "$TT" compare "$BASELINE" "$WORK/new.json" --threshold "$THRESHOLD" --alpha "$ALPHA" --markdown "$MD" \
        >"$WORK/compare.out"
fi
rc=$?
set -e
[ -z "$NOTE" ] || printf '\n%s\n' "$NOTE" >>"$MD"
cat "$WORK/compare.out"
case $rc in
    0) echo "bench_compare: no significant regression (report: $MD)" ;;
    1) echo "bench_compare: REGRESSION against $BASELINE (report: $MD)" >&2 ;;
    3) echo "bench_compare: nothing compared: no benchmark in both $BASELINE and this run (report: $MD)" >&2 ;;
    *) echo "bench_compare: tritune compare failed (exit $rc)" >&2 ;;
esac
exit $rc
