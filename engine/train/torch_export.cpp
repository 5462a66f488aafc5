// The PyTorch export of a retraining run (see torch_export.h). Sections: 1. the ADMM stage
// plans, 2. the graph as JSON with what each op needs resolved, 3. data and settings, 4. the
// folder.
#include "engine/train/torch_export.h"

#include "engine/train/admm_plan.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/io/npy.h"
#include "engine/ir/layer_view.h"
#include "engine/ops/op.h"
#include "engine/ops/pool.h"
#include "engine/ops/resize.h"
#include "engine/prune/projection_spec.h"
#include "engine/train/projection_py.h"
#include "prunelab_train_py.h"  // generated from python/prunelab_train.py

namespace prunelab::engine::train {

namespace fs = std::filesystem;
using nlohmann::json;

std::string_view torchTrainScript() {
    return kPrunelabTrainPy;
}

const std::vector<OpKind>& torchExportOps() {
    static const std::vector<OpKind> ops = {OpKind::Conv,
                                            OpKind::ConvTranspose,
                                            OpKind::Gemm,
                                            OpKind::MatMul,
                                            OpKind::Add,
                                            OpKind::Sub,
                                            OpKind::Mul,
                                            OpKind::Div,
                                            OpKind::Pow,
                                            OpKind::Relu,
                                            OpKind::LeakyRelu,
                                            OpKind::PRelu,
                                            OpKind::Clip,
                                            OpKind::Sigmoid,
                                            OpKind::HardSigmoid,
                                            OpKind::HardSwish,
                                            OpKind::Tanh,
                                            OpKind::Sqrt,
                                            OpKind::Exp,
                                            OpKind::Softmax,
                                            OpKind::MaxPool,
                                            OpKind::AveragePool,
                                            OpKind::GlobalAveragePool,
                                            OpKind::BatchNormalization,
                                            OpKind::Concat,
                                            OpKind::Split,
                                            OpKind::Slice,
                                            OpKind::Pad,
                                            OpKind::Reshape,
                                            OpKind::Flatten,
                                            OpKind::Transpose,
                                            OpKind::Squeeze,
                                            OpKind::Unsqueeze,
                                            OpKind::Resize,
                                            OpKind::DepthToSpace,
                                            OpKind::ReduceMean,
                                            OpKind::Identity,
                                            OpKind::Cast,
                                            OpKind::Gather};
    return ops;
}

namespace {

// (1. The ADMM stage plans come from admm_plan.h, as the trainer's do: the script gets their
// projection specs and runs only the projections.)

// ---- 2. The graph as JSON --------------------------------------------------------------------

json attributeJson(const AttributeValue& v) {
    return std::visit(
        [](const auto& x) -> json {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, Tensor>) {
                return nullptr;  // no exported op reads a tensor attribute
            } else {
                return x;
            }
        },
        v);
}

const char* storageName(Layer::Storage s) {
    switch (s) {
        case Layer::Storage::OIHW:
            return "OIHW";
        case Layer::Storage::IOHW:
            return "IOHW";
        case Layer::Storage::InOut:
            return "InOut";
        case Layer::Storage::OutIn:
            return "OutIn";
    }
    return "OIHW";
}

// Output index j of a padded axis -> input index (reflect mirrors without repeating the border,
// edge repeats it), as the Pad reference kernel maps them.
std::vector<int64_t> padIndex(int64_t dim, int64_t before, int64_t after, bool reflect) {
    std::vector<int64_t> index;
    for (int64_t j = 0; j < dim + before + after; ++j) {
        int64_t i = j - before;
        if (reflect) {
            if (i < 0) i = -i;
            if (i >= dim) i = 2 * (dim - 1) - i;
        } else {
            i = std::min(std::max<int64_t>(i, 0), dim - 1);
        }
        index.push_back(i);
    }
    return index;
}

// Resize's taps per axis (engine/ops/resize.h, as the trainer's torch module takes them), so the
// script needs no copy of the coordinate rules.
json resizeAxisJson(const Attributes& attrs, int64_t axis, int64_t inLen, int64_t outLen,
                    float scale) {
    ResizeTaps r = resizeTaps(attrs, inLen, outLen, scale);
    return {{"axis", axis}, {"taps", r.taps}, {"index", r.index}, {"weight", r.weight}};
}

// What the script cannot read from the canonical attributes alone: the resolutions that
// torch_module.cpp's prepare() makes from the recorded shapes.
Result<json> prepare(const Graph& g, const Node& n) {
    const Attributes& a = n.attrs;
    auto shapeOf = [&](size_t i) { return g.value(n.inputs[i]).shape; };
    json p = json::object();
    switch (n.op) {
        case OpKind::MaxPool:
        case OpKind::AveragePool: {
            const bool average = n.op == OpKind::AveragePool;
            PL_TRY_ASSIGN(PoolParams q,
                          poolParams(n, shapeOf(0), average ? "AveragePool" : "MaxPool"));
            if (average && (q.dilationH != 1 || q.dilationW != 1)) {
                return makeError(ErrorCode::Unsupported, "AveragePool with dilations");
            }
            // Padded so every window lies inside: torch then pools without padding or ceil.
            const int64_t needH = (q.outH - 1) * q.strideH + q.dilationH * (q.kernelH - 1) + 1;
            const int64_t needW = (q.outW - 1) * q.strideW + q.dilationW * (q.kernelW - 1) + 1;
            p["pads"] = {q.padTop, q.padLeft, needH - q.padTop - q.inH, needW - q.padLeft - q.inW};
            if (average) {
                p["kernel"] = {q.kernelH, q.kernelW};
                p["strides"] = {q.strideH, q.strideW};
                p["pool_count"] = {
                    {"in_h", q.countIncludePad ? q.padTop + q.inH + q.padBottom : q.inH},
                    {"in_w", q.countIncludePad ? q.padLeft + q.inW + q.padRight : q.inW},
                    {"top", q.countIncludePad ? 0 : q.padTop},
                    {"left", q.countIncludePad ? 0 : q.padLeft},
                    {"need_h", needH},
                    {"need_w", needW}};
            }
            return p;
        }
        case OpKind::Resize: {
            const Shape x = shapeOf(0);
            const std::vector<int64_t> sizes = a.getInts("sizes");
            const std::vector<float> scales = a.getFloats("scales");
            json axes = json::array();
            for (size_t d = 0; d < x.size(); ++d) {
                if (sizes[d] == x[d] && scales[d] == 1.0f) continue;
                if (d == 0) return makeError(ErrorCode::Unsupported, "Resize of the batch axis");
                axes.push_back(
                    resizeAxisJson(a, static_cast<int64_t>(d), x[d], sizes[d], scales[d]));
            }
            p["resize"] = axes;
            return p;
        }
        case OpKind::Slice: {
            const std::vector<int64_t> starts = a.getInts("starts"), ends = a.getInts("ends"),
                                       axes = a.getInts("axes"), steps = a.getInts("steps");
            json index = json::array();
            for (size_t i = 0; i < axes.size(); ++i) {
                if (axes[i] == 0)
                    return makeError(ErrorCode::Unsupported, "Slice of the batch axis");
                std::vector<int64_t> ix;
                for (int64_t j = starts[i]; steps[i] > 0 ? j < ends[i] : j > ends[i];
                     j += steps[i]) {
                    ix.push_back(j);
                }
                index.push_back(ix);
            }
            p["slice_axes"] = axes;
            p["slice_index"] = index;
            return p;
        }
        case OpKind::Pad: {
            const std::string mode = a.getString("mode", "constant");
            if (mode == "constant") return p;
            const Shape x = shapeOf(0);
            const std::vector<int64_t> pads = a.getInts("pads");
            std::vector<int64_t> axes;
            json index = json::array();
            for (size_t d = 0; d < x.size(); ++d) {
                if (pads[d] == 0 && pads[x.size() + d] == 0) continue;
                if (d == 0) return makeError(ErrorCode::Unsupported, "Pad of the batch axis");
                axes.push_back(static_cast<int64_t>(d));
                index.push_back(padIndex(x[d], pads[d], pads[x.size() + d], mode == "reflect"));
            }
            p["slice_axes"] = axes;
            p["slice_index"] = index;
            return p;
        }
        case OpKind::Gather: {
            if (!g.value(n.inputs[1]).isConstant()) {
                return makeError(ErrorCode::Unsupported, "Gather with computed indices");
            }
            const int64_t axis = a.getInt("axis", 0);
            std::vector<int64_t> idx = g.value(n.inputs[1]).constant.toInt64Vector();
            for (int64_t& i : idx) i = i < 0 ? i + shapeOf(0)[static_cast<size_t>(axis)] : i;
            p["gather_index"] = idx;
            p["gather_shape"] = g.value(n.inputs[1]).shape;
            return p;
        }
        default:
            return p;
    }
}

// model.json and the bytes of weights.bin (each constant 64-byte aligned).
Result<json> graphJson(const Graph& g, std::string& blob) {
    const std::vector<OpKind>& ops = torchExportOps();
    json values = json::array();
    for (const Value& v : g.values) {
        json j = {{"name", v.name}, {"dtype", dataTypeName(v.dtype)}, {"shape", v.shape}};
        if (v.isConstant()) {
            if (v.constant.dtype() == DataType::Float16 ||
                v.constant.dtype() == DataType::Undefined) {
                return makeError(ErrorCode::Unsupported,
                                 "constant of type " + std::string(dataTypeName(v.dtype)),
                                 "value '" + v.name + "'");
            }
            blob.resize((blob.size() + 63) / 64 * 64, '\0');
            j["offset"] = blob.size();
            j["dtype"] = dataTypeName(v.constant.dtype());
            blob.append(reinterpret_cast<const char*>(v.constant.raw()), v.constant.bytes());
        }
        values.push_back(std::move(j));
    }
    json nodes = json::array();
    for (const Node& n : g.nodes) {
        if (std::find(ops.begin(), ops.end(), n.op) == ops.end()) {
            return makeError(ErrorCode::Unsupported,
                             std::string(opName(n.op)) + " has no mapping in the PyTorch script",
                             g.describeNode(n));
        }
        json attrs = json::object();
        for (const auto& [key, value] : n.attrs.all()) attrs[key] = attributeJson(value);
        auto prep = prepare(g, n);
        if (!prep.ok()) return prep.error().within(g.describeNode(n));
        std::vector<int64_t> inputs;
        for (ValueId id : n.inputs) inputs.push_back(id == kNoValue ? -1 : id);
        nodes.push_back({{"op", opName(n.op)},
                         {"name", n.name},
                         {"inputs", inputs},
                         {"outputs", n.outputs},
                         {"attrs", attrs},
                         {"prep", *prep}});
    }
    json layers = json::array();
    for (const Layer& l : prunableLayers(g)) {
        layers.push_back({{"name", l.name},
                          {"node", l.node},
                          {"weight", l.weight},
                          {"bias", l.bias == kNoValue ? -1 : l.bias},
                          {"storage", storageName(l.storage)},
                          {"out", l.outChannels},
                          {"in_per_group", l.inPerGroup},
                          {"kh", l.kh},
                          {"kw", l.kw},
                          {"groups", l.groups}});
    }
    return json{{"format", "prunelab-torch-export/1"},
                {"name", g.name},
                {"values", values},
                {"nodes", nodes},
                {"inputs", g.inputs},
                {"outputs", g.outputs},
                {"layers", layers}};
}

// ---- 3. Data and settings --------------------------------------------------------------------

// The examples as one [N, ...] float32 tensor and the labels as int64 [N]: what makeBatch
// stacks, so the script's batches hold the same numbers.
Status writeData(const Dataset& data, const fs::path& x, const fs::path& y) {
    if (data.size() == 0) return makeError(ErrorCode::InvalidArgument, "the data set is empty");
    PL_TRY_ASSIGN(Example first, data.get(0));
    Shape shape = first.input.shape();
    shape.insert(shape.begin(), static_cast<int64_t>(data.size()));
    Tensor inputs(DataType::Float32, shape);
    Tensor labels(DataType::Int64, {static_cast<int64_t>(data.size())});
    const size_t each = static_cast<size_t>(first.input.elements());
    float* out = inputs.data<float>();
    for (size_t i = 0; i < data.size(); ++i) {
        PL_TRY_ASSIGN(Example e, data.get(i));
        if (e.label < 0) {
            return makeError(ErrorCode::Unsupported,
                             data.describe() +
                                 " has no labels: the exported script trains "
                                 "with labels only (no distillation yet)");
        }
        if (e.input.dtype() != DataType::Float32 ||
            static_cast<size_t>(e.input.elements()) != each) {
            return makeError(ErrorCode::ShapeMismatch,
                             "example " + std::to_string(i).append(" differs from the first"),
                             data.describe());
        }
        std::copy_n(e.input.data<float>(), each, out + i * each);
        labels.data<int64_t>()[i] = e.label;
    }
    PL_TRY(writeNpy(x.string(), inputs));
    return writeNpy(y.string(), labels);
}

Status writeText(const fs::path& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
    f.close();
    if (!f) return makeError(ErrorCode::Io, "cannot write", path.string());
    return {};
}

std::string readmeText(const json& settings, const std::string& dataText, int stages) {
    std::string s;
    s += "# PruneLab retraining, exported to PyTorch\n\n";
    s += "Written by `prunelab-cli admm ... --export-torch`. `train.py` runs the same ADMM as "
         "PruneLab's trainer (W-steps with the penalty on the weights Z removes, Z = the "
         "plan's projection of W + U, "
         "U += W - Z, rho per layer relative to its mean squared dense weight, " +
         std::to_string(stages) +
         " stage(s), then hard prune and masked fine-tuning) and writes `result.onnx` beside "
         "it. PruneLab reads it back: `prunelab-cli stats result.onnx` shows each layer's "
         "density and the plan.\n\n";
    s += "Data: " + dataText + ". Settings: `settings.json` (" + settings.dump() + ").\n\n";
    s += "## Run\n\n"
         "Needs Python 3 with PyTorch (1.13 or later) and NumPy; not the `onnx` package. On "
         "Debian: `apt install python3-torch` (use `/usr/bin/python3` if another Python comes "
         "first on PATH).\n\n"
         "- One process: `python3 train.py` (no arguments: the exported settings).\n"
         "- N processes on this machine: `python3 train.py --nproc N` (starts its own workers "
         "with torch.multiprocessing; gloo on CPU, nccl when there are GPUs).\n"
         "- A cluster: `torchrun --nnodes M --nproc_per_node N --rdzv_endpoint HOST:PORT "
         "train.py` on every node (it reads RANK, WORLD_SIZE and LOCAL_RANK). Debian's "
         "torchrun (PyTorch 1.13 on Python 3.11) fails in its launcher before any worker "
         "starts (AttributeError in `to_map`, torch/distributed/elastic/multiprocessing/"
         "api.py); there, use `--nproc`, or any launcher that sets RANK, WORLD_SIZE, "
         "LOCAL_RANK, MASTER_ADDR and MASTER_PORT. PruneLab's tests use `--nproc`.\n\n"
         "Every global batch has the exported batch size, whatever the number of processes: "
         "each takes its share, and BatchNormalization's statistics are those of the whole "
         "batch. The data order is PruneLab's (seed and epoch decide it), so one process takes "
         "the same steps as `prunelab-cli admm`.\n\n"
         "## Checkpoints\n\n"
         "`checkpoint.pt` is written at every Z/U update, every epoch end and every "
         "`checkpoint_every` steps (atomically). Run the same command again after a kill and "
         "it resumes; `--restart` starts afresh.\n\n"
         "## Options\n\n"
         "`--epochs`, `--fine-tune-epochs` and `--batch-size` override the exported ones; "
         "`--max-steps N` stops after N optimiser steps and writes the weights as they stand; "
         "`--out` and `--checkpoint` choose other files.\n\n"
         "## Files\n\n"
         "`model.json` (the graph: values, nodes with PruneLab's canonical attributes, the "
         "prunable layers), `weights.bin` (constants, raw; offsets in model.json), "
         "`data/*.npy` (examples as float32, labels as int64), `projection.json` (the plan and "
         "the projection spec of each stage), `prunelab_projection.py` (PruneLab's projections "
         "in NumPy).\n";
    return s;
}

}  // namespace

