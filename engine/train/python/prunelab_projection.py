"""PruneLab's pruning projections in PyTorch, bit for bit the same as the engine's prune::applyPlan
(engine/prune/*.cpp), driven by the projection spec that prune::projectionSpec writes. The exported
train.py calls project() for ADMM's Z-step and the hard prune; `--check DIR` is the engine's test.
"""
# Why bit for bit: a mask that differs in one weight makes the exported run prune a different
# model from the one PruneLab shows. So every score below is computed in float64 as the C++ does,
# every sum in the C++'s order (a running sum, via cumsum or plain adds; never torch.sum, whose
# order is unspecified), and every ranking breaks ties the way prune_util.cpp does.
# Pure torch + stdlib; weights go through the CPU (a GPU scan or sort may order sums differently).

import json
import math
import os
import sys

import torch

SPEC_VERSION = 1

# ---- parameters and rounding (scheme.cpp, prune_util.cpp) ----


def number(params, key, fallback):
    """ParamValues::number: a number or a flag (true = 1); anything else takes the fallback."""
    v = params.get(key, fallback)
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    return float(fallback)


def choice(params, key, fallback):
    """ParamValues::choice: a string value, else the fallback."""
    v = params.get(key, fallback)
    return v if isinstance(v, str) else fallback


def llround(x):
    """std::llround: to nearest, halves away from zero (Python's round() goes to even)."""
    f = math.floor(abs(x))
    r = f + 1 if abs(x) - f >= 0.5 else f  # abs(x) - floor is exact for doubles
    return int(-r if x < 0 else r)


def kept_count(rate, n):
    """keptCount(): round((1 - rate) * n) in double, the one rounding every rate scheme uses."""
    return llround((1.0 - rate) * float(n))


# ---- rankings (prune_util.cpp) ----


def order_by_score_descending(scores):
    """Indices by score, largest first, equal scores by lower index (a stable sort)."""
    # Sorting the negated scores ascending with a stable sort keeps equal scores in index order;
    # negation is exact, and -0.0 compares equal to 0.0.
    return torch.sort(-scores, stable=True).indices


def keep_largest(scores, k):
    """keepLargest(): a bool tensor marking the k best under (score desc, index asc)."""
    n = scores.numel()
    k = max(0, min(int(k), n))
    keep = torch.zeros(n, dtype=torch.bool)
    if k > 0:
        keep[order_by_score_descending(scores)[:k]] = True
    return keep


def running_sum(x, dim):
    """The sum along `dim` as a loop `s = 0; s += x[i]` computes it, in x's dtype.

    torch.sum may add in any order (pairwise, vectorised); cumsum on the CPU adds one element
    after another, so its last element is exactly the C++ loop's sum.
    """
    if x.shape[dim] == 0:
        shape = list(x.shape)
        del shape[dim]
        return torch.zeros(shape, dtype=x.dtype)
    return torch.cumsum(x, dim=dim).select(dim, -1)


def from_mask(w, keep):
    """projectionFromMask(): kept weights as they are, the rest +0 (never -0); mask as 0/1."""
    keep = keep.reshape(w.shape)
    return torch.where(keep, w, torch.zeros_like(w)), keep


def same_bits(a, b):
    """Tensor::identical: byte equality (0.0 and -0.0 differ, as they do for memcmp)."""
    return torch.equal(a.view(torch.int32), b.view(torch.int32))


def to_fixed_point(weights, one_pass):
    """projectToFixedPoint(): repeat a pass on its own output until the weights stop changing.

    Schemes that learn choices from the weights (pattern sets, tiles) can choose differently on
    weights that already hold zeros; the engine repeats, so we repeat the same way.
    """
    current = one_pass(weights)
    while True:
        nxt = one_pass([w for w, _ in current])
        if all(same_bits(a[0], b[0]) for a, b in zip(nxt, current)):
            return current
        current = nxt


# ---- non_structured.cpp ----


