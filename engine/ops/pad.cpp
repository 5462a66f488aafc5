// Pad: grows (or, with negative pads, crops) each dim by pads[d] before and pads[rank + d]
// after, filling with a constant, the mirrored interior (reflect) or the border (edge).
// Any dtype for reflect/edge; constant mode writes `value` converted to the dtype.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

enum class PadMode { Constant, Reflect, Edge };

Result<PadMode> parseMode(const std::string& mode) {
    if (mode == "constant") return PadMode::Constant;
    if (mode == "reflect") return PadMode::Reflect;
    if (mode == "edge") return PadMode::Edge;
    return makeError(ErrorCode::Unsupported, "Pad mode '" + mode + "' is not supported");
}

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Pad", in, 1, 1));
    const Shape& shape = in[0].shape;
    const size_t rank = shape.size();
    const std::vector<int64_t> pads = node.attrs.getInts("pads");
    PL_TRY_ASSIGN(PadMode mode, parseMode(node.attrs.getString("mode", "constant")));
    const DataType t = in[0].dtype;
    if (mode == PadMode::Constant && t != DataType::Float32 && t != DataType::Float64 &&
        t != DataType::Int64 && t != DataType::Int32) {
        return makeError(ErrorCode::Unsupported, "constant Pad of " + dtypeText(t));
    }
    // An integer tensor cannot hold NaN or inf (and converting them is undefined behaviour).
    const float value = node.attrs.getFloat("value", 0.0f);
    if (mode == PadMode::Constant && (t == DataType::Int64 || t == DataType::Int32) &&
        !std::isfinite(value)) {
        return makeError(ErrorCode::InvalidArgument,
                         "Pad value " + std::to_string(value) + " does not fit " + dtypeText(t));
    }
    if (pads.size() != 2 * rank) {
        return makeError(ErrorCode::InvalidArgument, "Pad needs " + std::to_string(2 * rank) +
                                                         " pads for rank " + std::to_string(rank) +
                                                         ", got " + std::to_string(pads.size()));
    }
    out[0].dtype = t;
    out[0].shape.clear();
    for (size_t d = 0; d < rank; ++d) {
        const int64_t before = pads[d];
        const int64_t after = pads[rank + d];
        int64_t size = 0;
        if (__builtin_add_overflow(shape[d], before, &size) ||
            __builtin_add_overflow(size, after, &size) || size > kMaxTensorElements) {
            return makeError(ErrorCode::OutOfRange,
                             "Pad pads " + shapeToString(pads) + " make a dim over 2^32");
        }
        if (size < 0) {
            return makeError(ErrorCode::InvalidArgument, "Pad pads " + shapeToString(pads) +
                                                             " crop more than " +
                                                             shapeToString(shape) + " holds");
        }
        // Reflect mirrors without repeating the border, so it can add at most dim - 1;
        // edge needs a border element to repeat.
        const int64_t grow = std::max(before, after);
        if ((mode == PadMode::Reflect && grow > 0 && grow > shape[d] - 1) ||
            (mode == PadMode::Edge && grow > 0 && shape[d] == 0)) {
            return makeError(ErrorCode::InvalidArgument,
                             "Pad " + node.attrs.getString("mode") + " of " + shapeToString(shape) +
                                 " by " + shapeToString(pads) + " reaches past the input on axis " +
                                 std::to_string(d));
        }
        out[0].shape.push_back(size);
    }
    return {};
}

// `value` as the bytes of one element of `type` (int dtypes truncate the float value).
std::vector<std::byte> fillBytes(float value, DataType type) {
    std::vector<std::byte> bytes(dataTypeSize(type));
    auto put = [&](auto v) { std::memcpy(bytes.data(), &v, sizeof(v)); };
    switch (type) {
        case DataType::Float32:
            put(value);
            break;
        case DataType::Float64:
            put(static_cast<double>(value));
            break;
        case DataType::Int64:
            put(static_cast<int64_t>(value));
            break;
        case DataType::Int32:
            put(static_cast<int32_t>(value));
            break;
        default:
            break;  // refused by infer
    }
    return bytes;
}

