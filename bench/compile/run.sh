#!/usr/bin/env bash
# The sparse compiler's speed benchmark (issue 6): every row of the issue's performance list
# through the real prunelab-cli, at 1 and 2 threads, each lane interleaved in one process
# (PruneLab dense, PruneLab compiled sparse, ONNX Runtime, OpenCV DNN where it loads). Not a
# test: it takes ~15 minutes on 2 cores (first run longer: the generated kernels compile once).
#   bench/compile/run.sh [esrgan] [esrgan-g4] [ns90] [tile] [structured]   (default: all)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLI="${PRUNELAB_CLI:-$ROOT/build/bin/prunelab-cli}"
OUT="${PRUNELAB_BENCH_OUT:-$ROOT/build/bench-compile}"
PLANS="$ROOT/bench/compile"
RUNS="${RUNS:-10}"
mkdir -p "$OUT"
[ -x "$CLI" ] || { echo "build first: ./prunelab build" >&2; exit 1; }

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(esrgan esrgan-g4 ns90 tile structured)
wanted() { [[ " ${want[*]} " == *" $1 "* ]]; }

# bench_pruned NAME MODEL SIZE PRUNE_ARGS...: prunes once, then bench --compare at 1 and 2
# threads (the measured decision on: a layer stays sparse only where faster on this machine).
bench_pruned() {
    local name="$1" model="$2" size="$3"; shift 3
    local sizeArgs=()
    [ -n "$size" ] && sizeArgs=(--size "$size")
    "$CLI" prune "$model" "${sizeArgs[@]}" "$@" --out "$OUT/$name.plab" >"$OUT/$name.prune.log"
    for t in 1 2; do
        echo "== $name, $t thread(s)"
        "$CLI" bench "$OUT/$name.plab" "${sizeArgs[@]}" --compare --threads "$t" --runs "$RUNS" \
            >"$OUT/$name.t$t.log" 2>&1
        sed -n '2,6p' "$OUT/$name.t$t.log"
        grep -E 'all steps|other steps' "$OUT/$name.t$t.log" || true
    done
}

if wanted esrgan; then
    bench_pruned esrgan-8x zoom-x2 320x240 --plan "$PLANS/esrgan-pattern-8x.json"
fi
if wanted esrgan-g4; then
    bench_pruned esrgan-8x-g4 zoom-x2 320x240 --plan "$PLANS/esrgan-pattern-8x-g4.json"
fi
if wanted ns90; then
    bench_pruned esrgan-ns90 zoom-x2 320x240 --plan "$PLANS/esrgan-ns90.json"
fi
if wanted tile; then
    bench_pruned det-tile75 text-finder "" --preset tile-75
    # The issue's row: the tile-wise layers against their dense steps, the 1x1 convs on images
    # apart (the squeeze-excite 1x1 convs on 1x1 maps take microseconds each); once as the
    # measured decision leaves them, once with every layer sparse (--no-measure).
    "$CLI" info text-finder >"$OUT/det.info"
    for t in 1 2; do
        "$CLI" bench "$OUT/det-tile75.plab" --compare --no-measure --threads "$t" --runs "$RUNS" \
            >"$OUT/det-tile75-all.t$t.log" 2>&1
        for run in det-tile75 det-tile75-all; do
            awk -v t="$t" -v run="$run" 'NR == FNR {
                    if ($3 == "Conv") {
                        w[$1] = $4; o = $0; sub(/.*\[/, "", o); sub(/\].*/, "", o)
                        split(o, sh, ", "); px[$1] = sh[3] * sh[4]
                    }
                    next
                }
                $2 == "tile-wise" {
                    d += $3; s += $4; n++
                    if (split(w[$1], dims, "x") == 2 && px[$1] > 1) { d1 += $3; s1 += $4; n1++ }
                }
                END { printf "   %s, %d thread(s): %d tile-wise layers dense %.2f ms, sparse %.2f ms (%.2fx); %d 1x1 convs on images %.2f vs %.2f ms (%.2fx)\n",
                      run, t, n, d, s, d / s, n1, d1, s1, d1 / s1 }' "$OUT/det.info" "$OUT/$run.t$t.log"
        done
    done
fi
if wanted structured; then
    # Structured pruning's product is the shrunk dense model: PruneLab and ONNX Runtime both run
    # it (no sparse lane).
    "$CLI" prune zoom-x2 --size 320x240 --plan "$PLANS/esrgan-structured50.json" \
        --out "$OUT/esrgan-s50.onnx" --shrunk "$OUT/esrgan-s50-shrunk.onnx" >"$OUT/s50.prune.log"
    for t in 1 2; do
        echo "== esrgan structured 50% (shrunk), $t thread(s)"
        "$CLI" bench "$OUT/esrgan-s50-shrunk.onnx" --threads "$t" --runs "$RUNS" \
            >"$OUT/s50.t$t.log" 2>&1
        sed -n '2,5p' "$OUT/s50.t$t.log"
    done
fi
echo
echo "Logs (per-layer tables) in $OUT"