def project_non_structured(weights, params):
    rate = number(params, "rate", 0.5)
    if choice(params, "scope", "layer") != "global":
        out = []
        for w in weights:
            scores = w.double().abs().flatten()
            out.append(from_mask(w, keep_largest(scores, kept_count(rate, scores.numel()))))
        return out
    # Global: each layer first keeps its largest max(1, ceil(floor * n)) (its floor), then the
    # rest of the budget goes to the largest remaining weights of all layers, ties by (layer,
    # index): concatenating the rest in layer order makes keep_largest's tie-break exactly that.
    floor = number(params, "floor", 0.01)
    keeps, rest, total, floor_kept = [], [], 0, 0
    for w in weights:
        scores = w.double().abs().flatten()
        n = scores.numel()
        total += n
        floor_count = min(max(math.ceil(floor * float(n)), 1), n)
        keep = keep_largest(scores, floor_count)
        floor_kept += floor_count
        keeps.append(keep)
        rest.append(scores[~keep])
    budget = max(0, kept_count(rate, total) - floor_kept)
    rest_keep = keep_largest(torch.cat(rest), budget)
    out, at = [], 0
    for w, keep in zip(weights, keeps):
        free = (~keep).nonzero().flatten()
        keep[free] = rest_keep[at:at + free.numel()]
        at += free.numel()
        out.append(from_mask(w, keep))
    return out


# ---- pattern.cpp ----

CENTRE_BIT = 4  # position (1, 1) of a 3x3 kernel: bit y * 3 + x

# The 56 candidates: 4 of 9 positions with the centre, in increasing mask value (breaks ties).
CANDIDATES = [m for m in range(512) if (m >> CENTRE_BIT) & 1 and bin(m).count("1") == 4]


def kept_energy(sq, pattern):
    """keptEnergy(): the squares a pattern keeps, added in bit order as the C++ loop does."""
    e = None
    for p in range(9):
        if (pattern >> p) & 1:
            e = sq[..., p] if e is None else e + sq[..., p]
    return e


def best_pattern(sq, patterns):
    """bestPattern(): per kernel, the index of the pattern keeping the most energy; the first
    wins ties. Returns (index, its energy)."""
    best = torch.zeros(sq.shape[:-1], dtype=torch.long)
    best_energy = torch.full(sq.shape[:-1], -1.0, dtype=torch.float64)
    for c, pattern in enumerate(patterns):
        e = kept_energy(sq, pattern)
        better = e > best_energy  # strictly greater: an equal later pattern does not win
        best = torch.where(better, torch.full_like(best, c), best)
        best_energy = torch.where(better, e, best_energy)
    return best, best_energy


def parse_pattern_set(text):
    """The "pattern_set" parameter: comma-separated decimal 9-bit masks, each 4 positions with
    the centre; the set the trainer fixed after the first Z-step (as PatDNN does)."""
    patterns = []
    for item in text.split(","):
        if not item.isdigit():
            raise ValueError(f"parameter 'pattern_set': '{item}' is not a 3x3 pattern")
        mask = int(item)
        if mask > 511 or not (mask >> CENTRE_BIT) & 1 or bin(mask).count("1") != 4:
            raise ValueError(f"parameter 'pattern_set': '{item}' is not a 3x3 pattern "
                             "(4 positions with the centre)")
        if mask in patterns:
            raise ValueError(f"parameter 'pattern_set': pattern {item} is listed twice")
        patterns.append(mask)
    if not 1 <= len(patterns) <= 56:
        raise ValueError("parameter 'pattern_set': needs 1 to 56 patterns")
    return patterns


def choose_set(counts, k):
    """chooseSet(): the k most frequent candidates, most frequent first, ties by candidate
    order (Python's sort is stable)."""
    order = sorted(range(len(CANDIDATES)), key=lambda c: -counts[c])
    return [CANDIDATES[c] for c in order[:k]]


