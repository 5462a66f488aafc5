// Not: y = not x, element-wise over a bool tensor.
#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Not", in, 1, 1));
    if (in[0].dtype != DataType::Bool) {
        return makeError(ErrorCode::InvalidArgument,
                         "Not input must be bool, got " + dtypeText(in[0].dtype));
    }
    out[0].dtype = DataType::Bool;
    out[0].shape = in[0].shape;
    return {};
}

// y[i] = x[i] ? 0 : 1   (bool bytes; any non-zero byte reads as true)
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    const auto* x = reinterpret_cast<const uint8_t*>(in[0]->raw());
    auto* y = reinterpret_cast<uint8_t*>(out[0]->raw());
    for (int64_t i = 0; i < in[0]->elements(); ++i) y[i] = x[i] != 0 ? 0 : 1;
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Not");
}

}  // namespace

const OpDef kOpDefNot = {OpKind::Not, "Not", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine
