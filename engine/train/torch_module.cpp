// IrModule: the IR interpreted node by node with torch ops, so any model PruneLab imports can be
// trained (ADMM, fine-tuning) and written back. Sections: conversions, per-op preparation (what
// is resolved once from the canonical attributes), the forward interpreter, the layer views.
#include "engine/train/torch_module.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "engine/ops/pool.h"
#include "engine/ops/resize.h"

namespace prunelab::engine::train {

namespace F = torch::nn::functional;

// ---- engine Tensor <-> torch tensor ----

namespace {

torch::ScalarType torchType(DataType t) {
    switch (t) {
        case DataType::Float64:
            return torch::kFloat64;
        case DataType::Int8:
            return torch::kInt8;
        case DataType::UInt8:
            return torch::kUInt8;
        case DataType::Int32:
            return torch::kInt32;
        case DataType::Int64:
            return torch::kInt64;
        case DataType::Bool:
            return torch::kBool;
        default:
            return torch::kFloat32;
    }
}

DataType engineType(torch::ScalarType t) {
    switch (t) {
        case torch::kFloat64:
            return DataType::Float64;
        case torch::kInt8:
            return DataType::Int8;
        case torch::kUInt8:
            return DataType::UInt8;
        case torch::kInt32:
            return DataType::Int32;
        case torch::kInt64:
            return DataType::Int64;
        case torch::kBool:
            return DataType::Bool;
        default:
            return DataType::Float32;
    }
}

}  // namespace

torch::Tensor toTorch(const Tensor& t) {
    std::vector<int64_t> sizes(t.shape().begin(), t.shape().end());
    // Float16 only appears as stored in files (importers widen it): copied as half, widened.
    const torch::ScalarType type =
        t.dtype() == DataType::Float16 ? torch::kFloat16 : torchType(t.dtype());
    torch::Tensor out = torch::empty(sizes, torch::TensorOptions().dtype(type));
    if (t.bytes() > 0) std::memcpy(out.data_ptr(), t.raw(), t.bytes());
    return type == torch::kFloat16 ? out.to(torch::kFloat32) : out;
}

Tensor fromTorch(const torch::Tensor& t) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    if (c.scalar_type() == torch::kFloat16 || c.scalar_type() == torch::kBFloat16) {
        c = c.to(torch::kFloat32);
    }
    Tensor out(engineType(c.scalar_type()), Shape(c.sizes().begin(), c.sizes().end()));
    if (out.bytes() > 0) std::memcpy(out.raw(), c.data_ptr(), out.bytes());
    return out;
}

// ---- What each node needs at run time, resolved once from its canonical attributes ----

namespace {

// Per-axis taps of Resize (the engine's separable formulation, engine/ops/resize.cpp):
// output position o of `axis` reads index[o][k] with weight weight[o][k].
struct ResizeAxis {
    int64_t axis = 0;
    torch::Tensor index;   // [out * taps] int64
    torch::Tensor weight;  // [out, taps] float
    int64_t taps = 1;
};

struct Step {
    const Node* node = nullptr;
    // Conv / ConvTranspose / pools: pads t,l,b,r (pools: bottom/right extended or cropped so
    // an unpadded torch pool yields exactly the recorded output size).
    std::vector<int64_t> pads;
    torch::Tensor poolCount;  // AveragePool: taps counted per output pixel [1, 1, oh, ow]
    std::vector<ResizeAxis> resize;
    std::vector<torch::Tensor> sliceIndex;  // Slice / Pad(reflect|edge): per-axis gathers
    std::vector<int64_t> sliceAxes;
    torch::Tensor gatherIndex;  // Gather
};

// The same taps as the reference kernel (same float coordinates, same rounding), so the torch
// forward matches it to float precision for every mode the importers produce.
ResizeAxis resizeAxis(const Attributes& attrs, int64_t axis, int64_t inLen, int64_t outLen,
                      float scale) {
    ResizeTaps taps = resizeTaps(attrs, inLen, outLen, scale);
    ResizeAxis r;
    r.axis = axis;
    r.taps = taps.taps;
    r.index = torch::tensor(taps.index, torch::kInt64);
    r.weight = torch::tensor(taps.weight, torch::kFloat32).reshape({outLen, r.taps});
    return r;
}

// Output index j of a padded axis -> input index (reflect mirrors without repeating the border,
// edge repeats it), as the Pad reference kernel maps them.
torch::Tensor padIndex(int64_t dim, int64_t before, int64_t after, bool reflect) {
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
    return torch::tensor(index, torch::kInt64);
}

bool isTrainable(const Node& n, size_t input) {
    switch (n.op) {
        case OpKind::Conv:
        case OpKind::ConvTranspose:
        case OpKind::Gemm:
            return input == 1 || input == 2;  // weight, bias
        case OpKind::MatMul:
            return input == 1;
        case OpKind::PRelu:
            return input == 1;  // slope
        case OpKind::BatchNormalization:
            return input == 1 || input == 2;  // scale (gamma), B (beta)
        default:
            return false;
    }
}

// A torch parameter/buffer name: no dots, unique through the value id prefix.
std::string torchName(ValueId id, const std::string& name) {
    // Appended piecewise: GCC 12 gives a false -Wrestrict on `"v" + std::to_string(n)`.
    std::string out = "v";
    out += std::to_string(id);
    out += '_';
    for (char c : name) {
        out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
    }
    return out;
}

std::string sizesText(const torch::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) {
        if (i > 0) s += ", ";
        s += std::to_string(t.size(i));
    }
    return s + "]";
}

}  // namespace

