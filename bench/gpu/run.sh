#!/usr/bin/env bash
# The GPU backend's performance check on a machine with a real GPU (issue 20): Real-ESRGAN x2
# (catalog 'zoom-x2') dense Vulkan against pattern 8x Vulkan, and the fp32 rate a dense 64->64 3x3
# conv reaches against the GPU's peak. Builds nothing: run it from the repo root after a build.
#
#   bench/gpu/run.sh                 # 640x480, 10 runs, Vulkan device chosen by the backend
#   GPU_PEAK_TFLOPS=66.9 bench/gpu/run.sh
#   SIZE=64x48 RUNS=2 bench/gpu/run.sh   # a smoke test on lavapipe (its numbers mean nothing)
#
# Environment: PRUNELAB_BIN (default build/bin), SIZE (WxH, default 640x480), RUNS (default 10),
# DEVICE (a Vulkan device index, see `prunelab-cli backends`), GPU_PEAK_TFLOPS (fp32 peak; else
# looked up by device name below).
set -euo pipefail

bin=${PRUNELAB_BIN:-build/bin}
size=${SIZE:-640x480}
runs=${RUNS:-10}
cli="$bin/prunelab-cli"
[[ -x $cli ]] || { echo "run.sh: $cli not found: build first (./prunelab build)" >&2; exit 1; }
[[ $size =~ ^([0-9]+)x([0-9]+)$ ]] || { echo "run.sh: SIZE must be WxH, e.g. 640x480" >&2; exit 1; }
width=${BASH_REMATCH[1]}
height=${BASH_REMATCH[2]}
device=()
[[ -n ${DEVICE:-} ]] && device=(--device "$DEVICE")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Pattern 8x: the patdnn-8 preset (8 patterns of 4 weights in each kept 3x3 kernel, the first and
# last layers kept dense). --no-measure keeps every pattern layer sparse, so the ratio is the
# pattern shaders' own, not the measured decision's (which would turn slower layers dense).
"$cli" prune zoom-x2 --size "$size" --preset patdnn-8 --out "$work/x2.plab" >"$work/prune.txt" 2>&1 ||
    { cat "$work/prune.txt" >&2; exit 1; }
# The CPU runtimes (ONNX Runtime, OpenCV) are in the table too: give them every core so they end
# quickly; the GPU ignores --threads.
"$cli" bench "$work/x2.plab" --size "$size" --backend vulkan "${device[@]}" --compare --no-measure \
    --runs "$runs" --threads "$(nproc)" >"$work/bench.txt" 2>&1 ||
    { cat "$work/bench.txt" >&2; exit 1; }

# The bench's header names the device: "PruneLab on vulkan (NAME (TYPE, DRIVER))".
gpu=$(sed -n 's/.*PruneLab on vulkan (\(.*\))$/\1/p' "$work/bench.txt" | head -1)
name=${gpu%% (*}
dense=$(awk '$1 == "PruneLab" && $2 == "dense" { print $3; exit }' "$work/bench.txt")
sparse=$(awk '$1 == "PruneLab" && $2 == "sparse" { print $3; exit }' "$work/bench.txt")
# Layers 1..16 of Real-ESRGAN x2 (SRVGGNet compact) are 64->64 3x3 convs at the input size; the
# per-layer table's dense column times each on its own (GPU timestamps): their median.
conv=$(awk '/^per layer/ { table = 1; next }
            table && $1 ~ /^[0-9]+$/ && $1 >= 1 && $1 <= 16 { print $3 }' "$work/bench.txt" |
       sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')

# The fp32 peak (non-tensor-core FMA rate, the vendor's datasheet figure): GPU_PEAK_TFLOPS when
# set, else this table by device name; unknown devices get no percentage.
peak=${GPU_PEAK_TFLOPS:-}
peakWhy="GPU_PEAK_TFLOPS"
if [[ -z $peak ]]; then
    peakWhy="the datasheet fp32 figure for '$name' (run.sh's table; set GPU_PEAK_TFLOPS to override)"
    case $name in
        *H200*) peak=66.9 ;;                        # H200 SXM
        *H100*PCIe*) peak=51.2 ;;
        *H100*) peak=66.9 ;;                        # H100 SXM ("NVIDIA H100 80GB HBM3")
        *A100*) peak=19.5 ;;
        *L40S*) peak=91.6 ;;
        *L4*) peak=30.3 ;;
        *"RTX 4090"*) peak=82.6 ;;
        *"RTX 3090"*) peak=35.6 ;;
        *) peak=""; peakWhy="unknown for '$name': set GPU_PEAK_TFLOPS" ;;
    esac
fi

awk -v gpu="$gpu" -v size="$size" -v w="$width" -v h="$height" -v runs="$runs" \
    -v dense="$dense" -v sparse="$sparse" -v conv="$conv" -v peak="$peak" -v why="$peakWhy" '
BEGIN {
    printf "GPU: %s; Real-ESRGAN x2 (zoom-x2) at %s, %s runs, medians\n", gpu, size, runs
    printf "| %-46s | %10s | %-34s | %-16s |\n", "case", "ms", "result", "target"
    printf "|%s|%s|%s|%s|\n", "------------------------------------------------", "------------",
           "------------------------------------", "------------------"
    printf "| %-46s | %10.3f | %-34s | %-16s |\n", "Real-ESRGAN x2, dense Vulkan", dense, "", ""
    ratio = sparse > 0 ? dense / sparse : 0
    printf "| %-46s | %10.3f | %-34s | %-16s |\n", "Real-ESRGAN x2, pattern 8x Vulkan", sparse,
           sprintf("%.2fx faster than dense", ratio), sprintf(">= 2x: %s", ratio >= 2 ? "met" : "NOT met")
    flops = 2.0 * 64 * 64 * 9 * w * h
    if (conv > 0) {
        tflops = flops / (conv * 1e-3) / 1e12
        if (peak > 0) {
            pct = 100 * tflops / peak
            result = sprintf("%.3g TFLOP/s = %.2g%% of %.1f", tflops, pct, peak)
            target = sprintf(">= 20%%: %s", pct >= 20 ? "met" : "NOT met")
        } else {
            result = sprintf("%.3g TFLOP/s (peak unknown)", tflops)
            target = ">= 20%: ?"
        }
        printf "| %-46s | %10.3f | %-34s | %-16s |\n", "dense 64->64 3x3 conv, Vulkan (median of 16)", conv,
               result, target
    } else {
        printf "| %-46s | %10s | %-34s | %-16s |\n", "dense 64->64 3x3 conv, Vulkan", "n/a",
               "no per-layer GPU times in the bench", ""
    }
    printf "conv FLOPs: 2 x 64 x 64 x 9 x %d x %d = %.2f GFLOP; fp32 peak: %s TFLOP/s, from %s\n",
           w, h, flops / 1e9, peak == "" ? "?" : peak, why
}'