def pattern_layer(w, groups, patterns, rate, group):
    """projectLayer(): steps 3 and 4 on group kernels (a single kernel when group is 1)."""
    out_ch, in_per_group = w.shape[0], w.shape[1]
    out_per_group = out_ch // max(groups, 1)
    sq = w.double().reshape(out_ch, in_per_group, 9) ** 2  # float*float is exact in double
    # Filter groups: consecutive filters, never across a conv group; the last may be short.
    starts, sizes = [], []
    o0 = 0
    while o0 < out_ch:
        end = min(o0 + group, (o0 // out_per_group + 1) * out_per_group)
        starts.append(o0)
        sizes.append(end - o0)
        o0 = end
    starts_t, sizes_t = torch.tensor(starts), torch.tensor(sizes)
    # Summed squares of each group kernel, member by member in filter order (the C++ order).
    acc = sq[starts_t].clone()
    for j in range(1, max(sizes)):
        has = sizes_t > j
        acc[has] = acc[has] + sq[starts_t[has] + j]
    chosen, energy = best_pattern(acc, patterns)  # [groups of filters, in_per_group]
    # Connectivity: per filter, so a short last group is not removed for being small.
    norms = (energy / sizes_t.double().unsqueeze(1)).flatten()
    removed = llround(rate * float(norms.numel()))
    kept = keep_largest(norms, norms.numel() - removed).reshape(chosen.shape)
    bits = torch.tensor([[(p >> b) & 1 == 1 for b in range(9)] for p in patterns])
    group_mask = bits[chosen] & kept.unsqueeze(-1)  # [groups of filters, in_per_group, 9]
    filter_group = torch.repeat_interleave(torch.arange(len(starts)), sizes_t)
    return from_mask(w, group_mask[filter_group])


def project_pattern(weights, groups, params):
    k = int(number(params, "patterns", 8))
    rate = number(params, "connectivity_rate", 0)
    model_scope = choice(params, "pattern_scope", "layer") == "model"
    group = int(number(params, "filter_group", 1))
    fixed_text = choice(params, "pattern_set", "")
    fixed = parse_pattern_set(fixed_text) if fixed_text else None
    for w in weights:
        if w.shape[2] != 3 or w.shape[3] != 3:
            raise ValueError(f"pattern pruning needs 3x3 kernels, got {tuple(w.shape)}")

    def one_pass(unit):
        if fixed is not None:  # steps 1-2 skipped: the set is given
            return [pattern_layer(w, g, fixed, rate, group) for w, g in zip(unit, groups)]
        # Step 1: per layer, how often each candidate is a kernel's best (all-zero kernels
        # carry no information and are not counted).
        counts = []
        for w in unit:
            sq = w.double().reshape(-1, 9) ** 2
            best, _ = best_pattern(sq, CANDIDATES)
            informative = (sq != 0).any(dim=1)
            counts.append(torch.bincount(best[informative], minlength=len(CANDIDATES)).tolist())
        if model_scope:
            total = [sum(c[i] for c in counts) for i in range(len(CANDIDATES))]
            counts = [total] * len(unit)
        # Steps 2-4.
        return [pattern_layer(w, g, choose_set(c, k), rate, group)
                for w, g, c in zip(unit, groups, counts)]

    return to_fixed_point(weights, one_pass)  # step 5


# ---- tile_wise.cpp ----


def tile_layer(w, rate, width, share):
    rows = w.shape[0]
    cols = w.numel() // rows
    n = rows * cols
    sq = w.double().reshape(rows, cols) ** 2
    target = n - kept_count(rate, n)
    # Step 1: whole columns, the smallest L2 norms.
    cols_removed = math.floor(share * float(target) / float(rows))
    cols_removed = max(cols_removed, target - (rows - 1) * cols)
    col_norm = running_sum(sq, 0)
    kept_columns = keep_largest(col_norm, cols - cols_removed).nonzero().flatten()
    # Step 2: tiles of `width` over the kept columns, in order.
    kept = kept_columns.numel()
    tiles = (kept + width - 1) // width
    tile_width = [min(width, kept - t * width) for t in range(tiles)]
    # Step 3: (tile, row) segments, index t * rows + r, scored by mean squared weight.
    sub = sq[:, kept_columns]
    seg_score = torch.cat([running_sum(sub[:, t * width:t * width + tile_width[t]], 1)
                           / float(tile_width[t]) for t in range(tiles)]) if tiles else \
        torch.zeros(0, dtype=torch.float64)
    order = order_by_score_descending(seg_score).tolist()
    row_budget = target - cols_removed * rows
    seg_kept = torch.ones(tiles * rows, dtype=torch.bool)
    rows_removed = [0] * tiles
    removed = 0
    for s in reversed(order):  # smallest score first
        t = s // rows
        if rows_removed[t] == rows - 1:
            continue  # every tile keeps a row
        if removed + tile_width[t] > row_budget:
            break
        removed += tile_width[t]
        rows_removed[t] += 1
        seg_kept[s] = False
    keep = torch.zeros(rows, cols, dtype=torch.bool)
    tile_of_column = torch.arange(kept) // width
    keep[:, kept_columns] = seg_kept.reshape(tiles, rows)[tile_of_column].t()
    return from_mask(w, keep)


def project_tile_wise(weights, params):
    rate = number(params, "rate", 0.5)
    width = int(number(params, "tile_width", 64))
    share = number(params, "column_share", 0.25)
    return to_fixed_point(weights,
                          lambda unit: [tile_layer(w, rate, width, share) for w in unit])


# ---- n_m.cpp ----


def project_n_m(weights, params):
    n = int(number(params, "n", 2))
    m = int(number(params, "m", 4))
    if n > m:
        raise ValueError(f"parameter 'n' = {n} must not exceed 'm' = {m}")
    out = []
    for w in weights:
        o, i = w.shape[0], w.shape[1]
        spatial = w.shape[2] * w.shape[3]
        g = (i + m - 1) // m
        # Groups run along input channels: [out][spatial][group][m], the tail padded with -inf,
        # which is never larger than a real |w|, so it does not change any real rank.
        scores = w.double().abs().reshape(o, i, spatial).permute(0, 2, 1)
        pad = torch.full((o, spatial, g * m - i), -math.inf, dtype=torch.float64)
        scores = torch.cat([scores, pad], dim=2).reshape(o, spatial, g, m)
        # An element is among keepLargest's k iff fewer than k elements beat it under
        # (score desc, lower channel first).
        a, b = scores.unsqueeze(-1), scores.unsqueeze(-2)  # a: element j, b: element k
        lower = torch.arange(m).unsqueeze(0) < torch.arange(m).unsqueeze(1)  # [j, k]: k < j
        rank = ((b > a) | ((b == a) & lower)).sum(-1)
        lengths = torch.tensor([min(m, i - s * m) for s in range(g)])
        keep_n = (n * lengths + m - 1) // m  # a short tail keeps ceil(n * len / m)
        keep = (rank < keep_n.unsqueeze(-1)).reshape(o, spatial, g * m)[:, :, :i]
        out.append(from_mask(w, keep.permute(0, 2, 1).reshape(w.shape)))
    return out


# ---- structured.cpp, shrink.cpp (selectKeptChannels, maskStructured) ----


def kept_channels(weights, group, params):
    """The structured scheme's ranking over a group's producer filters (axis forced to
    filters): channel c scores the sum over producers of the norm of filter offset + c."""
    rate = number(params, "rate", 0.5)
    l2 = choice(params, "norm", "l1") == "l2"
    channels = group["channels"]
    score = torch.zeros(channels, dtype=torch.float64)
    for p in group["producers"]:
        w = weights[p["layer"]][p["offset"]:p["offset"] + channels].double().reshape(channels, -1)
        part = running_sum(w * w if l2 else w.abs(), 1)
        score = score + (part.sqrt() if l2 else part)
    remove = min(channels, llround(rate * float(channels)))
    keep = torch.ones(channels, dtype=torch.bool)
    keep[torch.sort(score, stable=True).indices[:remove]] = False  # lowest first, lower index
    if not keep.any():
        raise ValueError(f"group '{group['description']}': the rate removes all {channels} "
                         "channels; a group must keep at least one")
    return keep


def project_structured(unit, weights):
    masks = {i: torch.ones(weights[i].shape, dtype=torch.bool) for i in unit["layers"]}
    for group in unit["groups"]:
        if not group["prunable"]:
            continue
        keep = kept_channels(weights, group, unit["params"])
        if group["keep_all"]:  # a producer stays dense; ranked first all the same, as ours
            continue
        c = group["channels"]
        for m in group["producers"] + group["depthwise"]:  # filters
            masks[m["layer"]][m["offset"]:m["offset"] + c] &= keep.view(-1, 1, 1, 1)
        for m in group["consumers"]:  # input channels
            masks[m["layer"]][:, m["offset"]:m["offset"] + c] &= keep.view(1, -1, 1, 1)
    return {i: from_mask(weights[i], masks[i]) for i in unit["layers"]}


# ---- the spec ----


def project(spec, weights):
    """Projects every prunable layer as applyPlan does with the spec's plan.

    weights: one float32 tensor per spec["layers"] entry, shape [out][in/groups][kh][kw]
    (Gemm/MatMul [out][in][1][1]), any device. Returns (projected weights, masks as float32 0/1),
    one each per layer, on the weights' devices; layers no unit names stay as they are with a
    mask of ones. Raises ValueError on a spec or weights that do not fit.
    """
    if spec.get("version") != SPEC_VERSION:
        raise ValueError(f"projection spec version {spec.get('version')}, this file reads "
                         f"{SPEC_VERSION}")
    layers = spec["layers"]
    if len(weights) != len(layers):
        raise ValueError(f"{len(weights)} weight tensors for {len(layers)} layers")
    cpu = []
    for w, layer in zip(weights, layers):
        if list(w.shape) != list(layer["shape"]):
            raise ValueError(f"layer '{layer['name']}': weights {list(w.shape)}, the spec says "
                             f"{layer['shape']}")
        cpu.append(w.detach().to("cpu", torch.float32).contiguous())
    result = [(w.clone(), torch.ones(w.shape, dtype=torch.bool)) for w in cpu]
    for unit in spec["units"]:
        scheme, params, members = unit["scheme"], unit["params"], unit["layers"]
        unit_w = [cpu[i] for i in members]
        for i in members if scheme != "structured" else []:  # as gemmView() checks
            if not torch.isfinite(cpu[i]).all():  # a NaN would make every ranking arbitrary
                raise ValueError(f"layer '{layers[i]['name']}': weights contain NaN or infinity")
        if scheme == "structured":
            for i, r in project_structured(unit, cpu).items():
                result[i] = r
            continue
        if scheme == "non_structured":
            projected = project_non_structured(unit_w, params)
        elif scheme == "pattern":
            projected = project_pattern(unit_w, [layers[i]["groups"] for i in members], params)
        elif scheme == "tile_wise":
            projected = project_tile_wise(unit_w, params)
        elif scheme == "n_m":
            projected = project_n_m(unit_w, params)
        else:
            raise ValueError(f"unknown scheme '{scheme}'")
        for i, r in zip(members, projected):
            result[i] = r
    out_w = [w.to(src.device) for (w, _), src in zip(result, weights)]
    out_m = [m.to(torch.float32).to(src.device) for (_, m), src in zip(result, weights)]
    return out_w, out_m


# ---- --check DIR: the engine's test (tests/engine/prune/projection_test.cpp) ----


def _read(path, dtype, shape):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=dtype).reshape(shape)


def check_case(case):
    """One case folder: spec.json, w<i>.f32 (little-endian float32 weights), and the engine's
    want_w<i>.f32 and want_m<i>.u8. Returns a list of mismatch messages."""
    with open(os.path.join(case, "spec.json")) as f:
        spec = json.load(f)
    shapes = [layer["shape"] for layer in spec["layers"]]
    weights = [_read(os.path.join(case, f"w{i}.f32"), torch.float32, s)
               for i, s in enumerate(shapes)]
    got_w, got_m = project(spec, weights)
    problems = []
    for i, s in enumerate(shapes):
        want_w = _read(os.path.join(case, f"want_w{i}.f32"), torch.float32, s)
        want_m = _read(os.path.join(case, f"want_m{i}.u8"), torch.uint8, s)
        name = spec["layers"][i]["name"]
        bad_m = (got_m[i].to(torch.uint8) != want_m).sum().item()
        bad_w = (got_w[i].view(torch.int32) != want_w.view(torch.int32)).sum().item()
        if bad_m or bad_w:
            problems.append(f"layer {i} '{name}': {bad_m} mask and {bad_w} weight elements "
                            "differ from the engine's")
    return problems


def main(argv):
    if len(argv) != 3 or argv[1] != "--check":
        print("usage: prunelab_projection.py --check DIR  (DIR/<case>/spec.json ...)",
              file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # the test runs beside others; the results do not depend on it
    cases = sorted(d for d in os.listdir(argv[2])
                   if os.path.isfile(os.path.join(argv[2], d, "spec.json")))
    if not cases:
        print(f"no cases in {argv[2]}", file=sys.stderr)
        return 2
    failed = 0
    for case in cases:
        problems = check_case(os.path.join(argv[2], case))
        print(f"{'FAIL' if problems else 'ok'}   {case}")
        for p in problems:
            print(f"       {p}")
        failed += bool(problems)
    print(f"{len(cases) - failed} of {len(cases)} cases bit-for-bit equal")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
