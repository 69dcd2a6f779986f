#!/bin/sh
# End to end, the tuner's watch and the bench/bake verbs (split from test_tune_cli.sh so the two run side by side):
# an entry measured beside a CPU hog is flagged, recorded and not baked; --force-bake keeps and bakes it; a plain
# rerun measures it again in its place; tritune bench times the pure-read ceilings; bake --default.
set -u
T=$1
dir=$(mktemp -d /tmp/tttuneXXXXXX)
fail=0
check() { if eval "$1"; then :; else echo "FAILED: $2"; fail=1; fi; }

# beside a CPU hog: the entry is flagged (after one re-measurement), recorded, and nothing is baked
( while :; do :; done ) &
hog=$!
"$T" tune --budget 6 --shapes 256x512 --threads 1 --out "$dir/hog" --cold-mib 16 --probe-mib 256 > "$dir/out10.txt" 2>&1
hrc=$?
kill $hog 2>/dev/null; wait $hog 2>/dev/null
hprof=$(ls "$dir"/hog/*/profile.json 2>/dev/null | head -1)
check "[ $hrc -eq 0 ] && grep -q 'measurement conditions: other processes kept' '$dir/out10.txt' && grep -q 'NOT BAKED' '$dir/out10.txt'" "a hog is reported and blocks baking"
check "[ -n '$hprof' ] && [ ! -f \$(dirname '$hprof')/baked.c ] && python3 -c \"import json; e=json.load(open('$hprof'))['entries'][0]['conditions']; assert e['remeasured'] and 'other processes' in e['flags'] and e['others_cpus'] > 0.25\"" "flags recorded on the entry, no baked table"
check "grep -q 'Measurement conditions: 1 entries flagged' \$(dirname '$hprof')/summary.md" "summary lists the flagged entry"
# a rerun with --force-bake keeps the flagged entry as it is and bakes it; a plain rerun measures it again (and the
# prefill race that was run against its winner), in its place
"$T" tune --budget 10 --shapes 256x512 --threads 1 --out "$dir/hog" --cold-mib 16 --probe-mib 256 --force-bake > "$dir/out11.txt" 2>&1
check "[ \$? -eq 0 ] && grep -q 'resuming: 1 of 1' '$dir/out11.txt' && ! grep -q 'measured again' '$dir/out11.txt' && [ -f \$(dirname '$hprof')/baked.c ]" "--force-bake keeps the flagged entry and bakes it"
"$T" tune --budget 6 --shapes 256x512 --threads 1 --out "$dir/hog" --cold-mib 16 --probe-mib 256 > "$dir/out12.txt" 2>&1
check "[ \$? -eq 0 ] && grep -q 'resuming: 0 of 1' '$dir/out12.txt' && grep -q '1 flagged entry is measured again' '$dir/out12.txt' && grep -q 'prefill .*256x512 t1 .*winner' '$dir/out12.txt'" "a rerun measures the flagged entry and its prefill race again"
check "python3 -c \"import json; p=json.load(open('$hprof')); assert len(p['entries'])==1 and len(p['prefill'])==1 and p['prefill'][0]['gemv']==p['entries'][0]['winner']['variant']\"" "the new measurement takes the flagged entry's place"

# tritune bench, cold: the pure-read ceiling rows are timed with the variants; --no-ceiling drops them
"$T" bench --variant tt_i2s_gemv_r1_u1_f0_p0__scalar --shape 256x512 --regime cold --reps 2 --min-time 0.01 > "$dir/out6.txt" 2>&1
check "[ \$? -eq 0 ]" "bench cold exit code"
check "grep -q '^(ceiling) stream read, no compute ' '$dir/out6.txt' && grep -q '^(ceiling) stream read + prefetch 8 KiB, no compute ' '$dir/out6.txt' && grep -q '^(ceiling) stream read + prefetch 1 KiB, no compute ' '$dir/out6.txt'" "bench times the three ceiling readers"
if grep -q '_base ' "$dir/out6.txt"; then
    check "grep -Eq '^ceiling: the fastest pure read of the I2_S bytes is [0-9.]+x the baseline .*of the ceiling' '$dir/out6.txt'" "bench prints the ceiling line"
fi
"$T" bench --variant tt_i2s_gemv_r1_u1_f0_p0__scalar --shape 256x512 --regime cold --reps 2 --min-time 0.01 --no-ceiling > "$dir/out7.txt" 2>&1
check "[ \$? -eq 0 ] && ! grep -q 'ceiling' '$dir/out7.txt'" "--no-ceiling drops the ceiling rows"

# bake --default bakes what an untuned model would hold: B3 where a B3 carry kernel for AVX-512 VNNI runs here
# (tt_untuned_fmt), else I2_S; with the ISA capped at AVX2 no B3 kernel qualifies
"$T" bake --default -o "$dir/def.c" > "$dir/out8.txt" 2>&1
check "[ \$? -eq 0 ] && grep -q '\"tt_' '$dir/def.c'" "bake --default writes a table"
if "$T" list --eligible 'tt_b3_gemv_*_lut2_*__avx512vnni' 2>/dev/null | grep -q 'tt_b3_gemv'; then
    check "grep -q '\"tt_b3_gemv' '$dir/def.c' && ! grep -q '\"tt_i2s_gemv' '$dir/def.c'" "bake --default holds B3 where its carry kernel runs"
else
    check "! grep -q '\"tt_b3_gemv' '$dir/def.c'" "bake --default holds no B3 where its carry kernel does not run"
fi
if "$T" info | grep -Eq '^ *avx2 +yes +yes +yes'; then
    TRITUNE_ISA=avx2 "$T" bake --default -o "$dir/def2.c" > "$dir/out9.txt" 2>&1
    check "[ \$? -eq 0 ] && grep -q '\"tt_i2s_gemv' '$dir/def2.c' && ! grep -q '\"tt_b3_gemv' '$dir/def2.c'" "bake --default at AVX2 holds I2_S"
fi

[ $fail -eq 0 ] || { for f in "$dir"/out*.txt; do echo "== $f"; tail -20 "$f"; done; }
rm -rf "$dir"
exit $fail
