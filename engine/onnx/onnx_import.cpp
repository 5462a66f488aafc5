// ONNX import: the pipeline from bytes to verified IR.
//   1. read + parse (protobuf limits)        4. initializers -> constants
//   2. our pre-checks, then onnx's checker   5. nodes in topological order, each mapped through
//   3. bind input dims                           its OpDef, constant sub-graphs folded on the way
//   6. (debug) onnx's shape inference cross-checks ours
//   7. passes: Identity removal, BatchNormalization folding, dead code, sort, verify
// Every error carries "<file>: node '<name>' (<OpType>)" as its context.
#include "engine/onnx/onnx_import.h"

#include <filesystem>
#include <fstream>
#include <new>
#include <unordered_map>

#include <onnx/onnx_pb.h>

#include "engine/onnx/onnx_model_check.h"
#include "engine/onnx/onnx_passes.h"
#include "engine/onnx/onnx_tensor.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

using internal::describeOnnxNode;
using internal::ExternalDataPolicy;
using internal::tensorFromOnnx;

// Constant folding runs the reference kernels at load time. These caps keep a small hostile
// file (ConstantOfShape of a huge shape feeding a MatMul) from stalling or exhausting memory;
// a node over them stays a node and runs with the model instead.
constexpr int64_t kMaxFoldBytes = int64_t(64) << 20;
constexpr int64_t kMaxFoldWork = int64_t(1) << 28;  // rough multiply-add count

// Builds the IR from a checked ModelProto, node by node.
class OnnxGraphBuilder {
  public:
    OnnxGraphBuilder(ExternalDataPolicy external, int64_t opset)
        : m_external(std::move(external)), m_opset(opset) {}
    // Shapes the file declares, quoted when our own inference refuses a node.
    void setDeclaredShapes(std::unordered_map<std::string, Shape> shapes) {
        m_declaredShapes = std::move(shapes);
    }

    Status addInitializers(const onnx::GraphProto& graph);
    Status addInputs(const onnx::GraphProto& graph);
    Status addNode(const onnx::NodeProto& proto);
    Status setOutputs(const onnx::GraphProto& graph);
    Graph& graph() { return m_graph; }

  private:
    Status define(const std::string& name, ValueId id);
    Status addConstantNode(const onnx::NodeProto& proto);
    Result<Attributes> convertAttributes(const onnx::NodeProto& proto) const;
    // Outputs of `node` computed now, or an empty vector when the node must stay a node.
    Result<std::vector<Tensor>> tryFold(const Node& node, const OpDef& def,
                                        const std::vector<TensorInfo>& outInfo) const;
    std::string shapeHint(const onnx::NodeProto& proto) const;

    ExternalDataPolicy m_external;
    int64_t m_opset = 0;
    std::unordered_map<std::string, Shape> m_declaredShapes;  // the file's value_info
    Graph m_graph;
    std::unordered_map<std::string, ValueId> m_byName;
};

Status OnnxGraphBuilder::define(const std::string& name, ValueId id) {
    if (!m_byName.emplace(name, id).second) {
        return makeError(ErrorCode::Corrupt, "the value '" + name + "' is defined twice");
    }
    return {};
}

Status OnnxGraphBuilder::addInitializers(const onnx::GraphProto& graph) {
    if (graph.sparse_initializer_size() > 0) {
        return makeError(ErrorCode::Unsupported, "sparse initializers are not supported");
    }
    for (const auto& init : graph.initializer()) {
        if (init.name().empty()) return makeError(ErrorCode::Corrupt, "an initializer has no name");
        PL_TRY_ASSIGN(Tensor t,
                      tensorFromOnnx(init, "initializer '" + init.name() + "'", m_external));
        PL_TRY(define(init.name(), m_graph.addConstant(init.name(), std::move(t))));
    }
    return {};
}

Status OnnxGraphBuilder::addInputs(const onnx::GraphProto& graph) {
    for (const auto& input : graph.input()) {
        // An input with an initializer is a constant (a default we never override). Only
        // initializers are defined yet, and the checker refuses duplicate input names.
        if (m_byName.count(input.name()) != 0) continue;
        const auto& type = input.type().tensor_type();
        Shape shape;
        for (const auto& dim : type.shape().dim()) shape.push_back(dim.dim_value());  // bound
        const ValueId id =
            m_graph.addValue(input.name(), internal::dataTypeFromOnnx(type.elem_type()), shape);
        PL_TRY(define(input.name(), id));
        m_graph.inputs.push_back(id);
    }
    return {};
}

