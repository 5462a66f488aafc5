// LayerNormalization (ONNX opset 17): each row of X's last dims (from `axis` on) normalised by
// its own mean and variance, then scaled and shifted by Scale and the optional B, which
// broadcast to those dims. Only the Y output: the training outputs Mean and InvStdDev are
// refused at import. Exported to opset 13 as the ReduceMean/Sub/Mul/Sqrt/Div chain it means.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("LayerNormalization", in, 2, 3));
    if (out.size() != 1) {
        return makeError(ErrorCode::Unsupported,
                         "LayerNormalization has one output here (Y); Mean and InvStdDev are "
                         "training outputs");
    }
    const char* names[] = {"X", "Scale", "B"};
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i].present() && in[i].dtype != DataType::Float32) {
            return makeError(ErrorCode::Unsupported, std::string("LayerNormalization ") + names[i] +
                                                         " must be float32, got " +
                                                         dtypeText(in[i].dtype));
        }
    }
    const Shape& x = in[0].shape;
    const int64_t axis = node.attrs.getInt("axis", static_cast<int64_t>(x.size()) - 1);
    if (axis < 0 || axis >= static_cast<int64_t>(x.size())) {
        return makeError(ErrorCode::InvalidArgument,
                         "LayerNormalization axis " + std::to_string(axis) +
                             " is out of range for X " + shapeToString(x));
    }
    const Shape normalized(x.begin() + axis, x.end());
    if (elementCount(normalized) == 0) {
        return makeError(ErrorCode::ShapeMismatch, "LayerNormalization of X " + shapeToString(x) +
                                                       " from axis " + std::to_string(axis) +
                                                       " normalises empty rows");
    }
    for (size_t i = 1; i < in.size(); ++i) {
        if (in[i].present() && !broadcastsTo(in[i].shape, normalized)) {
            return makeError(ErrorCode::ShapeMismatch,
                             std::string("LayerNormalization ") + names[i] + " " +
                                 shapeToString(in[i].shape) + " does not broadcast to X's dims " +
                                 shapeToString(normalized) + " (from axis " + std::to_string(axis) +
                                 ")");
        }
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = x;
    return {};
}

// `t` (Scale or B) broadcast to the row shape, one value per element of a row.
std::vector<float> perRow(const Tensor* t, const Shape& row, float absent) {
    std::vector<float> out(static_cast<size_t>(elementCount(row)), absent);
    if (t == nullptr) return out;
    const float* src = t->data<float>();
    forEachBroadcast(row, t->shape(), t->shape(),
                     [&](int64_t o, int64_t i, int64_t) { out[static_cast<size_t>(o)] = src[i]; });
    return out;
}

