// Checks on the ModelProto before IR construction. Our own checks run before onnx's checker so
// the common problems (unknown op, missing name, bad external path) get precise error codes;
// everything that calls into libonnx is wrapped, since it reports errors by throwing.
#include "engine/onnx/onnx_model_check.h"

#include <algorithm>
#include <climits>
#include <queue>
#include <unordered_set>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "engine/onnx/onnx_tensor.h"
#include "engine/ops/op.h"

namespace prunelab::engine::internal {

namespace {

// ONNX graphs nest only through subgraph attributes, which we refuse; 64 levels is plenty for
// any real model and keeps a hostile file far from the stack's end.
constexpr int kProtoRecursionLimit = 64;

bool isDefaultDomain(const std::string& domain) {
    return domain.empty() || domain == "ai.onnx";
}

// The checker's messages span lines ("...\n\n==> Context: Bad node spec..."): one line reads
// better inside our "file: node: message" format.
std::string oneLine(const std::string& text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

int knownOpsetMax(const std::string& domain) {
    const auto& map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    auto it = map.find(domain);
    return it == map.end() ? INT_MAX : it->second.second;
}

}  // namespace

std::string describeOnnxNode(const onnx::NodeProto& node, int index) {
    if (!node.name().empty()) return "node '" + node.name() + "' (" + node.op_type() + ")";
    return "node #" + std::to_string(index) + " (" + node.op_type() + ")";
}

Status parseOnnxModel(std::string_view bytes, const std::string& displayName,
                      onnx::ModelProto& model) {
    auto notOnnx = [&] {
        return makeError(ErrorCode::Corrupt,
                         "'" + displayName + "' is not an ONNX model or is truncated", displayName);
    };
    if (bytes.size() >= size_t(INT_MAX)) {
        return makeError(ErrorCode::OutOfRange,
                         "the model is " + std::to_string(bytes.size()) +
                             " bytes; protobuf reads at most 2 GiB (keep weights as external data)",
                         displayName);
    }
    google::protobuf::io::ArrayInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
    google::protobuf::io::CodedInputStream coded(&stream);
    coded.SetTotalBytesLimit(INT_MAX);
    coded.SetRecursionLimit(kProtoRecursionLimit);
    if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) return notOnnx();
    // Random bytes occasionally parse as a message of unknown fields: no graph means no model.
    if (!model.has_graph()) return notOnnx();
    return {};
}

Result<int64_t> defaultOpset(const onnx::ModelProto& model) {
    for (const auto& opset : model.opset_import()) {
        if (isDefaultDomain(opset.domain())) return opset.version();
    }
    return makeError(ErrorCode::Corrupt, "the model declares no opset for the default ONNX domain");
}

namespace {

// Everything a node reads must be a graph input, an initializer or another node's output, and
// every name is defined once. Nodes end up in topological order.
Status resolveAndSort(onnx::GraphProto& graph) {
    std::unordered_set<std::string> external;
    for (const auto& input : graph.input()) external.insert(input.name());
    for (const auto& init : graph.initializer()) external.insert(init.name());
    std::unordered_map<std::string, int> producer;
    for (int i = 0; i < graph.node_size(); ++i) {
        for (const std::string& out : graph.node(i).output()) {
            if (out.empty()) continue;
            if (external.count(out) != 0 || !producer.emplace(out, i).second) {
                return makeError(ErrorCode::Corrupt,
                                 "writes '" + out + "', which is already defined elsewhere",
                                 describeOnnxNode(graph.node(i), i));
            }
        }
    }
    std::vector<std::vector<int>> users(static_cast<size_t>(graph.node_size()));
    std::vector<int> pending(static_cast<size_t>(graph.node_size()), 0);
    bool sorted = true;
    for (int i = 0; i < graph.node_size(); ++i) {
        for (const std::string& in : graph.node(i).input()) {
            if (in.empty() || external.count(in) != 0) continue;
            auto it = producer.find(in);
            if (it == producer.end()) {
                return makeError(ErrorCode::NotFound,
                                 "reads '" + in + "', which no node or initializer produces",
                                 describeOnnxNode(graph.node(i), i));
            }
            if (it->second >= i) sorted = false;
            ++pending[static_cast<size_t>(i)];
            users[static_cast<size_t>(it->second)].push_back(i);
        }
    }
    for (const auto& out : graph.output()) {
        if (external.count(out.name()) == 0 && producer.count(out.name()) == 0) {
            return makeError(ErrorCode::NotFound,
                             "graph output '" + out.name() + "' is never produced");
        }
    }
    if (sorted) return {};

    // Kahn's algorithm, lowest file index first, so sorted files keep their order.
    std::priority_queue<int, std::vector<int>, std::greater<>> ready;
    for (int i = 0; i < graph.node_size(); ++i) {
        if (pending[static_cast<size_t>(i)] == 0) ready.push(i);
    }
    std::vector<int> order;
    while (!ready.empty()) {
        int i = ready.top();
        ready.pop();
        order.push_back(i);
        for (int u : users[static_cast<size_t>(i)]) {
            if (--pending[static_cast<size_t>(u)] == 0) ready.push(u);
        }
    }
    if (order.size() != static_cast<size_t>(graph.node_size())) {
        for (int i = 0; i < graph.node_size(); ++i) {
            if (pending[static_cast<size_t>(i)] > 0) {
                return makeError(ErrorCode::Corrupt, "the graph has a cycle through this node",
                                 describeOnnxNode(graph.node(i), i));
            }
        }
    }
    google::protobuf::RepeatedPtrField<onnx::NodeProto> reordered;
    for (int i : order) reordered.Add()->Swap(graph.mutable_node(i));
    graph.mutable_node()->Swap(&reordered);
    return {};
}

// Foreign domains and ops without a mapping are Unsupported; normalises "ai.onnx" to "".
Status checkOnnxOps(onnx::GraphProto& graph) {
    for (int i = 0; i < graph.node_size(); ++i) {
        onnx::NodeProto& node = *graph.mutable_node(i);
        const std::string where = describeOnnxNode(node, i);
        if (!isDefaultDomain(node.domain())) {
            return makeError(ErrorCode::Unsupported,
                             "op domain '" + node.domain() +
                                 "' is not supported (only the default ONNX domain is)",
                             where);
        }
        node.clear_domain();  // "ai.onnx" is the default domain; the checker knows it as ""
        if (node.op_type() == "Constant") continue;
        const OpDef* def = opDefForOnnx(node.op_type());
        if (def == nullptr) {
            return makeError(ErrorCode::Unsupported, "unsupported op '" + node.op_type() + "'",
                             where);
        }
        if (def->importOnnx == nullptr) {
            return makeError(ErrorCode::Unsupported,
                             "op '" + node.op_type() + "' has no ONNX mapping yet", where);
        }
    }
    return {};
}

}  // namespace

Status precheckOnnxGraph(onnx::GraphProto& graph) {
    // Structure first (a file that is corrupt should say so even if it also uses an op we
    // lack), then the ops: an unknown op is the most common reason a model does not load.
    PL_TRY(resolveAndSort(graph));
    return checkOnnxOps(graph);
}

Status runOnnxChecker(const onnx::ModelProto& model, const std::string& baseDir) {
    if (model.ir_version() < 1) {
        return makeError(ErrorCode::Corrupt, "the model declares no ONNX IR version");
    }
    bool newerThanLibrary = false;
    std::unordered_map<std::string, int> opsets;
    for (const auto& opset : model.opset_import()) {
        const std::string domain = isDefaultDomain(opset.domain()) ? "" : opset.domain();
        const int known = knownOpsetMax(domain);
        int version = static_cast<int>(std::clamp<int64_t>(opset.version(), 0, INT_MAX));
        if (version > known) {
            newerThanLibrary = true;
            version = known;
        }
        opsets[domain] = version;
    }
    try {
        onnx::checker::CheckerContext ctx;
        // check_model() refuses IR versions newer than the library's outright; the graph rules
        // have not changed since IR 8, so check newer models by those rules instead.
        ctx.set_ir_version(static_cast<int>(
            std::min<int64_t>(model.ir_version(), static_cast<int64_t>(onnx::IR_VERSION))));
        ctx.set_opset_imports(opsets);
        ctx.set_model_dir(baseDir);
        // The main-graph rules also demand a declared shape on every graph input and output.
        // Exporters often leave output shapes out and ONNX Runtime loads such models; we infer
        // every shape ourselves and check input types and shapes when binding them, so check
        // by the rules onnx applies to subgraphs, which differ only there.
        ctx.set_is_main_graph(false);
        onnx::checker::LexicalScopeContext lexical;
        onnx::checker::check_graph(model.graph(), ctx, lexical);
        if (ctx.get_ir_version() >= 8) {
            onnx::checker::check_model_local_functions(model, ctx, lexical);
        }
    } catch (const std::exception& e) {
        if (newerThanLibrary) return {};  // see the header: our own mapping checks each node
        return makeError(ErrorCode::Corrupt, "fails the ONNX checker: " + oneLine(e.what()));
    } catch (...) {
        if (newerThanLibrary) return {};
        return makeError(ErrorCode::Corrupt, "fails the ONNX checker");
    }
    return {};
}

Status bindOnnxInputShapes(onnx::GraphProto& graph,
                           const std::unordered_map<std::string, int>& constants,
                           const OnnxImportOptions& options) {
    std::string inputNames;
    for (const auto& input : graph.input()) {
        if (constants.count(input.name()) != 0) continue;
        inputNames += (inputNames.empty() ? "'" : ", '") + input.name() + "'";
    }
    for (const auto& [name, shape] : options.inputShapes) {
        bool found = false;
        for (const auto& input : graph.input()) {
            found = found || (input.name() == name && constants.count(name) == 0);
        }
        if (!found) {
            return makeError(
                ErrorCode::InvalidArgument,
                "there is no input '" + name + "' to bind; the model's inputs are " + inputNames);
        }
    }

    for (auto& input : *graph.mutable_input()) {
        const std::string& name = input.name();
        if (constants.count(name) != 0) continue;
        if (!input.type().has_tensor_type()) {
            return makeError(ErrorCode::Unsupported, "input '" + name + "' is not a tensor");
        }
        auto& tensorType = *input.mutable_type()->mutable_tensor_type();
        const int32_t elemType = tensorType.elem_type();
        const DataType dtype = dataTypeFromOnnx(elemType);
        if (dtype == DataType::Undefined || elemType == onnx::TensorProto::FLOAT16 ||
            elemType == onnx::TensorProto::BFLOAT16) {
            return makeError(ErrorCode::Unsupported, "input '" + name + "' has data type " +
                                                         onnxTypeName(elemType) +
                                                         ", which PruneLab does not take");
        }
        auto given = options.inputShapes.find(name);
        if (!tensorType.has_shape()) {
            if (given == options.inputShapes.end()) {
                return makeError(ErrorCode::InvalidArgument,
                                 "input '" + name + "' has no shape in the file; give its shape");
            }
            for (size_t i = 0; i < given->second.size(); ++i) tensorType.mutable_shape()->add_dim();
        }
        auto& dims = *tensorType.mutable_shape()->mutable_dim();
        if (given != options.inputShapes.end() &&
            given->second.size() != static_cast<size_t>(dims.size())) {
            return makeError(ErrorCode::InvalidArgument,
                             "input '" + name + "' has " + std::to_string(dims.size()) +
                                 " dims, but the shape given for it is " +
                                 shapeToString(given->second));
        }
        Shape bound;
        for (int i = 0; i < dims.size(); ++i) {
            auto& dim = dims[i];
            // Exporters write -1 (or nothing, or a symbolic name) for a dim fixed at run time.
            const int64_t fileDim =
                dim.has_dim_value() && dim.dim_value() >= 0 ? dim.dim_value() : -1;
            const int64_t want = given != options.inputShapes.end() ? given->second[size_t(i)] : -1;
            int64_t size = fileDim;
            if (want < -1) {
                return makeError(ErrorCode::InvalidArgument,
                                 "the size " + std::to_string(want) + " given for input '" + name +
                                     "' dim " + std::to_string(i) + " is negative");
            }
            if (want >= 0) {
                if (fileDim >= 0 && fileDim != want) {
                    return makeError(ErrorCode::InvalidArgument,
                                     "input '" + name + "' dim " + std::to_string(i) +
                                         " is fixed at " + std::to_string(fileDim) +
                                         " in the file; it cannot be bound to " +
                                         std::to_string(want));
                }
                size = want;
            } else if (fileDim < 0 && i == 0) {
                size = 1;  // an unbound leading dim is the batch
            } else if (fileDim < 0) {
                const std::string symbol =
                    dim.has_dim_param() ? " ('" + dim.dim_param() + "')" : std::string();
                return makeError(ErrorCode::InvalidArgument,
                                 "input '" + name + "' dim " + std::to_string(i) + symbol +
                                     " has no fixed size; give a size for it (e.g. --size WxH)");
            }
            dim.set_dim_value(size);
            bound.push_back(size);
        }
        auto count = checkedElementCount(bound);
        if (!count.ok()) {
            return makeError(count.error().code, "input '" + name + "': " + count.error().message);
        }
    }
    return {};
}

std::unordered_map<std::string, Shape> declaredOnnxShapes(const onnx::GraphProto& graph) {
    std::unordered_map<std::string, Shape> shapes;
    auto record = [&](const onnx::ValueInfoProto& info) {
        if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) return;
        Shape shape;
        for (const auto& dim : info.type().tensor_type().shape().dim()) {
            if (!dim.has_dim_value() || dim.dim_value() < 0) return;
            shape.push_back(dim.dim_value());
        }
        shapes[info.name()] = std::move(shape);
    };
    for (const auto& info : graph.value_info()) record(info);
    for (const auto& info : graph.output()) record(info);
    return shapes;
}

Status crossCheckOnnxShapes(onnx::ModelProto& model, const Graph& graph) {
    try {
        onnx::ShapeInferenceOptions options(/*check_type=*/false, /*strict_mode=*/0,
                                            /*data_prop=*/false);
        onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
    } catch (...) {
        return {};  // informative only: onnx giving up says nothing about our shapes
    }
    for (const auto& [name, shape] : declaredOnnxShapes(model.graph())) {
        const ValueId id = graph.findValue(name);
        if (id == kNoValue || graph.value(id).shape == shape) continue;
        return makeError(ErrorCode::Internal, "PruneLab's shape inference gives '" + name +
                                                  "' as " + shapeToString(graph.value(id).shape) +
                                                  ", ONNX's as " + shapeToString(shape) +
                                                  ": an op's shape inference is wrong");
    }
    return {};
}

}  // namespace prunelab::engine::internal
