#!/usr/bin/env bash
# The ADMM accuracy benchmark (issue 5): dense vs one-shot + fine-tune vs gradual magnitude vs
# ADMM on Fashion-MNIST, seeds 1-3 (SEEDS) and the same epoch budget for every method, ADMM with
# its defaults, through the real prunelab-cli. Prints a Markdown table (mean and spread over the
# seeds, ADMM's convergence, wall time); not a test: it takes minutes to hours.
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
# Every retraining runs once per seed (data order and initial values differ); the dense start is
# trained once, with seed 1. A row shows the mean and the spread (lowest-highest) over seeds.
SEEDS="${SEEDS:-1 2 3}"
rows=()  # "name|model / plan|method|runs" in print order (runs: the names of its NAME.row files)

# start NAME PLAN_LABEL METHOD_LABEL COMMAND...: runs in the background (at most JOBS at once),
# keeps the log, and leaves "metric seconds hard-prune-metric primal-peak primal-last" (the
# last three from the history CSV, NAME.csv, when there is one) in NAME.row.
start() {
    local name="$1" label="$2" method="$3"; shift 3
    rows+=("$name|$label|$method|$name")
    rm -f "$OUT/$name.row"  # a row from an earlier bench must not count in this one
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    (
        t0=$(date +%s.%N)
        if "$@" >"$OUT/$name.log" 2>"$OUT/$name.err"; then
            t1=$(date +%s.%N)
            acc=$(grep -Eo '(accuracy|PSNR vs dense \(dB\)) [0-9.]+' "$OUT/$name.log" | tail -1 |
                awk '{print $NF}')
            # The history: the metric right after the hard prune (the ADMM phase's last record)
            # and ||W - Z|| at its peak and at the last Z/U update.
            conv="- - -"
            [ -f "$OUT/$name.csv" ] && conv=$(awk -F, 'NR > 1 && $1 == "admm" {
                    hp = $6; if ($4 >= 0) { last = $9; if ($9 > peak) peak = $9 } }
                END { if (peak > 0) print hp, peak, last; else print "- - -" }' "$OUT/$name.csv")
            echo "$acc $(echo "$t1 - $t0" | bc) $conv" >"$OUT/$name.row"
        else
            tail -5 "$OUT/$name.err" >&2
            echo "failed 0 - - -" >"$OUT/$name.row"
        fi
    ) &
}

# start_seeds NAME PLAN_LABEL METHOD_LABEL COMMAND... (without --seed): one run per seed, each
# with --seed N and named NAME-sN ("@" in the command becomes NAME-sN); one row for them all.
start_seeds() {
    local name="$1" label="$2" method="$3"; shift 3
    local saved=("${rows[@]}") seed args a runs=""
    for seed in $SEEDS; do
        args=()
        for a in "$@"; do args+=("${a//@/$name-s$seed}"); done
        start "$name-s$seed" "$label" "$method" "${args[@]}" --seed "$seed"
        runs+="${runs:+ }$name-s$seed"
    done
    rows=("${saved[@]}" "$name|$label|$method|$runs")
}

print_rows() {
    wait
    local r name label method runs n
    for r in "${rows[@]}"; do
        IFS='|' read -r name label method runs <<<"$r"
        local files=()
        for n in $runs; do files+=("$OUT/$n.row"); done
        # mean and lowest-highest of the metric; mean hard-prune metric; the smallest fall of
        # ||W - Z|| from its peak over the seeds; mean wall time.
        cat "${files[@]}" | awk -v label="$label" -v method="$method" '
            { n++; if ($1 == "failed") { bad++; next }
              a[n] = $1; s += $1; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1
              t += $2; if ($3 != "-") { hp += $3; nh++; f = $4 / ($5 > 0 ? $5 : 1e-9)
                                        if (fall == "" || f < fall) fall = f } }
            END { ok = n - bad
                  if (ok == 0) { printf "| %-26s | %-26s | failed |\n", label, method; exit }
                  spread = n > 1 ? sprintf("%.4f-%.4f", min, max) : "-"
                  printf "| %-26s | %-26s | %7.4f | %-15s | %7s | %7s | %5.0f s |\n", label,
                      method " x" ok, s / ok, spread, nh ? sprintf("%.4f", hp / nh) : "-",
                      nh ? sprintf("%.0fx", fall) : "-", t / ok }'
    done
    rows=()
}