Result<Attributes> OnnxGraphBuilder::convertAttributes(const onnx::NodeProto& proto) const {
    using A = onnx::AttributeProto;
    Attributes attrs;
    for (const A& attr : proto.attribute()) {
        const std::string what = "attribute '" + attr.name() + "'";
        if (!attr.ref_attr_name().empty()) {
            return makeError(ErrorCode::Unsupported, what + " refers to a function attribute");
        }
        int type = attr.type();
        if (type == A::UNDEFINED) {
            // Very old exporters leave the type out; the field that is set says it.
            if (attr.has_i()) type = A::INT;
            if (attr.has_f()) type = A::FLOAT;
            if (attr.has_s()) type = A::STRING;
            if (attr.has_t()) type = A::TENSOR;
            if (attr.ints_size() > 0) type = A::INTS;
            if (attr.floats_size() > 0) type = A::FLOATS;
        }
        switch (type) {
            case A::INT:
                attrs.set(attr.name(), int64_t(attr.i()));
                break;
            case A::FLOAT:
                attrs.set(attr.name(), attr.f());
                break;
            case A::STRING:
                attrs.set(attr.name(), attr.s());
                break;
            case A::INTS:
                attrs.set(attr.name(),
                          std::vector<int64_t>(attr.ints().begin(), attr.ints().end()));
                break;
            case A::FLOATS:
                attrs.set(attr.name(),
                          std::vector<float>(attr.floats().begin(), attr.floats().end()));
                break;
            case A::TENSOR: {
                PL_TRY_ASSIGN(Tensor t, tensorFromOnnx(attr.t(), what, m_external));
                attrs.set(attr.name(), std::move(t));
                break;
            }
            default: {
                const std::string typeName = onnx::AttributeProto_AttributeType_IsValid(type)
                                                 ? onnx::AttributeProto_AttributeType_Name(
                                                       static_cast<A::AttributeType>(type))
                                                 : "type " + std::to_string(type);
                return makeError(ErrorCode::Unsupported,
                                 what + " has type " + typeName + ", which PruneLab does not read");
            }
        }
    }
    return attrs;
}

Status OnnxGraphBuilder::addConstantNode(const onnx::NodeProto& proto) {
    if (proto.output_size() != 1 || proto.output(0).empty()) {
        return makeError(ErrorCode::Corrupt, "a Constant must have exactly one named output");
    }
    if (proto.attribute_size() != 1) {
        return makeError(ErrorCode::Corrupt, "a Constant must have exactly one value attribute");
    }
    const onnx::AttributeProto& attr = proto.attribute(0);
    Tensor value;
    if (attr.name() == "value") {
        PL_TRY_ASSIGN(value, tensorFromOnnx(attr.t(), "attribute 'value'", m_external));
    } else if (attr.name() == "value_float") {
        value = Tensor::scalar(attr.f());
    } else if (attr.name() == "value_floats") {
        value = Tensor::fromVector<float>({int64_t(attr.floats_size())},
                                          {attr.floats().begin(), attr.floats().end()});
    } else if (attr.name() == "value_int") {
        value = Tensor::fromVector<int64_t>({}, {attr.i()});
    } else if (attr.name() == "value_ints") {
        value = Tensor::fromVector<int64_t>({int64_t(attr.ints_size())},
                                            {attr.ints().begin(), attr.ints().end()});
    } else {
        return makeError(ErrorCode::Unsupported,
                         "a Constant's '" + attr.name() + "' attribute is not supported");
    }
    return define(proto.output(0), m_graph.addConstant(proto.output(0), std::move(value)));
}

