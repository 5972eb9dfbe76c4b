#!/usr/bin/env bash
# Checks the aarch64 NEON kernels of Sources/CKernels on an x86 machine: cross-compiles every
# CKernels source with Tests/NEON/neon_check.c and runs the result under qemu-user twice, on a
# CPU with the dot-product extension (-cpu max) and on one without (-cpu cortex-a53), so both
# variants of the int8 kernels run. Builds with aarch64-linux-gnu-gcc and, when a clang that
# targets aarch64 is at hand (SwiftPM's compiler for CKernels), with that clang too.
#
# Usage: Tools/neon-check.sh [-v]   (-v prints every check, not only failures and summaries)
# Exit status: 0 when every run passes, 1 when one fails, 2 when the cross compiler or qemu is
# missing. Needs (Debian): apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu
# qemu-user libc6-dev-arm64-cross
set -uo pipefail

verbose=0
[[ ${1:-} == -v ]] && verbose=1
cd "$(dirname "$0")/.." || exit 2
start=$SECONDS

gcc_cross=${NEON_CHECK_GCC:-aarch64-linux-gnu-gcc}
qemu=${NEON_CHECK_QEMU:-qemu-aarch64}
missing=()
command -v "$gcc_cross" >/dev/null || missing+=("$gcc_cross (package gcc-aarch64-linux-gnu, with libc6-dev-arm64-cross)")
command -v "$qemu" >/dev/null || missing+=("$qemu (package qemu-user)")
if ((${#missing[@]})); then
    echo "neon-check: cannot run, missing:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    echo "install with: apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu qemu-user libc6-dev-arm64-cross" >&2
    exit 2
fi

# SwiftPM's release flags for CKernels (-O2; the files set everything else themselves), on the
# baseline architecture so that only the kernels' target attributes bring in SDOT (a whole-file
# +dotprod would not run on the A53).
flags=(-O2 -march=armv8-a -static -I Sources/CKernels/include)
sources=(Sources/CKernels/*.c Tests/NEON/neon_check.c)

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT

compilers=("gcc:$gcc_cross")
clang=${NEON_CHECK_CLANG:-$(command -v clang || true)}
if [[ -n $clang ]] && "$clang" --target=aarch64-linux-gnu -print-targets 2>/dev/null | grep -q aarch64; then
    compilers+=("clang:$clang --target=aarch64-linux-gnu")
else
    echo "neon-check: no clang for aarch64 found (set NEON_CHECK_CLANG); checking the gcc build only"
fi

status=0
for entry in "${compilers[@]}"; do
    name=${entry%%:*}
    read -r -a cc <<<"${entry#*:}"
    bin=$build/neon_check_$name
    if ! "${cc[@]}" "${flags[@]}" "${sources[@]}" -o "$bin" -lm -lpthread; then
        echo "FAIL  $name: the aarch64 build failed"
        status=1
        continue
    fi
    for run in "max yes" "cortex-a53 no"; do
        read -r cpu dotprod <<<"$run"
        log=$build/$name-$cpu.log
        "$qemu" -cpu "$cpu" "$bin" --dotprod "$dotprod" >"$log" 2>&1
        rc=$?
        if ((verbose)); then cat "$log"; else grep -v '^ok ' "$log" | grep -v ' passed, .* failed$'; fi
        summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" || echo "no summary: exit status $rc")
        echo "== $name build, qemu -cpu $cpu (dotprod $dotprod): $summary"
        ((rc == 0)) || status=1
    done
done
echo "neon-check: $( ((status == 0)) && echo passed || echo FAILED ) in $((SECONDS - start)) s"
exit $status
