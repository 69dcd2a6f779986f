#!/bin/sh
# make test: the whole suite three ways, then one summary line "N passed, N failed, N skipped" (always the last line).
#   build/       release build, every test
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer, every test (TT_TEST_QUICK=1 trims sweeps)
#   build-arm/   aarch64 cross build, kernel tests under qemu-aarch64-static
# Every build compiles with -Dwerror=true (generated kernels included): a warning fails the run.
# Output: a line before each configure, build and suite, with elapsed times. Logs go inside the build folders.
# The run writes only into the build folders: in a git checkout, one extra check (counted in the summary) fails
# when `git status --porcelain` shows files created or changed by the run.
set -u
cd "$(dirname "$0")/.."
rc=0
logs=""
t_start=$(date +%s)
elapsed() { echo "$(($(date +%s) - $1)) s"; }

tree_before=
in_git=0
if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    in_git=1
    tree_before=$(git status --porcelain --untracked-files=all)
fi

run_suite() { # name builddir setup-args...
    name=$1; dir=$2; shift 2
    t=$(date +%s)
    mkdir -p "$dir"
    if [ ! -f "$dir/build.ninja" ]; then
        echo "== configuring $name ($dir)"
        meson setup "$dir" -Dwerror=true "$@" >"$dir/tritune-setup.log" 2>&1 ||
            { cat "$dir/tritune-setup.log"; echo "tritune: $name: meson setup failed"; rc=1; return; }
    else # a folder set up before werror was the rule: turn it on (a no-op when it is on already)
        meson configure "$dir" -Dwerror=true >"$dir/tritune-setup.log" 2>&1 ||
            { cat "$dir/tritune-setup.log"; echo "tritune: $name: meson configure failed"; rc=1; return; }
    fi
    # regenerate build.ninja first (after an option change), so that the dry run counts the real work
    ninja -C "$dir" build.ninja >"$dir/tritune-ninja.log" 2>&1
    n=$(ninja -C "$dir" -n 2>/dev/null | grep -c '^\[')
    echo "== building $name ($dir: ninja, $n targets to build)"
    ninja -C "$dir" >>"$dir/tritune-ninja.log" 2>&1 ||
        { tail -50 "$dir/tritune-ninja.log"; echo "tritune: $name: build failed (log: $dir/tritune-ninja.log)"; rc=1; return; }
    echo "   built in $(elapsed "$t")"
    t=$(date +%s)
    echo "== $name tests"
    meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 3 || rc=1
    echo "   $name tests took $(elapsed "$t")"
    logs="$logs $dir/meson-logs/testlog.json"
}
run_suite release build --buildtype=release
TT_TEST_QUICK=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite asan build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64-static >/dev/null; then
    run_suite arm build-arm --cross-file ci/aarch64-linux-gnu.ini --buildtype=release
else
    echo "tritune: aarch64 cross compiler or qemu missing; run make deps"; rc=1
fi
# Kernel performance (quick form): each kernel's time relative to the I2_S baseline kernel of the same session,
# compared with the committed ci/baseline/<cpu-id>.json where one exists. Informational: a flagged change is printed
# (build/ci-compare.md) but does not fail the run. Writes only under build/.
if [ -x build/tritune ]; then
    t=$(date +%s)
    echo "== kernel performance comparison (quick, relative to the baseline kernel, informational)"
    if sh ci/bench_compare.sh --quick >build/ci-compare.log 2>&1; then
        tail -1 build/ci-compare.log
    else
        echo "tritune: bench_compare flagged a change or could not run; see build/ci-compare.md / build/ci-compare.log"
        tail -5 build/ci-compare.log
    fi
    echo "   comparison took $(elapsed "$t")"
fi
# The run must leave the checkout as it found it (outputs belong in build folders or temporary directories).
if [ "$in_git" = 1 ] && [ -d build ]; then
    tree_after=$(git status --porcelain --untracked-files=all)
    if [ "$tree_after" = "$tree_before" ]; then
        result=OK
    else
        result=FAIL
        echo "tritune: make test changed the source tree (git status --porcelain, before vs after):"
        printf '%s\n' "$tree_after" | grep -vxF -e "$tree_before" | sed 's/^/  /'
    fi
    echo "{\"name\": \"source tree unchanged by make test\", \"result\": \"$result\"}" >build/tree-check.json
    logs="$logs build/tree-check.json"
fi
echo "== done in $(elapsed "$t_start")"
python3 ci/test_summary.py $logs || rc=1
exit $rc