// A rough multiply-add count for running `node` once: the reduction ops (MatMul, Gemm, Conv,
// LRN's channel window) cost output x reduced length, everything else about one operation per
// element it touches.
int64_t estimateWork(const Node& node, const std::vector<const Tensor*>& in,
                     const std::vector<TensorInfo>& outInfo) {
    auto sat = [](int64_t a, int64_t b) {
        return (b != 0 && a > kMaxFoldWork / b) ? kMaxFoldWork + 1 : a * b;
    };
    int64_t outElements = 0;
    for (const TensorInfo& o : outInfo) outElements += elementCount(o.shape);
    int64_t inElements = 0;
    for (const Tensor* t : in) inElements += t ? t->elements() : 0;
    int64_t reduce = 1;
    const Tensor* a = in.empty() ? nullptr : in[0];
    const Tensor* w = in.size() > 1 ? in[1] : nullptr;
    switch (node.op) {
        case OpKind::MatMul:
        case OpKind::Gemm:
            if (a && a->rank() > 0) reduce = std::max(a->dim(0), a->dim(a->rank() - 1));
            break;
        case OpKind::Conv:
        case OpKind::ConvTranspose:
            if (w && w->rank() > 0 && w->dim(0) > 0) reduce = w->elements() / w->dim(0) + w->dim(0);
            break;
        case OpKind::LRN:
            // Each element sums its channel window: up to `size` channels, at most all of them.
            if (a && a->rank() > 1) reduce = std::min(node.attrs.getInt("size", 1), a->dim(1));
            break;
        default:
            break;
    }
    return sat(outElements + inElements, reduce);
}

Result<std::vector<Tensor>> OnnxGraphBuilder::tryFold(
    const Node& node, const OpDef& def, const std::vector<TensorInfo>& outInfo) const {
    int64_t outBytes = 0;
    for (const TensorInfo& o : outInfo) {
        outBytes += elementCount(o.shape) * int64_t(dataTypeSize(o.dtype));
        if (outBytes > kMaxFoldBytes) return std::vector<Tensor>{};
    }
    if (node.op == OpKind::Shape && !node.inputs.empty() && node.inputs[0] != kNoValue) {
        // Shape needs only its input's static shape, never its values (opset-15 start/end).
        const Shape& s = m_graph.value(node.inputs[0]).shape;
        const auto rank = static_cast<int64_t>(s.size());
        int64_t start = node.attrs.getInt("start", 0);
        int64_t end = node.attrs.has("end") ? node.attrs.getInt("end") : rank;
        start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
        end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
        const std::vector<int64_t> dims(s.begin() + start, s.begin() + std::max(start, end));
        Tensor t = Tensor::fromVector<int64_t>({int64_t(dims.size())}, dims);
        if (outInfo.size() != 1 || outInfo[0].shape != t.shape() || outInfo[0].dtype != t.dtype()) {
            return std::vector<Tensor>{};
        }
        return std::vector<Tensor>{std::move(t)};
    }
    if (def.reference == nullptr) return std::vector<Tensor>{};
    std::vector<const Tensor*> in;
    for (ValueId id : node.inputs) {
        if (id == kNoValue) {
            in.push_back(nullptr);
            continue;
        }
        const Value& v = m_graph.value(id);
        if (!v.isConstant()) return std::vector<Tensor>{};
        in.push_back(&v.constant);
    }
    if (estimateWork(node, in, outInfo) > kMaxFoldWork) return std::vector<Tensor>{};
    return runReference(node, in);
}

std::string OnnxGraphBuilder::shapeHint(const onnx::NodeProto& proto) const {
    for (const std::string& out : proto.output()) {
        auto it = m_declaredShapes.find(out);
        if (it != m_declaredShapes.end()) {
            return " (the file declares '" + out + "' as " + shapeToString(it->second) + ")";
        }
    }
    return {};
}

