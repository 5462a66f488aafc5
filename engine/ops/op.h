// The op contract: what every engine/ops/<op>.cpp provides in one OpDef. Shape inference and
// the readable reference kernel define the op's semantics; every optimised kernel (CPU fast
// paths, generated sparse kernels, Vulkan) is tested against the reference. The ONNX mapping
// lives here too, written against plain engine types so ops never include protobuf.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ir/attributes.h"
#include "engine/ir/graph.h"
#include "engine/ir/op_kind.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {

// What shape inference knows of one input. `constant` is set when the value is known at
// load time (weights, folded shape computations); shape inference may read it.
struct TensorInfo {
    DataType dtype = DataType::Undefined;  // Undefined = an absent optional input
    Shape shape;
    const Tensor* constant = nullptr;
    bool present() const { return dtype != DataType::Undefined; }
};

// Fills out[i].dtype and out[i].shape for each output (out.size() == node.outputs.size()).
// Errors (ShapeMismatch, Unsupported, InvalidArgument) say what does not fit; the caller adds
// the node and file to the context.
using InferFn = Status (*)(const Node& node, std::span<const TensorInfo> in,
                           std::span<TensorInfo> out);

// Computes the outputs from the inputs with plain loops. Outputs arrive allocated with the
// inferred dtype and shape (zero-filled); absent optional inputs are nullptr. Must be exact
// enough to be the ground truth, and readable: students read these.
using ReferenceFn = Status (*)(const Node& node, std::span<const Tensor* const> in,
                               std::span<Tensor* const> out);

// ---- ONNX mapping (engine/onnx fills these from protobuf; ops stay protobuf-free) ----

// One ONNX node as the importer sees it, after its inputs' shapes (and constants) are known.
struct OnnxNodeIn {
    std::string_view opType;  // the ONNX op_type, e.g. "Upsample" for an op that maps to Resize
    int64_t opset = 0;        // the model's default-domain opset
    const Attributes* attrs = nullptr;   // ONNX attributes, converted one to one
    std::span<const TensorInfo> inputs;  // absent optional inputs have dtype Undefined
    int outputCount = 1;
};

// How that node becomes one IR node of this op: canonical attributes and which ONNX inputs
// stay as IR inputs (indices into OnnxNodeIn::inputs; use -1 for an absent optional slot that
// must keep its position). Operands folded into attributes (Reshape's shape, Clip's bounds,
// Slice's starts...) must be constants, or the mapping returns Unsupported saying so.
struct OnnxImport {
    Attributes attrs;
    std::vector<int> inputs;
};
using OnnxImportFn = Result<OnnxImport> (*)(const OnnxNodeIn& node);

// One ONNX node to write. Operands are IR inputs of the node being exported, new constant
// initializers, an empty slot, or the output of an earlier node of the same export chain.
struct OnnxOperand {
    enum class Kind { IrInput, Constant, Absent, Chained } kind = Kind::IrInput;
    int index = 0;    // IrInput: index into node.inputs; Chained: index into the chain
    Tensor constant;  // Constant
};
struct OnnxNodeOut {
    std::string opType;
    Attributes attrs;  // written as ONNX attributes
    std::vector<OnnxOperand> inputs;
};
// The exporter writes opset kOnnxExportOpset. The chain's last node produces the IR node's
// outputs; most ops export as exactly one node.
inline constexpr int64_t kOnnxExportOpset = 13;
using OnnxExportFn = Result<std::vector<OnnxNodeOut>> (*)(const Node& node, const Graph& graph);

struct OpDef {
    OpKind kind;
    std::string_view name;
    InferFn infer = nullptr;
    ReferenceFn reference = nullptr;
    OnnxImportFn importOnnx = nullptr;
    OnnxExportFn exportOnnx = nullptr;
    // ONNX op_types besides `name` that import through importOnnx (e.g. "Upsample" for
    // Resize, "Dropout" for Identity). Empty-string entries are ignored.
    std::string_view onnxAliases[2] = {};
};

// Each engine/ops/<op>.cpp defines its kOpDef<Kind>; declared here so it has external linkage.
#define PL_OP(kind) extern const OpDef kOpDef##kind;
#include "engine/ir/op_list.inc"
#undef PL_OP

const OpDef& opDef(OpKind op);
// The OpDef that imports an ONNX op_type (its name or an alias), or nullptr.
const OpDef* opDefForOnnx(std::string_view onnxOpType);

// Runs the op's shape inference for `node` against `graph`'s recorded input values.
Status inferNode(const Graph& graph, const Node& node, std::vector<TensorInfo>& out);
// Runs the op's reference kernel, allocating outputs with inferred shapes.
Result<std::vector<Tensor>> runReference(const Node& node, std::span<const Tensor* const> in);

// Checks ids, single producers, topological order, static shapes, non-empty constants of the
// declared shape, and re-runs each op's shape inference to confirm recorded shapes (verify.cpp).
Status verifyGraph(const Graph& graph);

}  // namespace prunelab::engine
