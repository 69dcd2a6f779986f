#!/bin/sh
# make tune's driver (ci/tune.sh) against a stub tritune that prints its arguments: the cold and the warm race get
# the same --out, --threads and --force-bake, and only the cold race gets --force (FORCE_BAKE=1 once sent the warm
# race to results-bake/ by editing " --force" out of the argument string).
set -u
SRC=$1
stub=$(mktemp -d /tmp/tttunesh.XXXXXX)
fail=0
check() { if eval "$1"; then :; else echo "FAILED: $2"; fail=1; fi; }
cat > "$stub/tritune" <<'STUB'
#!/bin/sh
case "$1" in
info) if [ "${2:-}" = --json ]; then echo '{"cpu_id": "stub-cpu-f0m0-1c"}'; else echo "stub"; fi ;;
tune) echo "TUNE: $*" ;;
*) exit 1 ;;
esac
STUB
chmod +x "$stub/tritune"
run() { env "$@" BUILD="$stub" sh "$SRC/ci/tune.sh" 2>/dev/null | grep '^TUNE: '; }
out=$(run FORCE_BAKE=1 THREADS=1,2)
check "echo '$out' | grep -qx 'TUNE: tune --model 2b4t --out results --threads 1,2 --force-bake --regime cold --budget 330'" "FORCE_BAKE=1: the cold race's arguments"
check "echo '$out' | grep -qx 'TUNE: tune --model 2b4t --out results --threads 1,2 --force-bake --regime warm --budget 150'" "FORCE_BAKE=1: the warm race writes to the same folder, with --force-bake"
out=$(run FORCE=1 FORCE_BAKE=1 TUNE_BUDGET=40 TUNE_WARM_BUDGET=20)
check "echo '$out' | grep -q -- '--force --regime cold --budget 40\$' && echo '$out' | grep -q -- '--out results --force-bake --regime warm --budget 20\$'" "FORCE=1: --force for the cold race only"
out=$(run MODEL=tiny)
check "[ \$(echo '$out' | grep -c -- '--model tiny --out results --regime') = 2 ] && ! echo '$out' | grep -q -- '--force'" "defaults: no --force, no --force-bake"
check "[ ! -e '$SRC/results/stub-cpu-f0m0-1c' ]" "the stub run left nothing in the tree"
rm -rf "$stub"
[ $fail = 0 ] && echo "tune_sh: ok"
exit $fail