Status OnnxGraphBuilder::addNode(const onnx::NodeProto& proto) {
    if (proto.op_type() == "Constant") return addConstantNode(proto);
    const OpDef* def = opDefForOnnx(proto.op_type());
    if (def == nullptr || def->importOnnx == nullptr) {  // the pre-check refuses these already
        return makeError(ErrorCode::Unsupported, "unsupported op '" + proto.op_type() + "'");
    }
    PL_TRY_ASSIGN(Attributes onnxAttrs, convertAttributes(proto));

    std::vector<TensorInfo> infos;
    std::vector<ValueId> ids;
    for (const std::string& name : proto.input()) {
        TensorInfo info;
        ValueId id = kNoValue;
        if (!name.empty()) {
            auto it = m_byName.find(name);
            if (it == m_byName.end()) {
                return makeError(ErrorCode::NotFound,
                                 "reads '" + name + "', which no node or initializer produces");
            }
            id = it->second;
            const Value& v = m_graph.value(id);
            info.dtype = v.dtype;
            info.shape = v.shape;
            info.constant = v.isConstant() ? &v.constant : nullptr;
        }
        infos.push_back(std::move(info));
        ids.push_back(id);
    }
    // Trailing unnamed outputs are optional outputs nobody asked for.
    int outputCount = proto.output_size();
    while (outputCount > 0 && proto.output(outputCount - 1).empty()) --outputCount;
    if (outputCount == 0) return makeError(ErrorCode::Corrupt, "the node has no outputs");

    OnnxNodeIn in;
    in.opType = proto.op_type();
    in.opset = m_opset;
    in.attrs = &onnxAttrs;
    in.inputs = infos;
    in.outputCount = outputCount;
    PL_TRY_ASSIGN(OnnxImport mapped, def->importOnnx(in));

    Node node;
    node.op = def->kind;
    node.name = proto.name();
    node.attrs = std::move(mapped.attrs);
    for (int index : mapped.inputs) {
        if (index < -1 || index >= static_cast<int>(ids.size())) {
            return makeError(ErrorCode::Internal,
                             "the " + std::string(def->name) + " mapping keeps input " +
                                 std::to_string(index) + " of " + std::to_string(ids.size()));
        }
        node.inputs.push_back(index == -1 ? kNoValue : ids[size_t(index)]);
    }
    node.outputs.assign(size_t(outputCount), kNoValue);
    std::vector<TensorInfo> outInfo;
    Status inferred = inferNode(m_graph, node, outInfo);
    if (!inferred.ok()) {
        Error e = inferred.error();
        e.message += shapeHint(proto);
        return e;
    }
    for (size_t o = 0; o < outInfo.size(); ++o) {
        if (outInfo[o].dtype == DataType::Undefined) {
            return makeError(ErrorCode::Internal, "shape inference left output " +
                                                      std::to_string(o) + " without a type");
        }
        auto count = checkedElementCount(outInfo[o].shape);
        if (!count.ok()) {
            return makeError(count.error().code, "output " + std::to_string(o) + ": " +
                                                     count.error().message + shapeHint(proto));
        }
    }

    PL_TRY_ASSIGN(std::vector<Tensor> folded, tryFold(node, *def, outInfo));
    for (size_t o = 0; o < outInfo.size(); ++o) {
        std::string name = proto.output(int(o));
        if (name.empty()) {
            name = m_graph.uniqueName((node.name.empty() ? std::string(def->name) : node.name) +
                                      "#unused" + std::to_string(o));
        }
        const ValueId id = folded.empty()
                               ? m_graph.addValue(name, outInfo[o].dtype, outInfo[o].shape)
                               : m_graph.addConstant(name, std::move(folded[o]));
        node.outputs[o] = id;
        PL_TRY(define(name, id));
    }
    if (folded.empty()) m_graph.nodes.push_back(std::move(node));
    return {};
}

Status OnnxGraphBuilder::setOutputs(const onnx::GraphProto& graph) {
    for (const auto& out : graph.output()) {
        auto it = m_byName.find(out.name());
        if (it == m_byName.end()) {
            return makeError(ErrorCode::NotFound,
                             "graph output '" + out.name() + "' is never produced");
        }
        m_graph.outputs.push_back(it->second);
    }
    if (m_graph.outputs.empty()) return makeError(ErrorCode::Corrupt, "the model has no outputs");
    return {};
}

