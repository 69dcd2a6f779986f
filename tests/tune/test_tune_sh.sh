#!/bin/sh
# make tune's driver (ci/tune.sh) against a stub tritune that prints its arguments: the cold and the warm race get
# the same --out, --threads and --force-bake, and only the cold race gets --force (FORCE_BAKE=1 once sent the warm
# race to results-bake/ by editing " --force" out of the argument string). Then the in-model stage (tune-model):
# the profile the races wrote, the model file (a preset synthesized once), --force and --threads passed on.
set -u
SRC=$1
stub=$(mktemp -d /tmp/tttunesh.XXXXXX)
fail=0
check() { if eval "$1"; then :; else echo "FAILED: $2"; fail=1; fi; }
cat > "$stub/tritune" <<'STUB'
#!/bin/sh
case "$1" in
info) if [ "${2:-}" = --json ]; then echo '{"cpu_id": "stub-cpu-f0m0-1c"}'; else echo "stub"; fi ;;
tune | tune-model | model) echo "TUNE: $*" ;;
*) exit 1 ;;
esac
STUB
chmod +x "$stub/tritune"
run() { env "$@" BUILD="$stub" sh "$SRC/ci/tune.sh" 2>/dev/null | grep '^TUNE: '; }
# the stage's preset models go to results/models/ (the stub writes none): remove that folder after if it was not there
had_models=no
[ -d "$SRC/results/models" ] && had_models=yes
out=$(run FORCE_BAKE=1 THREADS=1,2)
check "echo '$out' | grep -qx 'TUNE: tune --model 2b4t --out results --threads 1,2 --force-bake --regime cold --budget 330'" "FORCE_BAKE=1: the cold race's arguments"
check "echo '$out' | grep -qx 'TUNE: tune --model 2b4t --out results --threads 1,2 --force-bake --regime warm --budget 150'" "FORCE_BAKE=1: the warm race writes to the same folder, with --force-bake"
out=$(run FORCE=1 FORCE_BAKE=1 TUNE_BUDGET=40 TUNE_WARM_BUDGET=20)
check "echo '$out' | grep -q -- '--force --regime cold --budget 40\$' && echo '$out' | grep -q -- '--out results --force-bake --regime warm --budget 20\$'" "FORCE=1: --force for the cold race only"
out=$(run MODEL=tiny)
check "[ \$(echo '$out' | grep -c -- '--model tiny --out results --regime') = 2 ] && ! echo '$out' | grep -q -- '--force'" "defaults: no --force, no --force-bake"
out=$(run MODEL=/tmp/some-model.gguf FORCE=1 THREADS=2)
check "echo '$out' | grep -qx 'TUNE: tune-model -m /tmp/some-model.gguf --profile results/stub-cpu-f0m0-1c/profile.json --force -t 2'" "the in-model stage on a model file, --force and -t passed on"
check "! echo '$out' | grep -q 'model synth'" "a model file is not synthesized"
out=$(run MODEL=stubpreset)
check "echo '$out' | grep -qx 'TUNE: model synth --preset stubpreset --seed 1 --out results/models/stubpreset.gguf'" "a preset is synthesized for the in-model stage"
check "echo '$out' | grep -qx 'TUNE: tune-model -m results/models/stubpreset.gguf --profile results/stub-cpu-f0m0-1c/profile.json'" "the in-model stage on the preset's file, defaults"
out=$(run IN_MODEL=0)
check "! echo '$out' | grep -q 'tune-model'" "IN_MODEL=0 skips the in-model stage"
check "[ ! -e '$SRC/results/stub-cpu-f0m0-1c' ]" "the stub run left nothing in the tree"
[ $had_models = no ] && rmdir "$SRC/results/models" "$SRC/results" 2>/dev/null
rm -rf "$stub"
[ $fail = 0 ] && echo "tune_sh: ok"
exit $fail