# bench_arch ARCH DENSE_EPOCHS BUDGET FINE_TUNE PLAN...: ADMM with its defaults (automatic
# W-step length, rho schedule and stages), as a new user gets them.
bench_arch() {
    local arch="$1" dense_epochs="$2" budget="$3" ft="$4"
    shift 4
    local dense="$OUT/$arch-dense.onnx"
    start "$arch-dense" "$arch dense" "($dense_epochs epochs)" "$CLI" train-base --arch "$arch" \
        --data fashion-mnist --epochs "$dense_epochs" --threads "$THREADS" --seed 1 \
        --out "$dense" "${limits[@]}"
    print_rows  # every retraining starts from this model
    # The control: the dense model trained for the same extra epochs with nothing pruned. The
    # retrained models get those epochs too, so this, not the first row, is what they must match.
    start_seeds "$arch-dense-continued" "$arch dense, continued" "+$budget epochs, no pruning" \
        "$CLI" admm "$dense" --plan "$PLANS/dense.json" --method one-shot --data fashion-mnist \
        --epochs "$budget" --fine-tune-epochs "$budget" --threads "$THREADS" \
        --out "$OUT/@.onnx" "${limits[@]}"
    local plan p method
    for plan in "$@"; do
        p=$(basename "$plan" .json)
        for method in one-shot gradual admm; do
            start_seeds "$p-$method" "$p" "$method ($budget epochs)" "$CLI" admm "$dense" \
                --plan "$plan" --method "$method" --data fashion-mnist --epochs "$budget" \
                --fine-tune-epochs "$ft" --threads "$THREADS" --history "$OUT/@.csv" \
                --out "$OUT/@.onnx" "${limits[@]}"
        done
    done
    print_rows
}

echo "ADMM benchmark, Fashion-MNIST test set, seeds $SEEDS, $JOBS run(s) at a time on $THREADS thread(s) each, $(nproc) cores$([ $quick = 1 ] && echo ', quick subsets')"
echo "(metric: mean over seeds; after hard prune: ADMM's metric straight after it, before the"
echo " masked fine-tune; W-Z fall: ||W - Z|| at its peak over its last value, the smallest seed's)"
echo
echo "| model / plan               | method                     |  metric | lowest-highest  | after hard prune | W-Z fall |    wall |"
echo "|----------------------------|----------------------------|---------|-----------------|------------------|----------|---------|"
if [ $want_lenet = 1 ]; then
    bench_arch lenet5 5 6 2 "$PLANS/lenet5-ns95.json" "$PLANS/lenet5-ns98.json"
fi
if [ $want_vgg = 1 ]; then
    # vgg-small trains on the first 30000 training pictures (the full test set measures it) to
    # keep the retrainings near half an hour a seed on 2 cores. Its BatchNormalization trains.
    # pattern8-c85: 8 patterns and 85% of the kernels removed, 13.6x fewer conv MACs (the first
    # conv stays dense); the tile-wise and structured plans: VGG_MORE=1.
    [ $quick = 1 ] || limits=(--limit 30000)
    vgg_plans=("$PLANS/vgg-pattern8-c85.json")
    [ "${VGG_MORE:-0}" = 1 ] &&
        vgg_plans+=("$PLANS/vgg-pattern8.json" "$PLANS/vgg-tile75.json" "$PLANS/vgg-structured50.json")
    bench_arch vgg-small 4 4 2 "${vgg_plans[@]}"
fi
if [ $want_sr = 1 ]; then
    # Real-ESRGAN x2 distilled from itself at 64x48 on 192 training frames: 48 steps an epoch, 6
    # epochs (2 fine-tune), the same for every method; ADMM with its defaults. SR_LR: the
    # learning rate of every method (1e-3 by default; 1e-4 left ADMM no steps to reach Z).
    video="${XDG_CACHE_HOME:-$HOME/.cache}/prunelab/video/vtest.avi"
    for method in one-shot gradual admm; do
        start_seeds "sr-x2-$method" "zoom-x2 patdnn-8 (PSNR dB)" "$method (6 epochs)" "$CLI" \
            admm zoom-x2 --size 64x48 --preset patdnn-8 --method "$method" \
            --data "frames:$video:train" --test "frames:$video:test" --limit 192 \
            --test-limit 32 --batch 4 --lr "${SR_LR:-1e-3}" --epochs 6 --fine-tune-epochs 2 \
            --threads "$THREADS" --history "$OUT/@.csv" --out "$OUT/@.onnx"
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