// View X as [rows][D], D = prod(X.shape[axis:]). For each row r:
//   mean = (1/D) sum_j x[r][j],  var = (1/D) sum_j (x[r][j] - mean)^2
//   y[r][j] = (x[r][j] - mean) / sqrt(var + epsilon) * Scale[j] + B[j]   (B = 0 when absent)
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const Shape& shape = in[0]->shape();
    const auto axis =
        static_cast<size_t>(node.attrs.getInt("axis", static_cast<int64_t>(shape.size()) - 1));
    const Shape row(shape.begin() + static_cast<int64_t>(axis), shape.end());
    const int64_t d = elementCount(row);
    const double epsilon = node.attrs.getFloat("epsilon", 1e-5f);
    const std::vector<float> scale = perRow(in[1], row, 1.0f);
    const std::vector<float> bias = perRow(in.size() > 2 ? in[2] : nullptr, row, 0.0f);
    const float* x = in[0]->data<float>();
    float* y = out[0]->data<float>();
    for (int64_t r = 0; r < in[0]->elements() / d; ++r) {
        const float* src = x + r * d;
        double mean = 0.0;
        for (int64_t j = 0; j < d; ++j) mean += src[j];
        mean /= static_cast<double>(d);
        double var = 0.0;
        for (int64_t j = 0; j < d; ++j) var += (src[j] - mean) * (src[j] - mean);
        var /= static_cast<double>(d);
        const double invStd = 1.0 / std::sqrt(var + epsilon);
        for (int64_t j = 0; j < d; ++j) {
            const auto k = static_cast<size_t>(j);
            y[r * d + j] = static_cast<float>((src[j] - mean) * invStd * scale[k] + bias[k]);
        }
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    if (node.outputCount > 1) {
        return makeError(ErrorCode::Unsupported,
                         "LayerNormalization with " + std::to_string(node.outputCount) +
                             " outputs: only Y is supported (Mean and InvStdDev are training "
                             "outputs; export the model for inference)");
    }
    if (!hasOnnxInput(node, 0) || !hasOnnxInput(node, 1)) {
        return makeError(ErrorCode::InvalidArgument, "LayerNormalization needs X and Scale");
    }
    const Attributes& a = onnxAttrs(node);
    if (a.getInt("stash_type", 1) != 1) {
        return makeError(ErrorCode::Unsupported,
                         "LayerNormalization stash_type " +
                             std::to_string(a.getInt("stash_type", 1)) +
                             " is not supported (only 1: statistics in float32)");
    }
    const auto rank = static_cast<int64_t>(node.inputs[0].shape.size());
    PL_TRY_ASSIGN(int64_t axis,
                  normalizeAxis(a.getInt("axis", -1), rank, "LayerNormalization axis"));
    OnnxImport result;
    result.attrs.set("axis", axis);
    result.attrs.set("epsilon", a.getFloat("epsilon", 1e-5f));
    result.inputs = {0, 1};
    if (hasOnnxInput(node, 2)) result.inputs.push_back(2);
    return result;
}

// Opset 13 has no LayerNormalization: write what it computes.
//   0 mean = ReduceMean(X, axes)  1 d = X - mean  2 d*d  3 var = ReduceMean(d*d, axes)
//   4 var + epsilon  5 sqrt  6 d / sqrt  7 * Scale  [8 + B]
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph& graph) {
    const Shape& x = graph.value(node.inputs[0]).shape;
    const int64_t axis = node.attrs.getInt("axis", static_cast<int64_t>(x.size()) - 1);
    std::vector<int64_t> axes;
    for (auto a = axis; a < static_cast<int64_t>(x.size()); ++a) axes.push_back(a);
    auto chained = [](int i) { return OnnxOperand{OnnxOperand::Kind::Chained, i, {}}; };
    auto step = [](std::string op, std::vector<OnnxOperand> inputs) {
        OnnxNodeOut n;
        n.opType = std::move(op);
        n.inputs = std::move(inputs);
        return n;
    };
    std::vector<OnnxNodeOut> chain;
    chain.push_back(step("ReduceMean", {irOperand(0)}));
    chain.push_back(step("Sub", {irOperand(0), chained(0)}));
    chain.push_back(step("Mul", {chained(1), chained(1)}));
    chain.push_back(step("ReduceMean", {chained(2)}));
    for (int i : {0, 3}) {
        chain[static_cast<size_t>(i)].attrs.set("axes", axes);
        chain[static_cast<size_t>(i)].attrs.set("keepdims", int64_t(1));
    }
    chain.push_back(
        step("Add",
             {chained(3), constantOperand(Tensor::scalar(node.attrs.getFloat("epsilon", 1e-5f)))}));
    chain.push_back(step("Sqrt", {chained(4)}));
    chain.push_back(step("Div", {chained(1), chained(5)}));
    chain.push_back(step("Mul", {chained(6), irOperand(1)}));
    if (node.inputs.size() > 2 && node.inputs[2] != kNoValue) {
        chain.push_back(step("Add", {chained(7), irOperand(2)}));
    }
    return chain;
}

}  // namespace

const OpDef kOpDefLayerNormalization = {
    OpKind::LayerNormalization, "LayerNormalization", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine
