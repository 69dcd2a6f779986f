#!/bin/sh
# make tune: build, then on this machine verify and race every eligible kernel for the model's GEMV shapes, bake the
# winners into the binary, and write results/<cpu-id>/ (profile, Google Benchmark JSON, log, summary, report).
#   TUNE_BUDGET=seconds for the cold race (default 330)   TUNE_WARM_BUDGET=seconds for the warm race (default 150)
#   MODEL=2b4t|large|3b|8b|FILE.gguf   THREADS=1,2,...   FORCE=1 (retune)
#   FORCE_BAKE=1: bake entries flagged as measured under interference too (see tritune tune --help)
#   IN_MODEL=0: skip the in-model stage (tritune tune-model: each shape's storage format raced inside the model)
# Two races: cold (weights stream from DRAM: what decode does; these winners are baked) and warm (cache-resident).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
T="$BUILD/tritune"
"$T" info
echo
args="--model ${MODEL:-2b4t} --out results"
[ -n "${THREADS:-}" ] && args="$args --threads $THREADS"
[ "${FORCE_BAKE:-}" = 1 ] && args="$args --force-bake"
force=
[ "${FORCE:-}" = 1 ] && force=--force
id=$("$T" info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cpu_id"])')
dir="results/$id"
if [ -f "$dir/profile.json" ] && [ "${FORCE:-}" != 1 ]; then
    echo "tritune: reusing $dir/profile.json (entries already measured are kept, flagged ones measured again; FORCE=1 make tune retunes)"
fi
export TRITUNE_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
# shellcheck disable=SC2086
"$T" tune $args $force --regime cold --budget "${TUNE_BUDGET:-330}"
# the warm race resumes the same profile (never --force: that would drop the cold entries just measured). It once
# took its arguments by deleting " --force" from the cold run's, which turned "--out results --force-bake" into
# "--out results-bake": FORCE_BAKE=1 sent the warm race to another folder.
# shellcheck disable=SC2086
"$T" tune $args --regime warm --budget "${TUNE_WARM_BUDGET:-150}"
# The in-model stage: the race's winner against the fastest kernel of each other format, inside the model (tritune
# tune-model --help). It needs the model as a file: a preset is synthesized once (seed 1, as make e2e does).
if [ "${IN_MODEL:-1}" != 0 ]; then
    m=${MODEL:-2b4t}
    case "$m" in
    *.gguf) mfile=$m ;;
    *)
        mfile="results/models/$m.gguf"
        if [ ! -f "$mfile" ]; then
            mkdir -p results/models
            "$T" model synth --preset "$m" --seed 1 --out "$mfile"
        fi
        ;;
    esac
    # shellcheck disable=SC2086
    "$T" tune-model -m "$mfile" --profile "$dir/profile.json" $force $([ -n "${THREADS:-}" ] && echo "-t $THREADS") ||
        echo "tritune: the in-model stage failed (the races' winners stand)"
fi
if [ -f "$dir/baked.c" ]; then
    echo "tritune: baking the winners into $T"
    meson configure "$BUILD" -Dbaked="$PWD/$dir/baked.c" >/dev/null
    ninja -C "$BUILD" >/dev/null
    TRITUNE_DEBUG=0 "$T" info | tail -1
elif [ -n "$(meson introspect --buildoptions "$BUILD" 2>/dev/null | python3 -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "baked"), ""))' 2>/dev/null)" ]; then
    # (the option's value read as make build reads it: `meson configure`'s table cuts long paths, so a grep on it
    # missed this folder's table and left the build pointing at a file just removed)
    echo "tritune: nothing baked this time (see the log above); the binary drops its earlier table"
    meson configure "$BUILD" -Dbaked= >/dev/null
    ninja -C "$BUILD" >/dev/null
fi
if "$T" report "$dir" >/dev/null 2>"$dir/report.err"; then
    echo "tritune: report written to $dir/report/report.md"
else
    echo "tritune: report generation failed: $(cat "$dir/report.err")"
fi
echo "tritune: results in $dir/ (profile.json, summary.md, gbench/, tune.log)"