struct IrModule::Impl {
    Graph graph;
    std::vector<Layer> layers;
    std::vector<Step> steps;
    // Constants by value id: parameters and buffers (the same handles torch registered, so
    // optimizers and .to() see the same tensors).
    std::map<ValueId, torch::Tensor> constants;
    std::set<ValueId> parameters;
    std::set<ValueId> runningStats;  // BatchNormalization mean / var buffers

    Status prepare(Step& s);
    torch::Tensor value(const std::vector<torch::Tensor>& vals, ValueId id) const {
        auto c = constants.find(id);
        return c != constants.end() ? c->second : vals[static_cast<size_t>(id)];
    }
    std::vector<torch::Tensor> run(const Step& s, const std::vector<torch::Tensor>& vals,
                                   int64_t batch, bool training) const;
};

// ---- Preparation: check each node maps and resolve what depends only on recorded shapes ----

Status IrModule::Impl::prepare(Step& s) {
    const Node& n = *s.node;
    const Attributes& a = n.attrs;
    auto shapeOf = [&](size_t i) { return graph.value(n.inputs[i]).shape; };
    switch (n.op) {
        case OpKind::Conv:
        case OpKind::ConvTranspose:
            if (shapeOf(0).size() != 4) {
                return makeError(ErrorCode::Unsupported, "only 2-D (NCHW) convolutions map");
            }
            s.pads = a.getInts("pads", {0, 0, 0, 0});
            return {};
        case OpKind::MaxPool:
        case OpKind::AveragePool: {
            const bool average = n.op == OpKind::AveragePool;
            PL_TRY_ASSIGN(PoolParams p,
                          poolParams(n, shapeOf(0), average ? "AveragePool" : "MaxPool"));
            if (average && (p.dilationH != 1 || p.dilationW != 1)) {
                return makeError(ErrorCode::Unsupported, "AveragePool with dilations");
            }
            // Pad so that every window lies inside: torch then pools without padding or ceil.
            const int64_t needH = (p.outH - 1) * p.strideH + p.dilationH * (p.kernelH - 1) + 1;
            const int64_t needW = (p.outW - 1) * p.strideW + p.dilationW * (p.kernelW - 1) + 1;
            s.pads = {p.padTop, p.padLeft, needH - p.padTop - p.inH, needW - p.padLeft - p.inW};
            if (average) {
                // Which padded positions count: the input only, or the input with its declared
                // pads (count_include_pad); never what ceil_mode hangs past the end padding.
                const int64_t inH = p.countIncludePad ? p.padTop + p.inH + p.padBottom : p.inH;
                const int64_t inW = p.countIncludePad ? p.padLeft + p.inW + p.padRight : p.inW;
                const int64_t top = p.countIncludePad ? 0 : p.padTop;
                const int64_t left = p.countIncludePad ? 0 : p.padLeft;
                torch::Tensor mask = torch::ones({1, 1, inH, inW});
                mask = torch::constant_pad_nd(
                    mask, {left, needW - left - inW, top, needH - top - inH}, 0);
                s.poolCount = torch::avg_pool2d(mask, {p.kernelH, p.kernelW},
                                                {p.strideH, p.strideW}, {0, 0}, false, true, 1);
            }
            return {};
        }
        case OpKind::Resize: {
            const Shape x = shapeOf(0);
            const std::vector<int64_t> sizes = a.getInts("sizes");
            const std::vector<float> scales = a.getFloats("scales");
            for (size_t d = 0; d < x.size(); ++d) {
                // A same-size axis at scale 1 is the identity in every mode (its taps are
                // (1, 0, ...) on the pixel itself); the batch axis always is.
                if (sizes[d] == x[d] && scales[d] == 1.0f) continue;
                if (d == 0) return makeError(ErrorCode::Unsupported, "Resize of the batch axis");
                s.resize.push_back(
                    resizeAxis(a, static_cast<int64_t>(d), x[d], sizes[d], scales[d]));
            }
            return {};
        }
        case OpKind::Slice: {
            const Shape x = shapeOf(0);
            const std::vector<int64_t> starts = a.getInts("starts"), ends = a.getInts("ends"),
                                       axes = a.getInts("axes"), steps = a.getInts("steps");
            for (size_t i = 0; i < axes.size(); ++i) {
                if (axes[i] == 0)
                    return makeError(ErrorCode::Unsupported, "Slice of the batch axis");
                std::vector<int64_t> index;
                for (int64_t j = starts[i]; steps[i] > 0 ? j < ends[i] : j > ends[i];
                     j += steps[i]) {
                    index.push_back(j);
                }
                s.sliceAxes.push_back(axes[i]);
                s.sliceIndex.push_back(torch::tensor(index, torch::kInt64));
            }
            return {};
        }
        case OpKind::Pad: {
            const std::string mode = a.getString("mode", "constant");
            if (mode == "constant") return {};
            const Shape x = shapeOf(0);
            const std::vector<int64_t> pads = a.getInts("pads");
            for (size_t d = 0; d < x.size(); ++d) {
                if (pads[d] == 0 && pads[x.size() + d] == 0) continue;
                if (d == 0) return makeError(ErrorCode::Unsupported, "Pad of the batch axis");
                s.sliceAxes.push_back(static_cast<int64_t>(d));
                s.sliceIndex.push_back(
                    padIndex(x[d], pads[d], pads[x.size() + d], mode == "reflect"));
            }
            return {};
        }
        case OpKind::Gather: {
            if (!graph.value(n.inputs[1]).isConstant()) {
                return makeError(ErrorCode::Unsupported, "Gather with computed indices");
            }
            const int64_t axis = a.getInt("axis", 0);
            std::vector<int64_t> idx = graph.value(n.inputs[1]).constant.toInt64Vector();
            for (int64_t& i : idx) i = i < 0 ? i + shapeOf(0)[static_cast<size_t>(axis)] : i;
            s.gatherIndex = torch::tensor(idx, torch::kInt64);
            return {};
        }
        case OpKind::Add:
        case OpKind::Sub:
        case OpKind::Mul:
        case OpKind::Div:
        case OpKind::Pow:
        case OpKind::Relu:
        case OpKind::Sigmoid:
        case OpKind::Tanh:
        case OpKind::Sqrt:
        case OpKind::Exp:
        case OpKind::HardSwish:
        case OpKind::LeakyRelu:
        case OpKind::PRelu:
        case OpKind::Clip:
        case OpKind::HardSigmoid:
        case OpKind::Softmax:
        case OpKind::Gemm:
        case OpKind::MatMul:
        case OpKind::GlobalAveragePool:
        case OpKind::BatchNormalization:
        case OpKind::Concat:
        case OpKind::Split:
        case OpKind::Reshape:
        case OpKind::Flatten:
        case OpKind::Transpose:
        case OpKind::Squeeze:
        case OpKind::Unsqueeze:
        case OpKind::DepthToSpace:
        case OpKind::ReduceMean:
        case OpKind::Identity:
        case OpKind::Cast:
            return {};
        case OpKind::ConstantOfShape:
        case OpKind::Shape:
            break;
        // Ops of common exports, mapped below (Round, Floor, Ceil and the comparisons pass no
        // gradient, as in PyTorch).
        case OpKind::Equal:
        case OpKind::Greater:
        case OpKind::Less:
        case OpKind::GreaterOrEqual:
        case OpKind::LessOrEqual:
        case OpKind::Not:
        case OpKind::And:
        case OpKind::Or:
        case OpKind::Where:
        case OpKind::Min:
        case OpKind::Max:
        case OpKind::Neg:
        case OpKind::Abs:
        case OpKind::Floor:
        case OpKind::Ceil:
        case OpKind::Round:
        case OpKind::Log:
        case OpKind::Reciprocal:
        case OpKind::Erf:
        case OpKind::Softplus:
        case OpKind::Mish:
        case OpKind::ReduceMax:
        case OpKind::ReduceSum:
        case OpKind::ReduceMin:
        case OpKind::InstanceNormalization:
        case OpKind::LayerNormalization:
        case OpKind::GlobalMaxPool:
        case OpKind::LRN:
            return {};
        // Shapes of these depend on the batch in ways the module does not follow yet; Range
        // folds at import.
        case OpKind::Expand:
        case OpKind::Tile:
        case OpKind::Range:
        case OpKind::ArgMax:
            return makeError(ErrorCode::Unsupported,
                             std::string(opName(n.op)) +
                                 " has no torch mapping yet: a model with it can be pruned and "
                                 "compiled, not retrained");
    }
    // Shape computations are folded at import; a live one would freeze the batch size.
    return makeError(ErrorCode::Unsupported, std::string(opName(n.op)) +
                                                 " has no torch mapping (shape computations "
                                                 "are folded at import)");
}