// ---- 4. The folder -----------------------------------------------------------------------------

Status exportTorchRun(const std::string& dirText, const Graph& model,
                      const prune::PruningPlan& plan, const Dataset& data, const Dataset* test,
                      const TrainOptions& o, const RetrainOptions& ro) {
    if (ro.method != RetrainMethod::Admm) {
        return makeError(ErrorCode::Unsupported,
                         std::string("the PyTorch export runs ADMM; --method is ") +
                             retrainMethodName(ro.method));
    }
    if (ro.distill) {
        return makeError(ErrorCode::Unsupported,
                         "the PyTorch export trains on labelled data; label-free distillation "
                         "is not exported yet");
    }
    if (ro.start) {
        return makeError(ErrorCode::Unsupported,
                         "--init is not exported; export the model "
                         "to start from instead");
    }
    if (model.inputs.size() != 1) {
        return makeError(ErrorCode::Unsupported, "the PyTorch export feeds one picture input");
    }
    if (o.epochs < 1 || o.batchSize < 1 || ro.fineTuneEpochs < 0 || ro.fineTuneEpochs >= o.epochs) {
        return makeError(ErrorCode::InvalidArgument,
                         "epochs and batch size must be at least 1 and the fine-tune epochs "
                         "leave at least one epoch for ADMM");
    }
    PL_TRY(prune::validatePlanForGraph(plan, model));

    // The plans of every stage, as the trainer makes them, and their projection specs.
    PL_TRY_ASSIGN(prune::PrunedModel first, prune::applyPlan(model, plan));
    const prune::PruningPlan frozen = freezePatternSets(plan, first.layers);
    const int stages = ro.admmStages > 0 ? ro.admmStages : autoStages(plan);
    json stageSpecs = json::array();
    for (int s = 1; s <= stages; ++s) {
        PL_TRY_ASSIGN(json spec, prune::projectionSpec(model, stagePlan(frozen, s, stages)));
        stageSpecs.push_back(std::move(spec));
    }
    std::vector<bool> pruned;
    for (const prune::LayerPruning& lp : first.layers)
        pruned.push_back(lp.how != prune::LayerPruning::How::Dense);
    json projection = {{"stages", stageSpecs},
                       {"final", stageSpecs.back()},
                       {"pruned", pruned},
                       {"plan", prune::planToJson(plan)},
                       {"frozen_plan", prune::planToJson(frozen)}};

    std::string blob;
    PL_TRY_ASSIGN(json graph, graphJson(model, blob));

    json settings = {{"method", "admm"},
                     {"epochs", o.epochs},
                     {"fine_tune_epochs", ro.fineTuneEpochs},
                     {"batch_size", o.batchSize},
                     {"lr", o.learningRate},
                     {"lr_final", o.learningRateFinal},
                     {"weight_decay", o.weightDecay},
                     {"momentum", o.momentum},
                     {"seed", o.seed},
                     {"max_steps_per_epoch", o.maxStepsPerEpoch},
                     {"threads", o.threads},
                     {"checkpoint_every", o.checkpointEvery},
                     {"admm_stages", stages},
                     {"admm_updates_per_epoch", ro.admmUpdatesPerEpoch},
                     {"rho", ro.rho},
                     {"rho_multiplier", ro.rhoMultiplier},
                     {"rho_max", ro.rhoMax}};

    const fs::path dir(dirText);
    std::error_code ec;
    fs::create_directories(dir / "data", ec);
    if (ec) return makeError(ErrorCode::Io, "cannot create the folder: " + ec.message(), dirText);
    // A checkpoint of an earlier export would be refused by the script anyway (its fingerprint
    // names the files); removing it keeps "python3 train.py" working as written.
    fs::remove(dir / "checkpoint.pt", ec);
    PL_TRY(writeData(data, dir / "data" / "train_x.npy", dir / "data" / "train_y.npy"));
    if (test) {
        PL_TRY(writeData(*test, dir / "data" / "test_x.npy", dir / "data" / "test_y.npy"));
    } else {
        fs::remove(dir / "data" / "test_x.npy", ec);
        fs::remove(dir / "data" / "test_y.npy", ec);
    }
    PL_TRY(writeText(dir / "model.json", graph.dump(1)));
    PL_TRY(writeText(dir / "weights.bin", blob));
    PL_TRY(writeText(dir / "settings.json", settings.dump(2) + "\n"));
    PL_TRY(writeText(dir / "projection.json", projection.dump(1)));
    PL_TRY(writeText(dir / "train.py", std::string(kPrunelabTrainPy)));
    PL_TRY(writeText(dir / "prunelab_projection.py", std::string(prunelabProjectionPy())));
    fs::permissions(dir / "train.py", fs::perms::owner_exec | fs::perms::group_exec,
                    fs::perm_options::add, ec);
    const std::string dataText =
        data.describe() + (test ? "; test: " + test->describe() : std::string());
    return writeText(dir / "README.md", readmeText(settings, dataText, stages));
}

}  // namespace prunelab::engine::train