Result<Graph> importModel(std::string_view bytes, const std::string& displayName,
                          const std::string& baseDir, const OnnxImportOptions& options) {
    auto fail = [&](const Error& e) { return e.within(displayName); };
    if (bytes.size() > options.maxFileBytes) {
        return makeError(ErrorCode::OutOfRange,
                         "the model is " + std::to_string(bytes.size()) +
                             " bytes, over the limit of " + std::to_string(options.maxFileBytes),
                         displayName);
    }
    onnx::ModelProto model;
    PL_TRY(internal::parseOnnxModel(bytes, displayName, model));
    auto opset = internal::defaultOpset(model);
    if (!opset.ok()) return fail(opset.error());
    onnx::GraphProto& proto = *model.mutable_graph();
    if (Status st = internal::precheckOnnxGraph(proto); !st.ok()) return fail(st.error());

    // Initializers before onnx's checker: our checks give the precise errors (byte counts,
    // 2^40-element shapes, external paths leaving the model's folder).
    OnnxGraphBuilder builder(ExternalDataPolicy{baseDir}, *opset);
    if (Status st = builder.addInitializers(proto); !st.ok()) return fail(st.error());
    if (Status st = internal::runOnnxChecker(model, baseDir); !st.ok()) return fail(st.error());

    std::unordered_map<std::string, int> constants;
    for (const auto& init : proto.initializer()) constants.emplace(init.name(), 0);
    if (Status st = internal::bindOnnxInputShapes(proto, constants, options); !st.ok()) {
        return fail(st.error());
    }
    builder.setDeclaredShapes(internal::declaredOnnxShapes(proto));
    if (Status st = builder.addInputs(proto); !st.ok()) return fail(st.error());
    for (int i = 0; i < proto.node_size(); ++i) {
        const onnx::NodeProto& node = proto.node(i);
        Status st = builder.addNode(node);
        if (!st.ok()) return fail(st.error().within(describeOnnxNode(node, i)));
    }
    if (Status st = builder.setOutputs(proto); !st.ok()) return fail(st.error());

    Graph graph = std::move(builder.graph());
#ifndef NDEBUG
    // onnx's shape inference as a development check on our ops (see the header for why only
    // here, after every node was accepted, and only in debug builds).
    if (Status st = internal::crossCheckOnnxShapes(model, graph); !st.ok()) {
        return fail(st.error());
    }
#endif
    graph.name = proto.name();
    graph.sourcePath = displayName;
    for (const auto& entry : model.metadata_props()) graph.metadata[entry.key()] = entry.value();
    if (Status st = internal::runOnnxImportPasses(graph, options); !st.ok())
        return fail(st.error());
    return graph;
}

}  // namespace

Result<Graph> importOnnxBytes(std::string_view bytes, const std::string& displayName,
                              const std::string& baseDir, const OnnxImportOptions& options) {
    // libonnx and protobuf report some failures by throwing; none may leave the engine.
    try {
        return importModel(bytes, displayName, baseDir, options);
    } catch (const std::bad_alloc&) {
        return makeError(ErrorCode::OutOfRange, "ran out of memory while importing", displayName);
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Internal, std::string("unexpected error: ") + e.what(),
                         displayName);
    } catch (...) {
        return makeError(ErrorCode::Internal, "unexpected error", displayName);
    }
}

Result<Graph> importOnnxFile(const std::string& path, const OnnxImportOptions& options) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) {
        return makeError(ErrorCode::NotFound, "model file '" + path + "' does not exist", path);
    }
    if (!fs::is_regular_file(status)) {
        return makeError(ErrorCode::InvalidArgument, "'" + path + "' is not a regular file", path);
    }
    const uintmax_t size = fs::file_size(path, ec);
    if (ec) return makeError(ErrorCode::Io, "cannot read the size: " + ec.message(), path);
    if (size > options.maxFileBytes) {
        return makeError(ErrorCode::OutOfRange,
                         "the file is " + std::to_string(size) + " bytes, over the limit of " +
                             std::to_string(options.maxFileBytes),
                         path);
    }
    std::string bytes;
    try {
        std::ifstream in(path, std::ios::binary);
        bytes.resize(size);
        if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
            return makeError(ErrorCode::Io, "reading the file failed", path);
        }
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Io, std::string("reading the file failed: ") + e.what(), path);
    }
    std::string baseDir = fs::path(path).parent_path().string();
    if (baseDir.empty()) baseDir = ".";
    return importOnnxBytes(bytes, path, baseDir, options);
}

}  // namespace prunelab::engine