// ---- The interpreter ----

std::vector<torch::Tensor> IrModule::Impl::run(const Step& s,
                                               const std::vector<torch::Tensor>& vals,
                                               int64_t batch, bool training) const {
    const Node& n = *s.node;
    const Attributes& a = n.attrs;
    auto in = [&](size_t i) {
        return i < n.inputs.size() && n.inputs[i] != kNoValue ? value(vals, n.inputs[i])
                                                              : torch::Tensor();
    };
    auto ints = [&](const char* name, std::vector<int64_t> fallback) {
        return a.getInts(name, fallback);
    };
    const torch::Tensor x = in(0);
    switch (n.op) {
        case OpKind::Conv: {
            const auto& p = s.pads;  // t, l, b, r
            torch::Tensor xp = x;
            std::vector<int64_t> padding = {p[0], p[1]};
            if (p[0] != p[2] || p[1] != p[3]) {
                xp = F::pad(x, F::PadFuncOptions({p[1], p[3], p[0], p[2]}));
                padding = {0, 0};
            }
            return {torch::conv2d(xp, in(1), in(2), ints("strides", {1, 1}), padding,
                                  ints("dilations", {1, 1}), a.getInt("group", 1))};
        }
        case OpKind::ConvTranspose: {
            // Unpadded transposed conv, then output_padding extends the end (with zeros: only
            // the bias lands there) and the pads crop; the bias is added last.
            torch::Tensor y =
                torch::conv_transpose2d(x, in(1), {}, ints("strides", {1, 1}), {0, 0}, {0, 0},
                                        a.getInt("group", 1), ints("dilations", {1, 1}));
            const std::vector<int64_t> op = ints("output_padding", {0, 0});
            const auto& p = s.pads;
            y = torch::constant_pad_nd(y, {-p[1], op[1] - p[3], -p[0], op[0] - p[2]}, 0);
            if (in(2).defined()) y = y + in(2).reshape({1, -1, 1, 1});
            return {y};
        }
        case OpKind::Gemm: {
            torch::Tensor A = a.getInt("transA", 0) ? x.t() : x;
            torch::Tensor B = a.getInt("transB", 0) ? in(1).t() : in(1);
            torch::Tensor y = torch::matmul(A, B);
            const float alpha = a.getFloat("alpha", 1.0f), beta = a.getFloat("beta", 1.0f);
            if (alpha != 1.0f) y = y * alpha;
            if (in(2).defined()) y = y + (beta != 1.0f ? in(2) * beta : in(2));
            return {y};
        }
        case OpKind::MatMul:
            return {torch::matmul(x, in(1))};
        case OpKind::Add:
            return {x + in(1)};
        case OpKind::Sub:
            return {x - in(1)};
        case OpKind::Mul:
            return {x * in(1)};
        case OpKind::Div:
            return {x.is_floating_point() ? x / in(1) : torch::div(x, in(1), "trunc")};
        case OpKind::Pow:
            return {torch::pow(x, in(1))};
        case OpKind::Relu:
            return {torch::relu(x)};
        case OpKind::Sigmoid:
            return {torch::sigmoid(x)};
        case OpKind::Tanh:
            return {torch::tanh(x)};
        case OpKind::Sqrt:
            return {torch::sqrt(x)};
        case OpKind::Exp:
            return {torch::exp(x)};
        case OpKind::HardSwish:
            return {x * torch::clamp(x / 6.0 + 0.5, 0.0, 1.0)};
        case OpKind::LeakyRelu:
            return {torch::leaky_relu(x, a.getFloat("alpha", 0.01f))};
        case OpKind::PRelu:
            // slope broadcasts unidirectionally ([C, 1, 1], [1], ...), which torch::prelu's
            // per-channel vector does not cover.
            return {torch::clamp_min(x, 0) + in(1) * torch::clamp_max(x, 0)};
        case OpKind::Clip: {
            const float lo = a.getFloat("min", -INFINITY), hi = a.getFloat("max", INFINITY);
            torch::Tensor y = x;
            if (std::isfinite(lo)) y = torch::clamp_min(y, lo);
            if (std::isfinite(hi)) y = torch::clamp_max(y, hi);
            return {y};
        }
        case OpKind::HardSigmoid:
            return {
                torch::clamp(x * a.getFloat("alpha", 0.2f) + a.getFloat("beta", 0.5f), 0.0, 1.0)};
        case OpKind::Softmax: {
            const int64_t axis = a.getInt("axis", x.dim() - 1);
            if (a.getInt("legacy", 0) != 0) {
                return {torch::softmax(x.flatten(axis), axis).reshape(x.sizes())};
            }
            return {torch::softmax(x, axis)};
        }
        case OpKind::MaxPool: {
            const auto& p = s.pads;
            torch::Tensor xp = torch::constant_pad_nd(x, {p[1], p[3], p[0], p[2]},
                                                      -std::numeric_limits<double>::infinity());
            return {torch::max_pool2d(xp, ints("kernel_shape", {1, 1}), ints("strides", {1, 1}),
                                      {0, 0}, ints("dilations", {1, 1}), false)};
        }
        case OpKind::AveragePool: {
            const auto& p = s.pads;
            torch::Tensor xp = torch::constant_pad_nd(x, {p[1], p[3], p[0], p[2]}, 0);
            torch::Tensor sum = torch::avg_pool2d(xp, ints("kernel_shape", {1, 1}),
                                                  ints("strides", {1, 1}), {0, 0}, false, true, 1);
            // A window seeing only padding gives 0, as in the reference.
            return {torch::where(s.poolCount > 0, sum / s.poolCount.clamp_min(1),
                                 torch::zeros_like(sum))};
        }
        case OpKind::GlobalAveragePool: {
            std::vector<int64_t> dims;
            for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
            return {x.mean(dims, true)};
        }
        case OpKind::BatchNormalization: {
            // ONNX's momentum weighs the old statistic (0.9); torch's weighs the new one.
            const double momentum = 1.0 - a.getFloat("momentum", 0.9f);
            const bool batchStats = training && runningStats.count(n.inputs[3]) != 0;
            return {torch::batch_norm(x, in(1), in(2), in(3), in(4), batchStats, momentum,
                                      a.getFloat("epsilon", 1e-5f), false)};
        }
        case OpKind::Concat: {
            // A constant operand (BlazeFace concatenates zero channels) has batch 1: repeat it
            // over the batch as the other operands carry it.
            const int64_t axis = a.getInt("axis", 0);
            std::vector<torch::Tensor> xs;
            for (size_t i = 0; i < n.inputs.size(); ++i) {
                torch::Tensor t = in(i);
                if (axis != 0 && t.dim() > 0 && t.size(0) == 1 && batch != 1) {
                    std::vector<int64_t> sizes = t.sizes().vec();
                    sizes[0] = batch;
                    t = t.expand(sizes);
                }
                xs.push_back(t);
            }
            return {torch::cat(xs, axis)};
        }
        case OpKind::Split: {
            std::vector<torch::Tensor> ys =
                torch::split_with_sizes(x, a.getInts("split"), a.getInt("axis", 0));
            return ys;
        }
        case OpKind::Slice: {
            torch::Tensor y = x;
            for (size_t i = 0; i < s.sliceAxes.size(); ++i) {
                y = y.index_select(s.sliceAxes[i], s.sliceIndex[i]);
            }
            return {y};
        }
        case OpKind::Pad: {
            const std::vector<int64_t> pads = a.getInts("pads");
            if (a.getString("mode", "constant") == "constant") {
                // torch lists (before, after) pairs from the last dim backwards.
                std::vector<int64_t> tp;
                const size_t rank = pads.size() / 2;
                for (size_t d = rank; d-- > 0;) {
                    tp.push_back(pads[d]);
                    tp.push_back(pads[rank + d]);
                }
                return {torch::constant_pad_nd(x, tp, a.getFloat("value", 0.0f))};
            }
            torch::Tensor y = x;
            for (size_t i = 0; i < s.sliceAxes.size(); ++i) {
                y = y.index_select(s.sliceAxes[i], s.sliceIndex[i]);
            }
            return {y};
        }
        case OpKind::Reshape: {
            std::vector<int64_t> shape = a.getInts("shape");
            // The static target's leading 1 is the batch.
            if (!shape.empty() && shape[0] == 1) shape[0] = batch;
            return {x.reshape(shape)};
        }
        case OpKind::Flatten: {
            const int64_t axis = a.getInt("axis", 1);
            int64_t outer = 1;
            for (int64_t d = 0; d < axis; ++d) outer *= x.size(d);
            return {x.reshape({outer, outer > 0 ? x.numel() / outer : 0})};
        }
        case OpKind::Transpose:
            return {x.permute(a.getInts("perm"))};
        case OpKind::Squeeze: {
            torch::Tensor y = x;
            std::vector<int64_t> axes = a.getInts("axes");
            std::sort(axes.rbegin(), axes.rend());
            for (int64_t axis : axes) y = y.squeeze(axis);
            return {y};
        }
        case OpKind::Unsqueeze: {
            torch::Tensor y = x;
            std::vector<int64_t> axes = a.getInts("axes");
            std::sort(axes.begin(), axes.end());
            for (int64_t axis : axes) y = y.unsqueeze(axis);
            return {y};
        }
        case OpKind::Resize: {
            torch::Tensor y = x;
            for (const ResizeAxis& r : s.resize) {
                // Gather every tap, then weigh and sum them: [.., out*taps, ..] -> [.., out, taps,
                // ..].
                torch::Tensor g = y.index_select(r.axis, r.index);
                std::vector<int64_t> shape(g.sizes().begin(), g.sizes().end());
                const int64_t outLen = shape[static_cast<size_t>(r.axis)] / r.taps;
                shape[static_cast<size_t>(r.axis)] = outLen;
                shape.insert(shape.begin() + r.axis + 1, r.taps);
                g = g.reshape(shape);
                std::vector<int64_t> wshape(shape.size(), 1);
                wshape[static_cast<size_t>(r.axis)] = outLen;
                wshape[static_cast<size_t>(r.axis) + 1] = r.taps;
                y = (g * r.weight.reshape(wshape)).sum(r.axis + 1);
            }
            return {y};
        }
        case OpKind::DepthToSpace: {
            const int64_t b = a.getInt("blocksize", 1);
            if (a.getString("mode", "DCR") == "CRD") return {torch::pixel_shuffle(x, b)};
            const int64_t c = x.size(1) / (b * b), h = x.size(2), w = x.size(3);
            return {x.reshape({x.size(0), b, b, c, h, w})
                        .permute({0, 3, 4, 1, 5, 2})
                        .reshape({x.size(0), c, h * b, w * b})};
        }
        case OpKind::ReduceMean: {
            std::vector<int64_t> axes = a.getInts("axes");
            if (axes.empty()) {
                for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
            }
            return {x.mean(axes, a.getInt("keepdims", 1) != 0)};
        }
        case OpKind::Neg:
            return {-x};
        case OpKind::Abs:
            return {torch::abs(x)};
        case OpKind::Floor:
            return {torch::floor(x)};
        case OpKind::Ceil:
            return {torch::ceil(x)};
        case OpKind::Round:
            return {torch::round(x)};  // halves to even, as ONNX
        case OpKind::Log:
            return {torch::log(x)};
        case OpKind::Reciprocal:
            return {torch::reciprocal(x)};
        case OpKind::Erf:
            return {torch::erf(x)};
        case OpKind::Softplus:
            return {torch::softplus(x)};
        case OpKind::Mish:
            return {x * torch::tanh(torch::softplus(x))};
        case OpKind::Min:
        case OpKind::Max: {
            // torch::minimum / maximum propagate NaN, as the reference does.
            torch::Tensor y = x;
            for (size_t i = 1; i < n.inputs.size(); ++i) {
                y = n.op == OpKind::Min ? torch::minimum(y, in(i)) : torch::maximum(y, in(i));
            }
            return {y};
        }
        case OpKind::Equal:
            return {torch::eq(x, in(1))};
        case OpKind::Greater:
            return {torch::gt(x, in(1))};
        case OpKind::Less:
            return {torch::lt(x, in(1))};
        case OpKind::GreaterOrEqual:
            return {torch::ge(x, in(1))};
        case OpKind::LessOrEqual:
            return {torch::le(x, in(1))};
        case OpKind::Not:
            return {torch::logical_not(x)};
        case OpKind::And:
            return {torch::logical_and(x, in(1))};
        case OpKind::Or:
            return {torch::logical_or(x, in(1))};
        case OpKind::Where:
            return {torch::where(x.to(torch::kBool), in(1), in(2))};
        case OpKind::ReduceMax:
        case OpKind::ReduceMin:
        case OpKind::ReduceSum: {
            std::vector<int64_t> axes = a.getInts("axes");
            if (axes.empty()) {
                if (a.getInt("noop_with_empty_axes", 0) != 0) return {x};
                for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
            }
            const bool keep = a.getInt("keepdims", 1) != 0;
            if (n.op == OpKind::ReduceMax) return {torch::amax(x, axes, keep)};
            if (n.op == OpKind::ReduceMin) return {torch::amin(x, axes, keep)};
            return {x.sum(axes, keep)};
        }
        case OpKind::GlobalMaxPool: {
            std::vector<int64_t> dims;
            for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
            return {torch::amax(x, dims, true)};
        }
        case OpKind::InstanceNormalization: {
            // Per sample and channel over the spatial dims, biased variance, as the reference.
            std::vector<int64_t> dims;
            for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
            const torch::Tensor mean = x.mean(dims, true);
            const torch::Tensor var = (x - mean).pow(2).mean(dims, true);
            std::vector<int64_t> perChannel(static_cast<size_t>(x.dim()), 1);
            perChannel[1] = -1;
            const torch::Tensor y = (x - mean) / torch::sqrt(var + a.getFloat("epsilon", 1e-5f));
            return {y * in(1).reshape(perChannel) + in(2).reshape(perChannel)};
        }
        case OpKind::LayerNormalization: {
            std::vector<int64_t> dims;
            for (int64_t d = a.getInt("axis", -1); d < x.dim(); ++d) dims.push_back(d);
            const torch::Tensor mean = x.mean(dims, true);
            const torch::Tensor var = (x - mean).pow(2).mean(dims, true);
            torch::Tensor y = (x - mean) / torch::sqrt(var + a.getFloat("epsilon", 1e-5f)) * in(1);
            if (n.inputs.size() > 2 && in(2).defined()) y = y + in(2);
            return {y};
        }
        case OpKind::LRN: {
            // ONNX's window: channels c - floor((size-1)/2) .. c + ceil((size-1)/2), which
            // torch's local_response_norm centres differently for even sizes.
            const int64_t size = a.getInt("size", 1);
            const int64_t before = (size - 1) / 2, after = size - 1 - before;
            const torch::Tensor sq = x * x;
            std::vector<int64_t> pad(static_cast<size_t>(2 * (x.dim() - 2)), 0);
            pad.push_back(before);
            pad.push_back(after);
            const torch::Tensor padded = torch::constant_pad_nd(sq, pad, 0);
            torch::Tensor sum = torch::zeros_like(x);
            for (int64_t o = 0; o < size; ++o) sum = sum + padded.narrow(1, o, x.size(1));
            const torch::Tensor scale =
                a.getFloat("bias", 1.0f) + sum * (a.getFloat("alpha", 1e-4f) / size);
            return {x / torch::pow(scale, a.getFloat("beta", 0.75f))};
        }
        case OpKind::Identity:
            return {x};
        case OpKind::Cast:
            return {x.to(torchType(static_cast<DataType>(a.getInt("to", 1))))};
        case OpKind::Gather: {
            const int64_t axis = a.getInt("axis", 0);
            const Shape idxShape = graph.value(n.inputs[1]).shape;
            std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
            shape.erase(shape.begin() + axis);
            shape.insert(shape.begin() + axis, idxShape.begin(), idxShape.end());
            return {x.index_select(axis, s.gatherIndex).reshape(shape)};
        }
        case OpKind::ConstantOfShape:
        case OpKind::Shape:
        case OpKind::Expand:
        case OpKind::Tile:
        case OpKind::Range:
        case OpKind::ArgMax:
            break;  // prepare() refused them
    }
    throw std::logic_error("IrModule: unprepared op " + graph.describeNode(n));
}