// For each output index o_d along dim d, the input index is i = o_d - before_d; if i falls
// outside [0, dim):
//   constant: the element is `value`
//   reflect:  i < 0 -> -i,  i >= dim -> 2 * (dim - 1) - i     (mirror, border not repeated)
//   edge:     i < 0 -> 0,   i >= dim -> dim - 1               (repeat the border)
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const Tensor& x = *in[0];
    Tensor& y = *out[0];
    PL_TRY_ASSIGN(PadMode mode, parseMode(node.attrs.getString("mode", "constant")));
    const std::vector<int64_t> pads = node.attrs.getInts("pads");
    const std::vector<std::byte> fill = fillBytes(node.attrs.getFloat("value", 0.0f), y.dtype());
    const size_t rank = x.shape().size();
    const size_t elementSize = dataTypeSize(x.dtype());
    const std::vector<int64_t> xStrides = contiguousStrides(x.shape());

    std::vector<int64_t> index(rank, 0);  // output index, as an odometer
    for (int64_t o = 0; o < y.elements(); ++o) {
        int64_t src = 0;
        bool inside = true;
        for (size_t d = 0; d < rank; ++d) {
            const int64_t dim = x.shape()[d];
            int64_t i = index[d] - pads[d];
            if (i < 0 || i >= dim) {
                if (mode == PadMode::Constant) inside = false;
                if (mode == PadMode::Reflect) i = i < 0 ? -i : 2 * (dim - 1) - i;
                if (mode == PadMode::Edge) i = i < 0 ? 0 : dim - 1;
            }
            src += i * xStrides[d];
        }
        std::byte* dst = y.raw() + static_cast<size_t>(o) * elementSize;
        if (inside) {
            std::memcpy(dst, x.raw() + static_cast<size_t>(src) * elementSize, elementSize);
        } else {
            std::memcpy(dst, fill.data(), elementSize);
        }
        for (size_t d = rank; d-- > 0;) {
            if (++index[d] < y.shape()[d]) break;
            index[d] = 0;
        }
    }
    return {};
}

// Opset < 11: attributes `pads` and `value`; opset 11+: constant inputs pads, constant_value
// (optional, a scalar) and, from opset 18, axes (the pads then cover only those axes).
// The value only matters in constant mode, so other modes store 0 (a stable canonical form).
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    const Attributes& attrs = onnxAttrs(node);
    const int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size());
    const std::string modeName = attrs.getString("mode", "constant");
    PL_TRY_ASSIGN(PadMode mode, parseMode(modeName));
    std::vector<int64_t> pads;
    float value = 0.0f;
    if (node.opset < 11) {
        pads = attrs.getInts("pads", attrs.getInts("paddings"));
        value = attrs.getFloat("value", 0.0f);
    } else {
        PL_TRY_ASSIGN(pads, constantInts(node, 1, "Pad's pads"));
        if (hasOnnxInput(node, 2)) {
            PL_TRY_ASSIGN(value, constantScalar(node, 2, "Pad's value"));
        }
        if (hasOnnxInput(node, 3)) {
            PL_TRY_ASSIGN(std::vector<int64_t> axes, constantInts(node, 3, "Pad's axes"));
            if (pads.size() != 2 * axes.size()) {
                return makeError(ErrorCode::InvalidArgument,
                                 "Pad needs 2 pads per listed axis, got " +
                                     std::to_string(pads.size()) + " for " +
                                     std::to_string(axes.size()) + " axes");
            }
            std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
            for (size_t k = 0; k < axes.size(); ++k) {
                PL_TRY_ASSIGN(int64_t a, normalizeAxis(axes[k], rank, "Pad axis"));
                full[static_cast<size_t>(a)] = pads[k];
                full[static_cast<size_t>(rank + a)] = pads[axes.size() + k];
            }
            pads = std::move(full);
        }
    }
    if (pads.size() != static_cast<size_t>(2 * rank)) {
        return makeError(ErrorCode::InvalidArgument, "Pad needs " + std::to_string(2 * rank) +
                                                         " pads for rank " + std::to_string(rank) +
                                                         ", got " + std::to_string(pads.size()));
    }
    result.attrs.set("pads", pads);
    result.attrs.set("mode", modeName);
    result.attrs.set("value", mode == PadMode::Constant ? value : 0.0f);
    return result;
}

// Opset 13: pads as a constant int64 input and, in constant mode, the value as a scalar
// constant of the input's dtype (ONNX requires the same type).
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph& graph) {
    OnnxNodeOut pad;
    pad.opType = "Pad";
    const std::string mode = node.attrs.getString("mode", "constant");
    pad.attrs.set("mode", mode);
    pad.inputs = {irOperand(0), constantOperand(int64Vector(node.attrs.getInts("pads")))};
    if (mode == "constant") {
        const DataType type = graph.value(node.inputs[0]).dtype;
        PL_TRY_ASSIGN(Tensor value, Tensor::make(type, {}));
        const std::vector<std::byte> bytes = fillBytes(node.attrs.getFloat("value", 0.0f), type);
        std::memcpy(value.raw(), bytes.data(), bytes.size());
        pad.inputs.push_back(constantOperand(value));
    }
    return std::vector<OnnxNodeOut>{pad};
}

}  // namespace

const OpDef kOpDefPad = {OpKind::Pad, "Pad", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine
