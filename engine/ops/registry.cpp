// The op table: one OpDef per line of op_list.inc, defined in engine/ops/<op>.cpp as
// kOpDef<Kind>. The static_asserts catch a list line without a definition or a reordering.
#include <array>
#include <string>

#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

const std::array<const OpDef*, kOpCount> kDefs = {
#define PL_OP(kind) &kOpDef##kind,
#include "engine/ir/op_list.inc"
#undef PL_OP
};

}  // namespace

const OpDef& opDef(OpKind op) {
    return *kDefs[static_cast<size_t>(op)];
}

const OpDef* opDefForOnnx(std::string_view onnxOpType) {
    for (const OpDef* def : kDefs) {
        if (def->name == onnxOpType) return def;
        for (std::string_view alias : def->onnxAliases) {
            if (!alias.empty() && alias == onnxOpType) return def;
        }
    }
    return nullptr;
}

Status inferNode(const Graph& graph, const Node& node, std::vector<TensorInfo>& out) {
    std::vector<TensorInfo> in;
    in.reserve(node.inputs.size());
    for (ValueId id : node.inputs) {
        TensorInfo info;
        if (id != kNoValue) {
            const Value& v = graph.value(id);
            info.dtype = v.dtype;
            info.shape = v.shape;
            info.constant = v.isConstant() ? &v.constant : nullptr;
        }
        in.push_back(std::move(info));
    }
    out.assign(node.outputs.size(), TensorInfo{});
    const OpDef& def = opDef(node.op);
    if (def.infer == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         "op " + std::string(def.name) + " has no shape inference");
    }
    return def.infer(node, in, out);
}

Result<std::vector<Tensor>> runReference(const Node& node, std::span<const Tensor* const> in) {
    std::vector<TensorInfo> infos;
    for (const Tensor* t : in) {
        TensorInfo info;
        if (t != nullptr) {
            info.dtype = t->dtype();
            info.shape = t->shape();
            info.constant = t;
        }
        infos.push_back(std::move(info));
    }
    std::vector<TensorInfo> outInfo(node.outputs.size());
    const OpDef& def = opDef(node.op);
    if (def.infer == nullptr || def.reference == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         "op " + std::string(def.name) + " has no reference kernel");
    }
    PL_TRY(def.infer(node, infos, outInfo));
    std::vector<Tensor> outputs;
    std::vector<Tensor*> outPtrs;
    outputs.reserve(outInfo.size());
    for (const TensorInfo& info : outInfo) {
        PL_TRY_ASSIGN(Tensor t, Tensor::make(info.dtype, info.shape));
        outputs.push_back(std::move(t));
    }
    for (Tensor& t : outputs) outPtrs.push_back(&t);
    PL_TRY(def.reference(node, in, outPtrs));
    return outputs;
}

}  // namespace prunelab::engine