// ---- IrModule ----

Result<std::shared_ptr<IrModule>> IrModule::create(const Graph& graph) {
    auto module = std::make_shared<IrModule>();
    auto impl = std::make_shared<Impl>();
    impl->graph = graph;
    const Graph& g = impl->graph;
    impl->layers = prunableLayers(g);

    for (const Node& n : g.nodes) {
        Step s;
        s.node = &n;
        Status st = impl->prepare(s);
        if (!st.ok()) return st.error().within(g.describeNode(n));
        impl->steps.push_back(std::move(s));
        for (size_t i = 0; i < n.inputs.size(); ++i) {
            const ValueId id = n.inputs[i];
            if (id == kNoValue || !g.value(id).isConstant()) continue;
            if (isTrainable(n, i) && g.value(id).dtype == DataType::Float32) {
                impl->parameters.insert(id);
            }
            if (n.op == OpKind::BatchNormalization && (i == 3 || i == 4)) {
                impl->runningStats.insert(id);
            }
        }
    }
    // Register in value order: deterministic names and parameter order for optimizers.
    for (ValueId id = 0; id < static_cast<ValueId>(g.values.size()); ++id) {
        const Value& v = g.value(id);
        if (!v.isConstant()) continue;
        torch::Tensor t = toTorch(v.constant);
        const std::string name = torchName(id, v.name);
        if (impl->parameters.count(id) != 0) {
            impl->constants[id] = module->register_parameter(name, t, true);
        } else {
            impl->constants[id] = module->register_buffer(name, t);
        }
    }
    module->m_impl = std::move(impl);
    return module;
}

