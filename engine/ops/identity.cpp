// Identity: Y = X, any dtype. ONNX Dropout imports as Identity too: at inference it passes
// its input through.
#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Identity", in, 1, 1));
    out[0] = TensorInfo{in[0].dtype, in[0].shape, nullptr};
    return {};
}

// Y.flat[i] = X.flat[i]
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    if (in[0]->bytes() != 0) std::memcpy(out[0]->raw(), in[0]->raw(), in[0]->bytes());
    return {};
}

// Dropout (inference mode) keeps only its data input; the ratio (input 1, opset 12+) is
// irrelevant. Its mask output and training mode have no inference meaning, so they are
// refused rather than silently produced wrong.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    if (node.opType == "Dropout") {
        if (node.outputCount > 1) {
            return makeError(ErrorCode::Unsupported, "Dropout's mask output is not supported");
        }
        if (hasOnnxInput(node, 2)) {
            const TensorInfo& training = node.inputs[2];
            if (training.constant == nullptr || training.constant->elements() != 1 ||
                training.constant->toInt64Vector()[0] != 0) {
                return makeError(ErrorCode::Unsupported,
                                 "Dropout in training mode is not supported");
            }
        }
    } else if (node.inputs.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, "Identity takes 1 input");
    }
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Identity");
}

}  // namespace

const OpDef kOpDefIdentity = {OpKind::Identity, "Identity", infer,      reference,
                              importOnnx,       exportOnnx, {"Dropout"}};

}  // namespace prunelab::engine
