#!/usr/bin/env bash
# The ADMM accuracy benchmark (issue 5): dense vs one-shot + fine-tune vs gradual magnitude vs
# ADMM on Fashion-MNIST, same seed and the same epoch budget for every method, through the real
# prunelab-cli. Prints a Markdown table (accuracy, wall time); not a test: it takes minutes.
#   bench/admm/run.sh [lenet5] [vgg] [sr] [sr-groups] [quick]   (default: lenet5; quick = subsets)
# sr: Real-ESRGAN x2 at 64x48, pattern 8x, label-free on vtest.avi frames (first 80% train,
# last 20% test); the metric is the PSNR of the pruned model's output against the dense one.
# sr-groups: the compiler's 8x plan (bench/compile) with free filters and with filter groups of 4
# (same kept MACs), one-shot, to price the group structure the fast kernels want.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLI="${PRUNELAB_CLI:-$ROOT/build/bin/prunelab-cli}"
OUT="${PRUNELAB_BENCH_OUT:-$ROOT/build/bench-admm}"
PLANS="$ROOT/bench/admm"
THREADS="${THREADS:-1}"
mkdir -p "$OUT"
[ -x "$CLI" ] || { echo "build first: ./prunelab build" >&2; exit 1; }

want_lenet=0 want_vgg=0 want_sr=0 want_groups=0 quick=0
for a in "$@"; do
    case "$a" in
        lenet5) want_lenet=1 ;;
        vgg) want_vgg=1 ;;
        sr) want_sr=1 ;;
        sr-groups) want_groups=1 ;;
        quick) quick=1 ;;
        *) echo "unknown argument '$a' (lenet5, vgg, sr, sr-groups, quick)" >&2; exit 1 ;;
    esac
done
[ $want_lenet = 1 ] || [ $want_vgg = 1 ] || [ $want_sr = 1 ] || [ $want_groups = 1 ] ||
    want_lenet=1

# limits: the quick run uses subsets (numbers then only compare methods with each other).
limits=()
[ $quick = 1 ] && limits=(--limit 6000 --test-limit 2000)

# JOBS runs at a time (default 2, one per core), each on THREADS threads: two single-threaded
# trainings use a 2-core machine better than one on two threads. Each row's wall time is its own.
JOBS="${JOBS:-2}"
rows=()  # "name|model / plan|method" in print order

# start NAME PLAN_LABEL METHOD_LABEL COMMAND...: runs in the background (at most JOBS at once),
# keeps the log, and leaves "accuracy seconds" (from the CLI's last line) in NAME.row.
start() {
    local name="$1" label="$2" method="$3"; shift 3
    rows+=("$name|$label|$method")
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    (
        t0=$(date +%s.%N)
        if "$@" >"$OUT/$name.log" 2>"$OUT/$name.err"; then
            t1=$(date +%s.%N)
            acc=$(grep -Eo '(accuracy|PSNR vs dense \(dB\)) [0-9.]+' "$OUT/$name.log" | tail -1 |
                awk '{print $NF}')
            echo "$acc $(echo "$t1 - $t0" | bc)" >"$OUT/$name.row"
        else
            tail -5 "$OUT/$name.err" >&2
            echo "failed 0" >"$OUT/$name.row"
        fi
    ) &
}

print_rows() {
    wait
    local r name label method acc secs
    for r in "${rows[@]}"; do
        IFS='|' read -r name label method <<<"$r"
        read -r acc secs <"$OUT/$name.row"
        printf '| %-26s | %-24s | %9s | %6.0f s |\n' "$label" "$method" "$acc" "$secs"
    done
    rows=()
}

# bench_arch ARCH DENSE_EPOCHS BUDGET FINE_TUNE UPDATES "ADMM RHO FLAGS" PLAN...
bench_arch() {
    local arch="$1" dense_epochs="$2" budget="$3" ft="$4" updates="$5" rho_flags="$6"
    shift 6
    local dense="$OUT/$arch-dense.onnx"
    start "$arch-dense" "$arch dense" "($dense_epochs epochs)" "$CLI" train-base --arch "$arch" \
        --data fashion-mnist --epochs "$dense_epochs" --threads "$THREADS" --seed 1 \
        --out "$dense" "${limits[@]}"
    print_rows  # every retraining starts from this model
    # The control: the dense model trained for the same extra epochs with nothing pruned. The
    # retrained models get those epochs too, so this, not the first row, is what they must match.
    start "$arch-dense-continued" "$arch dense, continued" "+$budget epochs, no pruning" "$CLI" \
        admm "$dense" --plan "$PLANS/dense.json" --method one-shot --data fashion-mnist \
        --epochs "$budget" --fine-tune-epochs "$budget" --threads "$THREADS" --seed 1 \
        --out "$OUT/$arch-dense-continued.onnx" "${limits[@]}"
    local plan p method extra
    for plan in "$@"; do
        p=$(basename "$plan" .json)
        for method in one-shot gradual admm; do
            extra=()
            # shellcheck disable=SC2206  # the rho flags are words on purpose
            [ "$method" = admm ] && extra=($rho_flags)
            start "$p-$method" "$p" "$method ($budget epochs)" "$CLI" admm "$dense" \
                --plan "$plan" --method "$method" --data fashion-mnist --epochs "$budget" \
                --fine-tune-epochs "$ft" --updates-per-epoch "$updates" --threads "$THREADS" \
                --seed 1 --history "$OUT/$p-$method.csv" --out "$OUT/$p-$method.onnx" \
                "${limits[@]}" "${extra[@]}"
        done
    done
    print_rows
}

