#!/bin/sh
# ci/gen_ab.sh OLD_COMMIT [OUT.so]: a generator A/B in one process. Builds the generator of OLD_COMMIT, generates its
# I2_S kernels (GEMV and GEMM) and B3 GEMV kernels for this machine's architecture from its own manifest, and compiles them into a shared
# library with the flags this build gives each ISA file. Then, for example:
#   build/tritune bench --ab OUT.so --variant 'i2s_gemv_r8_u1_f0_p1024__avx512vnni' --regime cold
# races each selected kernel against its namesake from OLD_COMMIT, interleaved, on the same packed bytes.
# A generator change that should not change speed is checked this way (separate processes drift ~10 % here).
set -eu
old=${1:?usage: ci/gen_ab.sh OLD_COMMIT [OUT.so]}
out=${2:-/tmp/tritune_gen_ab_$(git rev-parse --short "$old").so}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$root" archive "$old" gen kernels | tar -x -C "$tmp"
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$tmp/kernels" -o "$tmp/gen_old" \
    "$tmp"/gen/*.c "$tmp/kernels/tt_name.c" "$tmp/kernels/tt_format.c" "$tmp/kernels/tt_common.c" \
    "$tmp/kernels/tt_cpu.c" -lm -lpthread
case $(uname -m) in
x86_64) arch=x86; isas="scalar avx2 avxvnni avx512bw avx512vnni avx512vbmi" ;;
aarch64) arch=arm; isas="scalar neon dotprod i8mm" ;;
*) echo "gen_ab: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
mkdir -p "$tmp/out"
# the generator's command line as gen/meson.build gives it
"$tmp/gen_old" --manifest "$tmp/gen/manifest.txt" --arch "$arch" --out "$tmp/out" >/dev/null
flags() {
    case $1 in
    avx2) echo "-mavx2 -mfma" ;;
    avxvnni) echo "-mavx2 -mfma -mavxvnni" ;;
    avx512bw) echo "-mavx2 -mfma -mavx512f -mavx512bw -mavx512vl" ;;
    avx512vnni) echo "-mavx2 -mfma -mavx512f -mavx512bw -mavx512vl -mavx512vnni" ;;
    avx512vbmi) echo "-mavx2 -mfma -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512vbmi" ;;
    dotprod) echo "-march=armv8.2-a+dotprod" ;;
    i8mm) echo "-march=armv8.6-a+dotprod+i8mm" ;;
    *) echo "" ;;
    esac
}
objs=
for f in i2s i2s_gemm b3; do
    for i in $isas; do
        src="$tmp/out/${f}_$i.c"
        [ -f "$src" ] || continue
        # shellcheck disable=SC2046
        cc -std=gnu11 -O3 -D_GNU_SOURCE -ffp-contract=off -fPIC -Wno-unused-function $(flags "$i") \
            -I"$root/kernels" -I"$tmp/out" -c "$src" -o "$tmp/${f}_$i.o"
        objs="$objs $tmp/${f}_$i.o"
    done
done
# shellcheck disable=SC2086
cc -shared -o "$out" $objs
echo "$out"
