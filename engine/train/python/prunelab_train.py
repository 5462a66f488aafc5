#!/usr/bin/env python3
# PruneLab's ADMM retraining exported to PyTorch (`prunelab-cli admm ... --export-torch DIR`
# writes this file with the model, weights, data, plan and settings beside it), so a run that
# outgrows one machine goes on under DistributedDataParallel. README.md says how to run it.
#
# Sections: 1. data order, 2. the model (our IR interpreted with torch ops), 3. the projections
# and the ADMM schedule, 4. distributed set-up, 5. checkpoints, 6. the training loop, 7. ONNX.
# It mirrors engine/train (torch_module.cpp, trainer.cpp, data.cpp): one process sees the same
# batches and takes the same optimiser steps as PruneLab's own trainer.

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# ---- 1. Data order: engine/train/data.cpp's epochOrder, bit for bit ----------------------------

M64 = (1 << 64) - 1


def splitmix64(state):
    """(new state, output) of splitmix64 (Steele, Lea, Flood 2014)."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def epoch_order(size, seed, epoch):
    """The permutation of range(size) our trainer uses in `epoch` (Fisher-Yates from the back,
    uniformBelow by rejection, so no modulo bias and the same order on every platform)."""
    order = list(range(size))
    state, z = splitmix64(seed & M64)
    state = z ^ (((epoch & 0xFFFFFFFF) * 0xD1B54A32D192ED03) & M64)
    for i in range(size, 1, -1):
        threshold = ((1 << 64) - i) % i
        while True:
            state, r = splitmix64(state)
            if r >= threshold:
                j = r % i
                break
        order[i - 1], order[j] = order[j], order[i - 1]
    return order


# ---- 2. The model: engine/train/torch_module.cpp in Python ------------------------------------

DTYPES = {"float32": np.float32, "float64": np.float64, "int8": np.int8, "uint8": np.uint8,
          "int32": np.int32, "int64": np.int64, "bool": np.bool_}
TORCH_DTYPES = {1: torch.float32, 3: torch.float64, 4: torch.int8, 5: torch.uint8,
                6: torch.int32, 7: torch.int64, 8: torch.bool}


def torch_name(vid, name):
    return "v%d_%s" % (vid, "".join(c if c.isalnum() else "_" for c in name))


def trainable(op, i):
    if op in ("Conv", "ConvTranspose", "Gemm"):
        return i in (1, 2)
    if op in ("MatMul", "PRelu"):
        return i == 1
    if op == "BatchNormalization":
        return i in (1, 2)
    return False


class SyncedBatchStats(torch.autograd.Function):
    """Sums across ranks with gradients summed back (BatchNormalization's batch statistics
    over the whole global batch, as one process computes them)."""

    @staticmethod
    def forward(ctx, t):
        t = t.clone()
        torch.distributed.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, g):
        g = g.clone()
        torch.distributed.all_reduce(g)
        return g


class IrModule(torch.nn.Module):
    """The exported graph, node by node; constants that a layer computes with are parameters,
    the rest buffers, registered in value order under our trainer's names."""

    def __init__(self, graph, blob):
        super().__init__()
        self.graph = graph
        self.values = graph["values"]
        self.nodes = graph["nodes"]
        self.layers = graph["layers"]
        self.world = 1  # > 1: BatchNormalization's statistics are summed over the ranks
        params, stats = set(), set()
        for n in self.nodes:
            for i, vid in enumerate(n["inputs"]):
                if vid < 0 or "offset" not in self.values[vid]:
                    continue
                if trainable(n["op"], i) and self.values[vid]["dtype"] == "float32":
                    params.add(vid)
                if n["op"] == "BatchNormalization" and i in (3, 4):
                    stats.add(vid)
        self.running_stats = stats
        self.const_names = {}
        for vid, v in enumerate(self.values):
            if "offset" not in v:
                continue
            a = np.frombuffer(blob, dtype=DTYPES[v["dtype"]], count=int(np.prod(v["shape"])),
                              offset=v["offset"]).reshape(v["shape"])
            t = torch.from_numpy(a.copy())
            name = torch_name(vid, v["name"])
            if vid in params:
                self.register_parameter(name, torch.nn.Parameter(t))
            else:
                self.register_buffer(name, t)
            self.const_names[vid] = name
        self.prepared = [self._prepare(n) for n in self.nodes]

    def const(self, vid):
        return getattr(self, self.const_names[vid])

    def _prepare(self, n):
        p = n.get("prep", {})
        out = {}
        for key in ("slice_index", "gather_index"):
            if key in p:
                out[key] = [torch.tensor(ix, dtype=torch.int64) for ix in p[key]] \
                    if key == "slice_index" else torch.tensor(p[key], dtype=torch.int64)
        if "resize" in p:
            out["resize"] = [(r["axis"], torch.tensor(r["index"], dtype=torch.int64),
                              torch.tensor(r["weight"], dtype=torch.float32).reshape(
                                  -1, r["taps"]), r["taps"]) for r in p["resize"]]
        if "pool_count" in p:
            # Which padded positions count for AveragePool, as the reference kernel counts.
            c = p["pool_count"]
            mask = torch.ones(1, 1, c["in_h"], c["in_w"])
            mask = F.pad(mask, (c["left"], c["need_w"] - c["left"] - c["in_w"], c["top"],
                                c["need_h"] - c["top"] - c["in_h"]))
            out["pool_count"] = F.avg_pool2d(mask, p["kernel"], p["strides"], 0, False, True, 1)
        return out

    def forward(self, x):
        vals = [None] * len(self.values)
        batch = x.shape[0]
        vals[self.graph["inputs"][0]] = x
        for n, prep in zip(self.nodes, self.prepared):
            ins = [None if vid < 0 else (self.const(vid) if vid in self.const_names else vals[vid])
                   for vid in n["inputs"]]
            outs = self._run(n, prep, ins, batch)
            for vid, t in zip(n["outputs"], outs):
                vals[vid] = t
        return [self.const(vid) if vid in self.const_names else vals[vid]
                for vid in self.graph["outputs"]]

    def _batch_norm(self, n, ins, a):
        x, w, b, mean, var = ins[:5]
        momentum = 1.0 - a.get("momentum", 0.9)  # ONNX weighs the old statistic
        eps = a.get("epsilon", 1e-5)
        batch_stats = self.training and n["inputs"][3] in self.running_stats
        if not batch_stats or self.world == 1:
            return F.batch_norm(x, mean, var, w, b, batch_stats, momentum, eps)
        # Statistics of the global batch: sums over every rank's share.
        dims = [0] + list(range(2, x.dim()))
        count = torch.tensor([float(x.numel() // x.shape[1])])
        count = SyncedBatchStats.apply(count)
        mu = SyncedBatchStats.apply(x.sum(dims)) / count
        shape = [1, -1] + [1] * (x.dim() - 2)
        centred = x - mu.reshape(shape)
        v = SyncedBatchStats.apply((centred * centred).sum(dims)) / count
        with torch.no_grad():
            mean.mul_(1 - momentum).add_(momentum * mu.detach())
            var.mul_(1 - momentum).add_(momentum * v.detach() * count / max(count.item() - 1, 1))
        return centred / torch.sqrt(v + eps).reshape(shape) * w.reshape(shape) + b.reshape(shape)

    def _run(self, n, prep, ins, batch):
        op, a, p = n["op"], n["attrs"], n.get("prep", {})
        x = ins[0] if ins else None
        if op == "Conv":
            t, l, b, r = a.get("pads", [0, 0, 0, 0])
            padding = [t, l]
            if t != b or l != r:
                x = F.pad(x, (l, r, t, b))
                padding = [0, 0]
            return [F.conv2d(x, ins[1], ins[2] if len(ins) > 2 else None,
                             a.get("strides", [1, 1]), padding, a.get("dilations", [1, 1]),
                             a.get("group", 1))]
        if op == "ConvTranspose":
            y = F.conv_transpose2d(x, ins[1], None, a.get("strides", [1, 1]), 0, 0,
                                   a.get("group", 1), a.get("dilations", [1, 1]))
            t, l, b, r = a.get("pads", [0, 0, 0, 0])
            opad = a.get("output_padding", [0, 0])
            y = F.pad(y, (-l, opad[1] - r, -t, opad[0] - b))
            if len(ins) > 2 and ins[2] is not None:
                y = y + ins[2].reshape(1, -1, 1, 1)
            return [y]
        if op == "Gemm":
            A = x.t() if a.get("transA", 0) else x
            B = ins[1].t() if a.get("transB", 0) else ins[1]
            y = torch.matmul(A, B)
            alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
            if alpha != 1.0:
                y = y * alpha
            if len(ins) > 2 and ins[2] is not None:
                y = y + (ins[2] * beta if beta != 1.0 else ins[2])
            return [y]
        if op == "MatMul":
            return [torch.matmul(x, ins[1])]
        if op == "Add":
            return [x + ins[1]]
        if op == "Sub":
            return [x - ins[1]]
        if op == "Mul":
            return [x * ins[1]]
        if op == "Div":
            return [x / ins[1] if x.is_floating_point() else torch.div(x, ins[1],
                                                                         rounding_mode="trunc")]
        if op == "Pow":
            return [torch.pow(x, ins[1])]
        if op == "Relu":
            return [torch.relu(x)]
        if op == "Sigmoid":
            return [torch.sigmoid(x)]
        if op == "Tanh":
            return [torch.tanh(x)]
        if op == "Sqrt":
            return [torch.sqrt(x)]
        if op == "Exp":
            return [torch.exp(x)]
        if op == "HardSwish":
            return [x * torch.clamp(x / 6.0 + 0.5, 0.0, 1.0)]
        if op == "LeakyRelu":
            return [F.leaky_relu(x, a.get("alpha", 0.01))]
        if op == "PRelu":
            return [torch.clamp_min(x, 0) + ins[1] * torch.clamp_max(x, 0)]
        if op == "Clip":
            lo, hi = a.get("min"), a.get("max")
            if lo is not None and math.isfinite(lo):
                x = torch.clamp_min(x, lo)
            if hi is not None and math.isfinite(hi):
                x = torch.clamp_max(x, hi)
            return [x]
        if op == "HardSigmoid":
            return [torch.clamp(x * a.get("alpha", 0.2) + a.get("beta", 0.5), 0.0, 1.0)]
        if op == "Softmax":
            axis = a.get("axis", x.dim() - 1)
            if a.get("legacy", 0):
                return [torch.softmax(x.flatten(axis), axis).reshape(x.shape)]
            return [torch.softmax(x, axis)]
        if op == "MaxPool":
            t, l, b, r = p["pads"]
            xp = F.pad(x, (l, r, t, b), value=-math.inf) if any(p["pads"]) else x
            return [F.max_pool2d(xp, a.get("kernel_shape", [1, 1]), a.get("strides", [1, 1]), 0,
                                 a.get("dilations", [1, 1]), False)]
        if op == "AveragePool":
            t, l, b, r = p["pads"]
            xp = F.pad(x, (l, r, t, b))
            s = F.avg_pool2d(xp, a.get("kernel_shape", [1, 1]), a.get("strides", [1, 1]), 0,
                             False, True, 1)
            c = prep["pool_count"]
            return [torch.where(c > 0, s / c.clamp_min(1), torch.zeros_like(s))]
        if op == "GlobalAveragePool":
            return [x.mean(list(range(2, x.dim())), True)]
        if op == "BatchNormalization":
            return [self._batch_norm(n, ins, a)]
        if op == "Concat":
            axis = a.get("axis", 0)
            xs = []
            for t in ins:
                if axis != 0 and t.dim() > 0 and t.shape[0] == 1 and batch != 1:
                    t = t.expand([batch] + list(t.shape[1:]))
                xs.append(t)
            return [torch.cat(xs, axis)]
        if op == "Split":
            return list(torch.split(x, a["split"], a.get("axis", 0)))
        if op in ("Slice", "Pad") and not (op == "Pad" and a.get("mode", "constant") == "constant"):
            for axis, ix in zip(p["slice_axes"], prep["slice_index"]):
                x = x.index_select(axis, ix)
            return [x]
        if op == "Pad":
            pads = a["pads"]
            rank = len(pads) // 2
            tp = []
            for d in range(rank - 1, -1, -1):
                tp += [pads[d], pads[rank + d]]
            return [F.pad(x, tp, value=a.get("value", 0.0))]
        if op == "Reshape":
            shape = list(a["shape"])
            if shape and shape[0] == 1:
                shape[0] = batch  # the static target's leading 1 is the batch
            return [x.reshape(shape)]
        if op == "Flatten":
            axis = a.get("axis", 1)
            if axis == 1:
                return [torch.flatten(x, 1)]  # exports as ONNX Flatten, not a shape computation
            outer = 1
            for d in x.shape[:axis]:
                outer *= int(d)
            return [x.reshape(outer, x.numel() // outer if outer > 0 else 0)]
        if op == "Transpose":
            return [x.permute(a["perm"])]
        if op == "Squeeze":
            for axis in sorted(a["axes"], reverse=True):
                x = x.squeeze(axis)
            return [x]
        if op == "Unsqueeze":
            for axis in sorted(a["axes"]):
                x = x.unsqueeze(axis)
            return [x]
        if op == "Resize":
            for axis, index, weight, taps in prep["resize"]:
                g = x.index_select(axis, index)
                shape = list(g.shape)
                out_len = shape[axis] // taps
                shape[axis] = out_len
                shape.insert(axis + 1, taps)
                g = g.reshape(shape)
                wshape = [1] * len(shape)
                wshape[axis], wshape[axis + 1] = out_len, taps
                x = (g * weight.reshape(wshape)).sum(axis + 1)
            return [x]
        if op == "DepthToSpace":
            bs = a.get("blocksize", 1)
            if a.get("mode", "DCR") == "CRD":
                return [F.pixel_shuffle(x, bs)]
            c, h, w = x.shape[1] // (bs * bs), x.shape[2], x.shape[3]
            return [x.reshape(x.shape[0], bs, bs, c, h, w).permute(0, 3, 4, 1, 5, 2)
                    .reshape(x.shape[0], c, h * bs, w * bs)]
        if op == "ReduceMean":
            axes = a.get("axes") or list(range(x.dim()))
            return [x.mean(axes, bool(a.get("keepdims", 1)))]
        if op == "Identity":
            return [x]
        if op == "Cast":
            return [x.to(TORCH_DTYPES.get(a.get("to", 1), torch.float32))]
        if op == "Gather":
            axis = a.get("axis", 0)
            shape = list(x.shape)
            del shape[axis]
            shape[axis:axis] = p["gather_shape"]
            return [x.index_select(axis, prep["gather_index"]).reshape(shape)]
        raise RuntimeError("node %s: op %s has no torch mapping" % (n["name"], op))

    # The prunable layers' weights as the schemes see them, [out][in/g][kh][kw] (a
    # differentiable view, so the ADMM penalty on it trains the parameter).
    def layer_weight(self, i):
        l = self.layers[i]
        w = self.const(l["weight"])
        o, ipg, kh, kw, g = l["out"], l["in_per_group"], l["kh"], l["kw"], l["groups"]
        if l["storage"] == "IOHW":
            return w.reshape(g, ipg, o // g, kh, kw).permute(0, 2, 1, 3, 4).reshape(o, ipg, kh, kw)
        if l["storage"] == "InOut":
            return w.t().reshape(o, ipg, 1, 1)
        if l["storage"] == "OutIn":
            return w.reshape(o, ipg, 1, 1)
        return w

    @torch.no_grad()
    def set_layer_weight(self, i, v):
        l = self.layers[i]
        w = self.const(l["weight"])
        o, ipg, kh, kw, g = l["out"], l["in_per_group"], l["kh"], l["kw"], l["groups"]
        v = v.detach().to(w.dtype).reshape(o, ipg, kh, kw)
        if l["storage"] == "IOHW":
            v = v.reshape(g, o // g, ipg, kh, kw).permute(0, 2, 1, 3, 4)
        elif l["storage"] == "InOut":
            v = v.reshape(o, ipg).t()
        w.copy_(v.reshape(w.shape))


# ---- 3. Projections (prune::applyPlan's maths, prunelab_projection.py) and the ADMM schedule --

def project(spec, model, shift=None):
    """(weights, masks) per prunable layer, [out][in/g][kh][kw] on the model's device: the
    plan's projection of W, or of W + shift where shift[i] is given (ADMM's Z-step projects
    W + U). prunelab_projection.py gives bit for bit the masks prune::applyPlan gives."""
    import prunelab_projection
    ws = []
    for i in range(len(model.layers)):
        w = model.layer_weight(i).detach()
        if shift is not None and shift[i] is not None:
            w = w + shift[i]
        ws.append(w)
    return prunelab_projection.project(spec, ws)


def admm_schedule(settings, steps_per_epoch):
    """When ADMM updates Z and U, as trainer.cpp's admmSetup: the W-step epochs' steps split
    evenly over the stages, each stage's updates evenly over its steps, and rho's growth per
    update in each stage (reaching rho_max at the stage's last update when automatic)."""
    main_epochs = settings["epochs"] - settings["fine_tune_epochs"]
    steps = steps_per_epoch * main_epochs
    stages = settings["admm_stages"]
    if steps < stages:
        raise SystemExit("ADMM in %d stages needs at least as many optimiser steps, the W-step "
                         "epochs have %d" % (stages, steps))
    schedule, multiplier = [], []
    for stage in range(stages):
        begin, end = steps * stage // stages, steps * (stage + 1) // stages
        length = end - begin
        if settings["admm_updates_per_epoch"] > 0:
            updates = int(math.floor(settings["admm_updates_per_epoch"] * length
                                     / steps_per_epoch + 0.5))
        else:
            # trainer.cpp's autoUpdates(): W-steps of ~200 steps, 4 to 10 a stage, >= 25 long
            updates = max(1, min(min(max(length // 200, 4), 10), length // 25))
        updates = min(max(updates, 1), length)
        for k in range(1, updates + 1):
            schedule.append({"step": begin + length * k // updates, "stage": stage, "k": k,
                             "updates": updates})
        m = settings["rho_multiplier"]
        multiplier.append(m if m > 0 else (settings["rho_max"] / settings["rho"])
                          ** (1.0 / max(1, updates - 1)))
    return {s["step"]: s for s in schedule}, multiplier


# ---- 4. Distributed set-up -------------------------------------------------------------------

def share(begin, count, rank, world):
    """Rank `rank`'s contiguous share of a global batch: the shares differ by at most one."""
    lo = begin + count * rank // world
    hi = begin + count * (rank + 1) // world
    return lo, hi


def init_distributed(rank, world, local_rank):
    if world == 1:
        return torch.device("cpu")
    cuda = torch.cuda.is_available()
    torch.distributed.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
    if cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# ---- 5. Checkpoints --------------------------------------------------------------------------

def save_checkpoint(path, state):
    """Written whole to a temporary file, flushed, then renamed over the old one: a kill at any
    moment leaves the previous checkpoint or the new one, never half of one."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---- 6. Training -----------------------------------------------------------------------------

def load_export():
    with open(os.path.join(HERE, "model.json")) as f:
        graph = json.load(f)
    with open(os.path.join(HERE, "weights.bin"), "rb") as f:
        blob = f.read()
    with open(os.path.join(HERE, "settings.json")) as f:
        settings = json.load(f)
    with open(os.path.join(HERE, "projection.json")) as f:
        projection = json.load(f)
    return graph, blob, settings, projection


def fingerprint(settings):
    """What decides the run: a checkpoint of another export or settings is never resumed."""
    h = hashlib.sha256()
    for name in ("model.json", "weights.bin", "projection.json"):
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(f.read())
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


def evaluate(model, x, y, device, batch=256):
    model.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(x), batch):
            out = model(torch.from_numpy(np.array(x[b:b + batch])).to(device))[0]
            correct += int((out.argmax(1).cpu() == torch.from_numpy(
                np.array(y[b:b + batch]))).sum())
    model.train()
    return correct / max(1, len(x))


def worker(rank, world, local_rank, args):
    graph, blob, settings, projection = load_export()
    for key in ("epochs", "fine_tune_epochs", "batch_size"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    device = init_distributed(rank, world, local_rank)
    if settings.get("threads", 0) > 0:
        torch.set_num_threads(settings["threads"])
    torch.manual_seed(settings["seed"])
    x = np.load(os.path.join(HERE, "data", "train_x.npy"), mmap_mode="r")
    y = np.load(os.path.join(HERE, "data", "train_y.npy"))
    test_path = os.path.join(HERE, "data", "test_x.npy")
    test = (np.load(test_path, mmap_mode="r"), np.load(os.path.join(HERE, "data", "test_y.npy"))) \
        if os.path.exists(test_path) else None

    model = IrModule(graph, blob).to(device)
    model.world = world
    model.train()
    n = len(model.layers)
    pruned = projection["pruned"]
    stage_specs, final_spec = projection["stages"], projection["final"]
    B, epochs = settings["batch_size"], settings["epochs"]
    main_epochs = epochs - settings["fine_tune_epochs"]
    batches = (len(x) + B - 1) // B
    cap = settings["max_steps_per_epoch"]
    steps_per_epoch = min(batches, cap) if cap > 0 else batches
    total_steps = steps_per_epoch * epochs
    schedule, multiplier = admm_schedule(settings, steps_per_epoch)
    # rho is relative to each layer's mean squared dense weight (trainer.cpp's AdmmSetup::scale).
    with torch.no_grad():
        scale = [float(model.layer_weight(i).pow(2).mean()) or 1.0 for i in range(n)]

    ddp = torch.nn.parallel.DistributedDataParallel(model, broadcast_buffers=False) \
        if world > 1 else model
    if settings.get("momentum", 0) > 0:  # trainer.cpp: SGD with momentum instead of Adam
        opt = torch.optim.SGD(model.parameters(), lr=settings["lr"],
                              momentum=settings["momentum"], weight_decay=settings["weight_decay"])
    else:
        opt = torch.optim.Adam(model.parameters(), lr=settings["lr"], betas=(0.9, 0.999),
                               eps=1e-8, weight_decay=settings["weight_decay"])

    st = {"epoch": 0, "cursor": 0, "step": 0, "rho": settings["rho"], "admm_iteration": 0,
          "hard_pruned": False, "z": [None] * n, "u": [None] * n, "masks": [None] * n,
          "history": []}

    def start_stage(stage):
        zw, _ = project(stage_specs[stage], model)
        for i in range(n):
            if pruned[i]:
                st["z"][i] = zw[i].to(device)
                st["u"][i] = torch.zeros_like(st["z"][i])
        st["rho"] = settings["rho"]

    def hard_prune(spec):
        pw, masks = project(spec, model)
        for i in range(n):
            if pruned[i]:
                model.set_layer_weight(i, pw[i].to(device))
                st["masks"][i] = masks[i].to(device)

    ckpt_path = args.checkpoint or os.path.join(HERE, "checkpoint.pt")
    fp = fingerprint(settings)

    def checkpoint():
        if rank != 0:
            return
        save_checkpoint(ckpt_path, {"fingerprint": fp, "model": model.state_dict(),
                                    "optimizer": opt.state_dict(),
                                    "state": {k: v for k, v in st.items()}})

    if os.path.exists(ckpt_path) and not args.restart:
        saved = torch.load(ckpt_path, map_location=device)
        if saved["fingerprint"] != fp:
            raise SystemExit("%s was written for another export or settings: run with --restart "
                             "to start afresh" % ckpt_path)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        st.update(saved["state"])
        if rank == 0:
            print("resuming from %s at step %d" % (ckpt_path, st["step"]), flush=True)
    else:
        start_stage(0)

    started = time.time()
    stop = args.max_steps if args.max_steps and args.max_steps > 0 else None
    while st["epoch"] < epochs:
        order = epoch_order(len(x), settings["seed"], st["epoch"])
        while st["cursor"] < steps_per_epoch:
            if stop is not None and st["step"] >= stop:
                break
            g0 = st["cursor"] * B
            count = min(B, len(order) - g0)
            lo, hi = share(g0, count, rank, world)
            idx = order[lo:hi]
            inputs = torch.from_numpy(np.stack([x[i] for i in idx]) if idx else
                                      np.zeros((0,) + x.shape[1:], np.float32)).to(device)
            labels = torch.from_numpy(y[idx].astype(np.int64)).to(device)
            out = ddp(inputs)[0]
            if world == 1:
                loss = F.cross_entropy(out, labels)
            else:
                # DDP averages gradients over ranks: a share's summed loss, scaled so the
                # average is the global batch's mean whatever the shares' sizes.
                loss = F.cross_entropy(out, labels, reduction="sum") * world / count
            total = loss
            if not st["hard_pruned"] and st["epoch"] < main_epochs:
                p = torch.zeros((), device=device)
                for i in range(n):
                    if st["z"][i] is not None:
                        # trainer.cpp: the pull acts on the weights Z removes only
                        d = (model.layer_weight(i) - st["z"][i] + st["u"][i]) * (st["z"][i] == 0)
                        p = p + d.pow(2).sum() / scale[i]
                total = total + p * (st["rho"] / 2)
            lr = settings["lr"]
            lf = settings["lr_final"]
            if lf >= 0 and total_steps > 1:
                t = st["step"] / (total_steps - 1)
                lr = lf + 0.5 * (settings["lr"] - lf) * (1 + math.cos(math.pi * t))
                for group in opt.param_groups:
                    group["lr"] = lr
            opt.zero_grad()
            total.backward()
            opt.step()
            with torch.no_grad():
                for i in range(n):
                    if st["masks"][i] is not None:
                        model.set_layer_weight(i, model.layer_weight(i) * st["masks"][i])
            st["cursor"] += 1
            st["step"] += 1
            value = float(loss.detach()) / (world if world > 1 else 1) * (
                count / max(1, hi - lo) if world > 1 else 1)
            if not math.isfinite(value):
                raise SystemExit("the loss became %g at step %d: lower the learning rate or rho"
                                 % (value, st["step"]))
            epoch_end = st["cursor"] == steps_per_epoch
            up = schedule.get(st["step"]) if not st["hard_pruned"] else None
            if up is not None:
                stage = up["stage"]
                zw, _ = project(stage_specs[stage], model, st["u"])
                primal = 0.0
                with torch.no_grad():
                    for i in range(n):
                        if st["z"][i] is None:
                            continue
                        w = model.layer_weight(i).detach()
                        st["z"][i] = zw[i].to(device)
                        st["u"][i] = st["u"][i] + w - st["z"][i]
                        primal += float((w - st["z"][i]).norm()) ** 2
                st["history"].append({"step": st["step"], "admm_iteration": st["admm_iteration"],
                                      "rho": st["rho"], "primal": math.sqrt(primal)})
                st["admm_iteration"] += 1
                if rank == 0:
                    print("admm update %d at step %d: rho %.3g, ||W - Z|| %.4g"
                          % (st["admm_iteration"], st["step"], st["rho"], math.sqrt(primal)),
                          flush=True)
                if up["k"] < up["updates"]:
                    # rho grows and the scaled dual U = Y / rho shrinks with it (Boyd 3.4.1).
                    nxt = min(st["rho"] * multiplier[stage], settings["rho_max"])
                    for i in range(n):
                        if st["u"][i] is not None:
                            st["u"][i] = st["u"][i] * (st["rho"] / nxt)
                    st["rho"] = nxt
                elif stage + 1 < len(stage_specs):
                    # The stage ends pruned to its own rate; the next starts afresh from there.
                    pw, _ = project(stage_specs[stage], model)
                    for i in range(n):
                        if pruned[i]:
                            model.set_layer_weight(i, pw[i].to(device))
                    start_stage(stage + 1)
                else:
                    hard_prune(final_spec)  # W = project(W), masks fixed for fine-tuning
                    st["hard_pruned"] = True
                    st["z"], st["u"] = [None] * n, [None] * n
                if not epoch_end:
                    checkpoint()
            if rank == 0 and (st["step"] % 50 == 0 or epoch_end):
                print("step %d/%d  epoch %d/%d  %s  loss %.4f  lr %.3g  %.0f s" % (
                    st["step"], total_steps, st["epoch"] + 1, epochs,
                    "admm" if st["epoch"] < main_epochs else "fine-tune", value, lr,
                    time.time() - started), flush=True)
            if epoch_end:
                if test is not None and rank == 0:
                    print("epoch %d: test accuracy %.4f" % (
                        st["epoch"] + 1, evaluate(model, test[0], test[1], device)), flush=True)
                st["epoch"] += 1
                st["cursor"] = 0
                checkpoint()
                st["epoch"] -= 1
                st["cursor"] = steps_per_epoch
            elif settings["checkpoint_every"] > 0 and st["step"] % settings["checkpoint_every"] == 0:
                checkpoint()
        if stop is not None and st["step"] >= stop:
            break
        st["epoch"] += 1
        st["cursor"] = 0

    finished = stop is None or st["step"] < stop
    if finished and not st["hard_pruned"]:
        hard_prune(final_spec)
    if finished:
        # One last projection, as our trainer ends: it changes nothing when the masks held.
        pw, _ = project(final_spec, model)
        for i in range(n):
            if pruned[i]:
                model.set_layer_weight(i, pw[i].to(device))
    if rank == 0:
        out = args.out or os.path.join(HERE, "result.onnx")
        write_onnx(model, graph, out, projection.get("plan", ""))
        print("%s after %d steps in %.1f s; wrote %s" % (
            "finished" if finished else "stopped (--max-steps)", st["step"],
            time.time() - started, out), flush=True)
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


# ---- 7. ONNX ---------------------------------------------------------------------------------

def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def write_onnx(model, graph, path, plan):
    """torch.onnx.export of the trained model (no `onnx` package needed), then the plan as
    metadata_props (ModelProto field 14, appended: protobuf fields may come in any order), so
    `prunelab-cli stats` prints it beside the masks it reads from the zeros."""
    model.eval()
    shape = list(graph["values"][graph["inputs"][0]]["shape"])
    dummy = torch.zeros(shape, device=next(model.parameters()).device)
    tmp = path + ".tmp"
    import warnings
    with warnings.catch_warnings():
        # The tracer's notes on Python ints and unfolded slices: the batch is fixed at export,
        # and PruneLab's importer folds what is left of the shape computations.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, dummy, tmp, opset_version=13, do_constant_folding=True,
                          input_names=[graph["values"][graph["inputs"][0]]["name"]],
                          output_names=[graph["values"][v]["name"] for v in graph["outputs"]])
    with open(tmp, "ab") as f:
        if plan:
            k, v = b"prunelab.plan", plan.encode()
            entry = b"\x0a" + varint(len(k)) + k + b"\x12" + varint(len(v)) + v
            f.write(b"\x72" + varint(len(entry)) + entry)
    os.replace(tmp, path)
    model.train()


def main():
    ap = argparse.ArgumentParser(description="PruneLab ADMM retraining, exported (README.md)")
    ap.add_argument("--nproc", type=int, default=1,
                    help="start this many worker processes here (torch.multiprocessing); "
                    "under torchrun, leave it out")
    ap.add_argument("--max-steps", type=int, default=0,
                    help="stop after this many optimiser steps and write the weights as they "
                    "stand (tests)")
    ap.add_argument("--epochs", type=int, help="override the exported epochs")
    ap.add_argument("--fine-tune-epochs", dest="fine_tune_epochs", type=int,
                    help="override the exported fine-tune epochs")
    ap.add_argument("--batch-size", dest="batch_size", type=int,
                    help="override the exported global batch size")
    ap.add_argument("--out", help="the result (default: result.onnx beside this script)")
    ap.add_argument("--checkpoint", help="checkpoint file (default: checkpoint.pt beside it)")
    ap.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    args = ap.parse_args()
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        # Under torchrun (or any launcher that sets the env:// variables).
        worker(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
               int(os.environ.get("LOCAL_RANK", "0")), args)
    elif args.nproc > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        if "MASTER_PORT" not in os.environ:
            import socket
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                os.environ["MASTER_PORT"] = str(s.getsockname()[1])
        torch.multiprocessing.spawn(_spawned, args=(args.nproc, args), nprocs=args.nproc)
    else:
        worker(0, 1, 0, args)


def _spawned(rank, world, args):
    worker(rank, world, rank, args)


if __name__ == "__main__":
    main()
