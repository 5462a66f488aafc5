#!/usr/bin/env bash
# The ADMM accuracy benchmark (issue 5): dense vs one-shot + fine-tune vs gradual magnitude vs
# ADMM on Fashion-MNIST, same seed and the same epoch budget for every method, through the real
# prunelab-cli. Prints a Markdown table (accuracy, wall time); not a test: it takes minutes.
#   bench/admm/run.sh [lenet5] [vgg] [sr] [quick]   (default: lenet5; quick = small subsets)
# sr: Real-ESRGAN x2 at 64x48, pattern 8x, label-free on vtest.avi frames (first 80% train,
# last 20% test); the metric is the PSNR of the pruned model's output against the dense one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLI="${PRUNELAB_CLI:-$ROOT/build/bin/prunelab-cli}"
OUT="${PRUNELAB_BENCH_OUT:-$ROOT/build/bench-admm}"
PLANS="$ROOT/bench/admm"
THREADS="${THREADS:-1}"
mkdir -p "$OUT"
[ -x "$CLI" ] || { echo "build first: ./prunelab build" >&2; exit 1; }

want_lenet=0 want_vgg=0 want_sr=0 quick=0
for a in "$@"; do
    case "$a" in
        lenet5) want_lenet=1 ;;
        vgg) want_vgg=1 ;;
        sr) want_sr=1 ;;
        quick) quick=1 ;;
        *) echo "unknown argument '$a' (lenet5, vgg, quick)" >&2; exit 1 ;;
    esac
done
[ $want_lenet = 1 ] || [ $want_vgg = 1 ] || [ $want_sr = 1 ] || want_lenet=1

# limits: the quick run uses subsets (numbers then only compare methods with each other).
limits=()
[ $quick = 1 ] && limits=(--limit 6000 --test-limit 2000)

# run NAME COMMAND...: runs, keeps the log, prints "accuracy seconds" from the CLI's last line.
run() {
    local name="$1"; shift
    local start end
    start=$(date +%s.%N)
    "$@" >"$OUT/$name.log" 2>"$OUT/$name.err" || { tail -5 "$OUT/$name.err" >&2; echo "nan nan"; return; }
    end=$(date +%s.%N)
    local acc
    acc=$(grep -Eo '(accuracy|PSNR vs dense \(dB\)) [0-9.]+' "$OUT/$name.log" | tail -1 | awk '{print $NF}')
    echo "$acc $(echo "$end - $start" | bc)"
}

row() { printf '| %-24s | %-22s | %9s | %8.0f s |\n' "$1" "$2" "$3" "$4"; }

# bench_arch ARCH DENSE_EPOCHS BUDGET FINE_TUNE UPDATES PLAN...
bench_arch() {
    local arch="$1" dense_epochs="$2" budget="$3" ft="$4" updates="$5"; shift 5
    local dense="$OUT/$arch-dense.onnx"
    read -r acc secs < <(run "$arch-dense" "$CLI" train-base --arch "$arch" --data fashion-mnist \
        --epochs "$dense_epochs" --threads "$THREADS" --seed 1 --out "$dense" "${limits[@]}")
    row "$arch dense" "($dense_epochs epochs)" "$acc" "$secs"
    for plan in "$@"; do
        local p
        p=$(basename "$plan" .json)
        for method in one-shot gradual admm; do
            read -r acc secs < <(run "$p-$method" "$CLI" admm "$dense" --plan "$plan" \
                --method "$method" --data fashion-mnist --epochs "$budget" \
                --fine-tune-epochs "$ft" --updates-per-epoch "$updates" --threads "$THREADS" \
                --seed 1 --history "$OUT/$p-$method.csv" --out "$OUT/$p-$method.onnx" \
                "${limits[@]}")
            row "$p" "$method ($budget epochs)" "$acc" "$secs"
        done
    done
}

echo "ADMM benchmark, Fashion-MNIST test set, seed 1, $THREADS thread(s), $(nproc) cores$([ $quick = 1 ] && echo ', quick subsets')"
echo
echo "| model / plan             | method                 |  accuracy |  wall     |"
echo "|--------------------------|------------------------|-----------|-----------|"
if [ $want_lenet = 1 ]; then
    bench_arch lenet5 5 6 2 6 "$PLANS/lenet5-ns95.json"
fi
if [ $want_vgg = 1 ]; then
    bench_arch vgg-small 3 4 1 2 "$PLANS/vgg-pattern8.json" "$PLANS/vgg-tile75.json" \
        "$PLANS/vgg-structured50.json"
fi
if [ $want_sr = 1 ]; then
    video="${XDG_CACHE_HOME:-$HOME/.cache}/prunelab/video/vtest.avi"
    for method in one-shot gradual admm; do
        read -r acc secs < <(run "sr-x2-$method" "$CLI" admm zoom-x2 --size 64x48 \
            --preset patdnn-8 --method "$method" --data "frames:$video:train" \
            --test "frames:$video:test" --limit 96 --test-limit 32 --batch 4 --lr 1e-4 \
            --epochs 4 --fine-tune-epochs 1 --updates-per-epoch 4 --threads "$THREADS" --seed 1 \
            --history "$OUT/sr-x2-$method.csv" --out "$OUT/sr-x2-$method.onnx")
        row "zoom-x2 patdnn-8 (PSNR dB)" "$method (4 epochs)" "$acc" "$secs"
    done
fi
echo
echo "Logs, histories (CSV) and models in $OUT"