echo "ADMM benchmark, Fashion-MNIST test set, seed 1, $JOBS run(s) at a time on $THREADS thread(s) each, $(nproc) cores$([ $quick = 1 ] && echo ', quick subsets')"
echo
echo "| model / plan               | method                   |  accuracy |  wall    |"
echo "|----------------------------|--------------------------|-----------|----------|"
if [ $want_lenet = 1 ]; then
    bench_arch lenet5 5 6 2 6 "" "$PLANS/lenet5-ns95.json"
fi
if [ $want_vgg = 1 ]; then
    # vgg-small trains on the first 30000 training pictures (the full test set measures it) to
    # keep the nine retrainings near half an hour on 2 cores. Its BatchNormalization trains;
    # ADMM gets 2 Z/U updates per epoch: each W-step needs enough Adam steps (lr 1e-3, weights
    # ~0.05) to approach its Z; with 8 updates per epoch on the quick subset (12 steps each) Z
    # oscillated and ADMM fell 2-4 points behind one-shot. Few updates, so rho starts high.
    [ $quick = 1 ] || limits=(--limit 30000)
    bench_arch vgg-small 4 4 2 2 "--rho 1e-2 --rho-multiplier 3 --rho-max 1" \
        "$PLANS/vgg-pattern8.json" "$PLANS/vgg-tile75.json" "$PLANS/vgg-structured50.json"
fi
if [ $want_sr = 1 ]; then
    # Real-ESRGAN x2 distilled from itself at 64x48 on 192 training frames: 48 steps an epoch, 6
    # epochs (2 fine-tune). Distillation's MSE is ~1e-5, so rho starts 10x lower than LeNet's;
    # one Z/U update per epoch gives each W-step all of its 48 steps.
    video="${XDG_CACHE_HOME:-$HOME/.cache}/prunelab/video/vtest.avi"
    for method in one-shot gradual admm; do
        extra=()
        [ "$method" = admm ] && extra=(--rho 1e-4 --rho-multiplier 3 --rho-max 1e-2)
        start "sr-x2-$method" "zoom-x2 patdnn-8 (PSNR dB)" "$method (6 epochs)" "$CLI" admm \
            zoom-x2 --size 64x48 --preset patdnn-8 --method "$method" \
            --data "frames:$video:train" --test "frames:$video:test" --limit 192 \
            --test-limit 32 --batch 4 --lr 1e-4 --epochs 6 --fine-tune-epochs 2 \
            --updates-per-epoch 1 --threads "$THREADS" --seed 1 \
            --history "$OUT/sr-x2-$method.csv" --out "$OUT/sr-x2-$method.onnx" "${extra[@]}"
    done
    print_rows
fi
if [ $want_groups = 1 ]; then
    video="${XDG_CACHE_HOME:-$HOME/.cache}/prunelab/video/vtest.avi"
    for plan in esrgan-pattern-8x esrgan-pattern-8x-g4; do
        start "sr-x2-$plan" "zoom-x2 $plan (PSNR dB)" "one-shot (6 epochs)" "$CLI" admm \
            zoom-x2 --size 64x48 --plan "$ROOT/bench/compile/$plan.json" --method one-shot \
            --data "frames:$video:train" --test "frames:$video:test" --limit 192 \
            --test-limit 32 --batch 4 --lr 1e-4 --epochs 6 --fine-tune-epochs 2 \
            --updates-per-epoch 1 --threads "$THREADS" --seed 1 \
            --history "$OUT/sr-x2-$plan.csv" --out "$OUT/sr-x2-$plan.onnx"
    done
    print_rows
fi
echo
echo "Logs, histories (CSV) and models in $OUT"
