#!/usr/bin/env bash
# Checks the aarch64 phone agent binary (issue 21): `static` - an AArch64 executable with no
# program interpreter (PT_INTERP), so Android runs it without our libc; `neon` - the sparse
# kernels' plain loops became NEON: vector multiply-adds on 4 floats (fmla vN.4s) in each kernel.
# Usage: check_agent_aarch64.sh static|neon AGENT READELF|OBJDUMP
set -euo pipefail
what=$1 agent=$2 tool=$3
[ -f "$agent" ] || { echo "FAIL: $agent does not exist (is the aarch64 build broken?)"; exit 1; }

case $what in
static)
    header=$("$tool" -h "$agent")
    grep -Eq 'Machine: +AArch64' <<<"$header" ||
        { echo "FAIL: $agent is not an AArch64 ELF:"; echo "$header"; exit 1; }
    program=$("$tool" -lW "$agent")
    if grep -q 'INTERP' <<<"$program"; then
        echo "FAIL: $agent asks for a program interpreter, so it is not static:"
        grep -A1 'INTERP' <<<"$program"
        exit 1
    fi
    if "$tool" -dW "$agent" | grep -q '(NEEDED)'; then
        echo "FAIL: $agent needs shared libraries:"
        "$tool" -dW "$agent" | grep '(NEEDED)'
        exit 1
    fi
    echo "ok: $agent is a static AArch64 executable (no PT_INTERP, no NEEDED)"
    ;;
neon)
    # Per function (demangled), the number of `fmla vN.4s` (vector by vector or by element).
    counts=$("$tool" -d -C --no-show-raw-insn "$agent" | awk '
        /^[0-9a-f]+ <.*>:$/ { name = $0; sub(/^[0-9a-f]+ </, "", name); sub(/>:$/, "", name); next }
        /\tfmla\tv[0-9]+\.4s/ { n[name]++ }
        END { for (f in n) printf "%d\t%s\n", n[f], f }')
    status=0
    # Each kernel the sparse lane runs on the phone (sparse/generic_kernels.cpp): the row
    # function, or the kernel it is inlined into at -O3 (GCC 12 inlines them all): the pattern
    # kernel's 4-tap rows, the tile micro-kernel (portable 4-float vectors), the CSR conv's rows
    # (axpy) and the tile Gemm's dot.
    for kernel in 'taps4Row|runPattern' 'runBlocksSse' 'axpyRow|runCsrConv' 'dot16|runTilesGemm'; do
        found=$(awk -F'\t' -v k="cpu::(\\(anonymous namespace\\)::)?($kernel)\\(" \
            '$2 ~ /^prunelab::engine::cpu::/ && $2 ~ k { print }' <<<"$counts")
        if [ -z "$found" ]; then
            echo "FAIL: no function named like '$kernel' with fmla .4s (NEON) in $agent"
            status=1
        else
            echo "ok: $kernel:"
            sed 's/^/    /' <<<"$found"
        fi
    done
    exit $status
    ;;
*)
    echo "usage: $0 static|neon AGENT TOOL" >&2
    exit 2
    ;;
esac