std::vector<torch::Tensor> IrModule::forward(const std::vector<torch::Tensor>& inputs) {
    const Impl& m = *m_impl;
    const Graph& g = m.graph;
    TORCH_CHECK(inputs.size() == g.inputs.size(), "IrModule: the graph takes ", g.inputs.size(),
                " inputs, got ", inputs.size());
    std::vector<torch::Tensor> vals(g.values.size());
    const int64_t batch = inputs.empty() || inputs[0].dim() == 0 ? 1 : inputs[0].size(0);
    // The recorded shape with its leading 1 as the batch: what every value must come out as.
    auto expected = [&](ValueId id) {
        std::vector<int64_t> s(g.value(id).shape.begin(), g.value(id).shape.end());
        if (!s.empty() && s[0] == 1) s[0] = batch;
        return s;
    };
    for (size_t i = 0; i < inputs.size(); ++i) {
        const ValueId id = g.inputs[i];
        TORCH_CHECK(inputs[i].sizes().vec() == expected(id), "IrModule: input '", g.value(id).name,
                    "' has shape ", sizesText(inputs[i]), ", expected ",
                    shapeToString(g.value(id).shape), " with the batch first");
        vals[static_cast<size_t>(id)] = inputs[i];
    }
    for (const Step& s : m.steps) {
        std::vector<torch::Tensor> outs = m.run(s, vals, batch, is_training());
        for (size_t k = 0; k < s.node->outputs.size() && k < outs.size(); ++k) {
            const ValueId id = s.node->outputs[k];
            // Catches ops that mix the batch into other dims (a Reshape without a leading 1,
            // a Concat along axis 0) instead of returning silently wrong values.
            TORCH_CHECK(outs[k].sizes().vec() == expected(id),
                        "IrModule: ", g.describeNode(*s.node), " gave ", sizesText(outs[k]),
                        ", expected ", shapeToString(g.value(id).shape), " with batch ", batch);
            vals[static_cast<size_t>(id)] = std::move(outs[k]);
        }
    }
    std::vector<torch::Tensor> outputs;
    for (ValueId id : g.outputs) outputs.push_back(m.value(vals, id));
    return outputs;
}

