// Range: the sequence start, start + delta, ... up to (not including) limit; float32 or int64.
// Its length depends on the values, so start, limit and delta are canonical attributes (one-
// element tensors of the output's dtype) folded from ONNX's constant inputs: the node has no
// inputs and usually folds to a constant at import.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

constexpr const char* kOperands[] = {"start", "limit", "delta"};

// The three operands, checked: present, one element each, one dtype (float32 or int64).
Result<DataType> operandType(const Attributes& attrs) {
    DataType type = DataType::Undefined;
    for (const char* name : kOperands) {
        const Tensor* t = attrs.getTensor(name);
        if (t == nullptr || t->elements() != 1) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string("Range needs '") + name + "' as a one-element tensor");
        }
        if (t->dtype() != DataType::Float32 && t->dtype() != DataType::Int64) {
            return makeError(ErrorCode::Unsupported, std::string("Range supports float32 and "
                                                                 "int64, '") +
                                                         name + "' is " + dtypeText(t->dtype()));
        }
        if (type != DataType::Undefined && t->dtype() != type) {
            return makeError(ErrorCode::InvalidArgument,
                             "Range's start, limit and delta must share one dtype");
        }
        type = t->dtype();
    }
    return type;
}

// n = max(ceil((limit - start) / delta), 0), as ONNX defines it (the difference taken in the
// operands' type, the division in double, as ONNX Runtime does).
Result<int64_t> rangeLength(const Attributes& attrs, DataType type) {
    double span = 0, delta = 0;
    if (type == DataType::Int64) {
        const int64_t s = attrs.getTensor("start")->data<int64_t>()[0];
        const int64_t l = attrs.getTensor("limit")->data<int64_t>()[0];
        const int64_t d = attrs.getTensor("delta")->data<int64_t>()[0];
        if (d == 0) return makeError(ErrorCode::InvalidArgument, "Range delta must not be 0");
        span = static_cast<double>(wrapSub(l, s));
        delta = static_cast<double>(d);
    } else {
        const float s = attrs.getTensor("start")->data<float>()[0];
        const float l = attrs.getTensor("limit")->data<float>()[0];
        const float d = attrs.getTensor("delta")->data<float>()[0];
        if (d == 0.0f || !std::isfinite(d) || !std::isfinite(s) || !std::isfinite(l)) {
            return makeError(ErrorCode::InvalidArgument,
                             "Range needs a finite start, limit and a finite non-zero delta");
        }
        span = static_cast<double>(l - s);
        delta = static_cast<double>(d);
    }
    const double n = std::ceil(span / delta);
    if (n > static_cast<double>(kMaxTensorElements)) {
        return makeError(ErrorCode::ShapeMismatch,
                         "Range would make " + std::to_string(n) + " elements: too many");
    }
    return n > 0 ? static_cast<int64_t>(n) : int64_t(0);
}

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    if (!in.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         "Range takes no inputs (start, limit and delta are attributes)");
    }
    PL_TRY_ASSIGN(DataType type, operandType(node.attrs));
    PL_TRY_ASSIGN(int64_t n, rangeLength(node.attrs, type));
    out[0].dtype = type;
    out[0].shape = {n};
    return {};
}

// y[i] = start + i * delta for i in [0, n).
Status reference(const Node& node, std::span<const Tensor* const>, std::span<Tensor* const> out) {
    Tensor& y = *out[0];
    if (y.dtype() == DataType::Int64) {
        const int64_t start = node.attrs.getTensor("start")->data<int64_t>()[0];
        const int64_t delta = node.attrs.getTensor("delta")->data<int64_t>()[0];
        int64_t* dst = y.data<int64_t>();
        for (int64_t i = 0; i < y.elements(); ++i) dst[i] = wrapAdd(start, wrapMul(i, delta));
    } else {
        const double start = node.attrs.getTensor("start")->data<float>()[0];
        const double delta = node.attrs.getTensor("delta")->data<float>()[0];
        float* dst = y.data<float>();
        for (int64_t i = 0; i < y.elements(); ++i) {
            dst[i] = static_cast<float>(start + static_cast<double>(i) * delta);
        }
    }
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    OnnxImport result;
    for (size_t i = 0; i < 3; ++i) {
        const std::string name = kOperands[i];
        if (!hasOnnxInput(node, i)) {
            return makeError(ErrorCode::InvalidArgument, "Range's " + name + " input is missing");
        }
        if (node.inputs[i].constant == nullptr) {
            return makeError(ErrorCode::Unsupported,
                             "Range's " + name +
                                 " must be a constant known at load time: the output's length "
                                 "depends on it");
        }
        const Tensor& value = *node.inputs[i].constant;
        if (value.elements() != 1) {
            return makeError(
                ErrorCode::InvalidArgument,
                "Range's " + name + " must be a scalar, got shape " + shapeToString(value.shape()));
        }
        result.attrs.set(name, value.reshaped({1}));
    }
    PL_TRY_ASSIGN(DataType type, operandType(result.attrs));
    PL_TRY(rangeLength(result.attrs, type));
    return result;  // no IR inputs
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "Range";
    for (const char* name : kOperands) {
        const Tensor* t = node.attrs.getTensor(name);
        if (t == nullptr) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string("Range needs '") + name + "' to export");
        }
        out.inputs.push_back(constantOperand(t->reshaped({})));  // ONNX wants scalars
    }
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefRange = {OpKind::Range, "Range", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine
