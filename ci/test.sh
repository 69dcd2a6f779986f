#!/bin/sh
# make test: the whole suite three ways, then one summary line "N passed, N failed[, N skipped]".
#   build/       release build, every test
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer, every test (TT_TEST_QUICK=1 trims sweeps)
#   build-arm/   aarch64 cross build, kernel tests under qemu-aarch64-static
set -u
cd "$(dirname "$0")/.."
rc=0
logs=""
run_suite() { # name builddir setup-args...
    name=$1; dir=$2; shift 2
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; echo "tritune: $name: meson setup failed"; rc=1; return; }
    fi
    ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -50 "$dir.ninja.log"; echo "tritune: $name: build failed"; rc=1; return; }
    echo "== $name tests"
    meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 3 || rc=1
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
# Kernel performance vs the committed baseline of this CPU (quick form). Informational here: CI runs on a shared,
# noisy 2-core VM, so a flagged regression is printed (build/ci-compare.md) but does not fail the test run.
if [ -x build/tritune ]; then
    echo "== kernel performance comparison (quick, informational)"
    if sh ci/bench_compare.sh --quick >build/ci-compare.log 2>&1; then
        tail -3 build/ci-compare.log
    else
        echo "tritune: bench_compare flagged a change or could not run; see build/ci-compare.md / build/ci-compare.log"
        tail -5 build/ci-compare.log
    fi
fi
python3 ci/test_summary.py $logs || rc=1
exit $rc