const std::vector<Layer>& IrModule::layers() const {
    return m_impl->layers;
}

torch::Tensor IrModule::layerWeight(size_t i) {
    const Layer& l = m_impl->layers.at(i);
    const torch::Tensor& w = m_impl->constants.at(l.weight);
    switch (l.storage) {
        case Layer::Storage::OIHW:
            return w;
        case Layer::Storage::IOHW: {
            // W[in][out/g][kh][kw] = [g][in/g][out/g][kh][kw] -> [g][out/g][in/g][kh][kw].
            const int64_t outPerGroup = l.outChannels / l.groups;
            return w.reshape({l.groups, l.inPerGroup, outPerGroup, l.kh, l.kw})
                .permute({0, 2, 1, 3, 4})
                .reshape({l.outChannels, l.inPerGroup, l.kh, l.kw});
        }
        case Layer::Storage::InOut:
            return w.t().reshape({l.outChannels, l.inPerGroup, 1, 1});
        case Layer::Storage::OutIn:
            return w.reshape({l.outChannels, l.inPerGroup, 1, 1});
    }
    return w;
}

void IrModule::setLayerWeight(size_t i, const torch::Tensor& w) {
    const Layer& l = m_impl->layers.at(i);
    torch::Tensor& p = m_impl->constants.at(l.weight);
    TORCH_CHECK(w.numel() == l.outChannels * l.inPerGroup * l.kh * l.kw, "IrModule: layer '",
                l.name, "' takes [", l.outChannels, ", ", l.inPerGroup, ", ", l.kh, ", ", l.kw,
                "], got ", sizesText(w));
    torch::NoGradGuard noGrad;
    torch::Tensor v = w.detach().to(p.dtype()).reshape({l.outChannels, l.inPerGroup, l.kh, l.kw});
    switch (l.storage) {
        case Layer::Storage::OIHW:
            break;
        case Layer::Storage::IOHW: {
            const int64_t outPerGroup = l.outChannels / l.groups;
            v = v.reshape({l.groups, outPerGroup, l.inPerGroup, l.kh, l.kw})
                    .permute({0, 2, 1, 3, 4});
            break;
        }
        case Layer::Storage::InOut:
            v = v.reshape({l.outChannels, l.inPerGroup}).t();
            break;
        case Layer::Storage::OutIn:
            break;
    }
    p.copy_(v.reshape(p.sizes()));
}

Result<Graph> IrModule::toGraph() const {
    Graph g = m_impl->graph;
    for (const auto& [id, t] : m_impl->constants) {
        if (m_impl->parameters.count(id) == 0 && m_impl->runningStats.count(id) == 0) continue;
        Value& v = g.value(id);
        Tensor written = fromTorch(t);
        if (written.shape() != v.shape || written.dtype() != v.dtype) {
            return makeError(ErrorCode::Internal,
                             "parameter of shape " + shapeToString(written.shape()) +
                                 " no longer fits " + shapeToString(v.shape),
                             "value '" + v.name + "'");
        }
        v.constant = std::move(written);
    }
    return g;
}

}  // namespace prunelab::engine::train
