// The model format: encode, then decode in the same order with every field checked (wire.h),
// then the graph's and the compiled layers' meaning checked by the engine's own verifiers.
// Sections: limits | graph | sparse layers | model
#include "engine/runtime/remote/model_codec.h"

#include <cmath>
#include <map>
#include <set>
#include <variant>

#include "engine/codegen/passes.h"
#include "engine/ops/op.h"
#include "engine/runtime/remote/wire.h"

namespace prunelab::engine::remote {

namespace {

// ---------------------------------------------------------------- limits
// Far above the largest model we run (Real-ESRGAN: ~1,000 values), far below what would exhaust
// an agent's memory on bookkeeping alone; the bytes left bound every count as well.
constexpr size_t kMaxValues = 1 << 20;
constexpr size_t kMaxNodes = 1 << 20;
constexpr size_t kMaxNodeIo = 4096;  // inputs or outputs of one node, graph inputs or outputs
constexpr size_t kMaxAttributes = 256;
constexpr size_t kMaxAttributeElements = 1 << 20;
constexpr size_t kMaxMetadata = 4096;
constexpr size_t kMaxMetadataBytes = 16 << 20;
constexpr size_t kMaxArray = size_t(1) << 28;            // elements of one packed array
constexpr size_t kMaxPatterns = 256;                     // pattern ids are bytes
constexpr int64_t kMaxValueElements = int64_t(1) << 28;  // 1 GiB of float32

constexpr size_t kAttributeKinds = std::variant_size_v<AttributeValue>;
static_assert(kAttributeKinds == 6,
              "a new attribute kind needs its wire code here and a new "
              "kProtocolBase");

Error corrupt(const std::string& problem, const std::string& where) {
    return makeError(ErrorCode::Corrupt, problem, "the LOAD model: " + where);
}

// ---------------------------------------------------------------- graph

void putAttribute(Writer& w, const AttributeValue& v) {
    w.u8(static_cast<uint8_t>(v.index()));
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, int64_t>) {
                w.i64(x);
            } else if constexpr (std::is_same_v<T, float>) {
                w.f32(x);
            } else if constexpr (std::is_same_v<T, std::string>) {
                w.string(x);
            } else if constexpr (std::is_same_v<T, Tensor>) {
                w.tensor(x);
            } else {
                w.array(x);
            }
        },
        v);
}

bool withinDimension(int64_t v) {
    return v >= -kMaxDimension && v <= kMaxDimension;
}

AttributeValue getAttribute(Reader& r) {
    const uint8_t kind = r.u8("attribute kind");
    switch (kind) {
        case 0: {
            const int64_t v = r.i64("int attribute");
            if (r.ok() && !withinDimension(v)) {
                r.fail("int attribute", std::to_string(v) + " is outside +-(2^31 - 1)");
            }
            return v;
        }
        case 3: {
            std::vector<int64_t> v = r.array<int64_t>("ints attribute", kMaxAttributeElements);
            for (int64_t x : v) {
                if (r.ok() && !withinDimension(x)) {
                    r.fail("ints attribute", std::to_string(x) + " is outside +-(2^31 - 1)");
                }
            }
            return v;
        }
        case 1:
            return r.f32("float attribute");
        case 2:
            return r.string("string attribute", kMaxNameBytes);
        case 4:
            return r.array<float>("floats attribute", kMaxAttributeElements);
        case 5:
            return r.tensor("tensor attribute");
        default:
            if (r.ok()) r.fail("attribute kind", std::to_string(kind) + " is not one of 0..5");
            return int64_t{0};
    }
}

void putGraph(Writer& w, const Graph& g) {
    w.string(g.name);
    w.u32(static_cast<uint32_t>(g.metadata.size()));
    for (const auto& [k, v] : g.metadata) {
        w.string(k);
        w.string(v);
    }
    w.u32(static_cast<uint32_t>(g.values.size()));
    for (const Value& v : g.values) {
        w.string(v.name);
        w.u8(static_cast<uint8_t>(v.dtype));
        w.u32(static_cast<uint32_t>(v.shape.size()));
        for (int64_t d : v.shape) w.i64(d);
        w.u8(v.isConstant() ? 1 : 0);
        if (v.isConstant()) w.tensor(v.constant);
    }
    w.u32(static_cast<uint32_t>(g.nodes.size()));
    for (const Node& n : g.nodes) {
        w.u16(static_cast<uint16_t>(n.op));
        w.string(n.name);
        w.array(n.inputs);
        w.array(n.outputs);
        w.u32(static_cast<uint32_t>(n.attrs.all().size()));
        for (const auto& [name, value] : n.attrs.all()) {
            w.string(name);
            putAttribute(w, value);
        }
    }
    w.array(g.inputs);
    w.array(g.outputs);
}

// Reads the graph's fields and checks what the IR verifier takes for granted (ids in range,
// known ops, output counts, unique names, inputs that are neither constant nor computed), so
// the verifier can run on it.
Result<Graph> getGraph(Reader& r) {
    Graph g;
    g.sourcePath = "the LOAD model";
    g.name = r.string("graph name");
    const size_t metadata = r.count("metadata count", 8, kMaxMetadata);
    for (size_t i = 0; i < metadata && r.ok(); ++i) {
        std::string key = r.string("metadata key");
        std::string value = r.string("metadata value", kMaxMetadataBytes);
        // Sorted and unique, as the encoder writes them: one model has one encoding.
        if (r.ok() && !g.metadata.empty() && !(g.metadata.rbegin()->first < key)) {
            r.fail("metadata key", "'" + key + "' repeated or out of order");
        }
        g.metadata.emplace(std::move(key), std::move(value));
    }
    // A value is at least a name length, a dtype, a rank and a constant flag: 10 bytes.
    const size_t values = r.count("value count", 10, kMaxValues);
    std::set<std::string> names;
    for (size_t i = 0; i < values && r.ok(); ++i) {
        Value v;
        v.name = r.string("value name");
        v.dtype = r.dtype("value data type");
        v.shape = r.shape("value shape");
        if (r.boolean("value is constant")) v.constant = r.tensor("constant");
        if (!r.ok()) break;
        const std::string where = "value " + std::to_string(i) + " '" + v.name + "'";
        if (!names.insert(v.name).second) return corrupt("the name is used twice", where);
        if (v.isConstant() && (v.constant.dtype() != v.dtype || v.constant.shape() != v.shape)) {
            return corrupt("constant data of another type or shape than the value", where);
        }
        g.values.push_back(std::move(v));
    }
    const auto valueCount = static_cast<int64_t>(g.values.size());
    const size_t nodes = r.count("node count", 18, kMaxNodes);
    for (size_t k = 0; k < nodes && r.ok(); ++k) {
        Node n;
        const uint16_t op = r.u16("op");
        if (r.ok() && op >= kOpCount) {
            r.fail("op", std::to_string(op) + " is not among the " + std::to_string(kOpCount) +
                             " ops of this build");
        }
        n.op = static_cast<OpKind>(op);
        n.name = r.string("node name");
        n.inputs = r.array<ValueId>("node inputs", kMaxNodeIo);
        n.outputs = r.array<ValueId>("node outputs", kMaxNodeIo);
        const size_t attrs = r.count("attribute count", 5, kMaxAttributes);
        for (size_t a = 0; a < attrs && r.ok(); ++a) {
            std::string name = r.string("attribute name");
            AttributeValue value = getAttribute(r);
            if (r.ok() && !n.attrs.all().empty() && !(n.attrs.all().rbegin()->first < name)) {
                r.fail("attribute name", "'" + name + "' repeated or out of order");
            }
            n.attrs.set(name, std::move(value));
        }
        if (!r.ok()) break;
        const std::string where =
            "node " + std::to_string(k) + " '" + n.name + "' (" + std::string(opName(n.op)) + ")";
        for (ValueId id : n.inputs) {
            if (id != kNoValue && (id < 0 || id >= valueCount)) {
                return corrupt("input value id " + std::to_string(id) + " is outside the " +
                                   std::to_string(valueCount) + " values",
                               where);
            }
        }
        // Every op but Split has one output; the ops' shape inference relies on the count.
        const bool countOk = n.op == OpKind::Split ? !n.outputs.empty() : n.outputs.size() == 1;
        if (!countOk) {
            return corrupt(std::to_string(n.outputs.size()) + " outputs, not what the op makes",
                           where);
        }
        for (ValueId id : n.outputs) {
            if (id < 0 || id >= valueCount) {
                return corrupt("output value id " + std::to_string(id) + " is outside the " +
                                   std::to_string(valueCount) + " values",
                               where);
            }
        }
        g.nodes.push_back(std::move(n));
    }
    g.inputs = r.array<ValueId>("graph inputs", kMaxNodeIo);
    g.outputs = r.array<ValueId>("graph outputs", kMaxNodeIo);
    if (!r.ok()) return r.error();

    std::vector<bool> produced(g.values.size(), false);
    for (const Node& n : g.nodes) {
        for (ValueId id : n.outputs) produced[static_cast<size_t>(id)] = true;
    }
    std::set<ValueId> seen;
    for (ValueId id : g.inputs) {
        const std::string where = "graph input " + std::to_string(id);
        if (id < 0 || id >= valueCount) return corrupt("value id out of range", where);
        const Value& v = g.value(id);
        if (v.isConstant() || produced[static_cast<size_t>(id)] || !seen.insert(id).second) {
            return corrupt("'" + v.name + "' is a constant, computed by a node or listed twice",
                           where);
        }
    }
    if (g.outputs.empty()) return corrupt("no outputs", "graph");
    for (ValueId id : g.outputs) {
        if (id < 0 || id >= valueCount) {
            return corrupt("value id out of range", "graph output " + std::to_string(id));
        }
    }
    Status verified = verifyGraph(g);
    if (!verified.ok()) {
        return makeError(ErrorCode::Corrupt, verified.error().message,
                         "the LOAD model: " + verified.error().context);
    }
    // Shapes are verified now; a computed value still costs memory when the agent runs it.
    for (const Value& v : g.values) {
        if (elementCount(v.shape) > kMaxValueElements) {
            return corrupt(shapeToString(v.shape) + " is over the agent's limit of " +
                               std::to_string(kMaxValueElements) + " elements per value",
                           "value '" + v.name + "'");
        }
    }
    return g;
}

// ---------------------------------------------------------------- sparse layers

void putConv(Writer& w, const ConvParams& c) {
    for (int64_t v :
         {c.batch,          c.inChannels,    c.inH,       c.inW,      c.outChannels, c.outH,
          c.outW,           c.kernelH,       c.kernelW,   c.group,    c.strideH,     c.strideW,
          c.padTop,         c.padLeft,       c.padBottom, c.padRight, c.dilationH,   c.dilationW,
          c.outputPaddingH, c.outputPaddingW}) {
        w.i64(v);
    }
}

ConvParams getConv(Reader& r) {
    ConvParams c;
    for (int64_t* v : {&c.batch,
                       &c.inChannels,
                       &c.inH,
                       &c.inW,
                       &c.outChannels,
                       &c.outH,
                       &c.outW,
                       &c.kernelH,
                       &c.kernelW,
                       &c.group,
                       &c.strideH,
                       &c.strideW,
                       &c.padTop,
                       &c.padLeft,
                       &c.padBottom,
                       &c.padRight,
                       &c.dilationH,
                       &c.dilationW,
                       &c.outputPaddingH,
                       &c.outputPaddingW}) {
        *v = r.i64("conv parameters");
    }
    return c;
}

bool sameConv(const ConvParams& a, const ConvParams& b) {
    return a.batch == b.batch && a.inChannels == b.inChannels && a.inH == b.inH && a.inW == b.inW &&
           a.outChannels == b.outChannels && a.outH == b.outH && a.outW == b.outW &&
           a.kernelH == b.kernelH && a.kernelW == b.kernelW && a.group == b.group &&
           a.strideH == b.strideH && a.strideW == b.strideW && a.padTop == b.padTop &&
           a.padLeft == b.padLeft && a.padBottom == b.padBottom && a.padRight == b.padRight &&
           a.dilationH == b.dilationH && a.dilationW == b.dilationW &&
           a.outputPaddingH == b.outputPaddingH && a.outputPaddingW == b.outputPaddingW;
}

void putLayer(Writer& w, const codegen::LayerCode& layer) {
    // A layer the measured decision turned dense keeps its packed storage on the desktop (the
    // reports show what was measured), but runs dense: only its kind travels, as
    // codegen::verify wants of a dense layer.
    const bool strip = layer.kind == codegen::KernelKind::Dense;
    codegen::LayerCode stripped;
    if (strip) {
        stripped = layer;
        stripped.fkw = {};
        stripped.tiles = {};
        stripped.csr = {};
    }
    const codegen::LayerCode& l = strip ? stripped : layer;
    w.i32(l.node);
    w.string(l.name);
    w.i32(l.index);
    w.string(l.scheme);
    putConv(w, l.conv);
    w.u8(l.gemm ? 1 : 0);
    w.i64(l.denseMacs);
    w.i64(l.keptMacs);
    w.f64(l.density);
    w.u8(static_cast<uint8_t>(l.kind));
    w.string(l.decision);
    w.array(l.fkw.patterns);
    w.array(l.fkw.filterOrder);
    w.array(l.fkw.kernelStart);
    w.array(l.fkw.inputChannel);
    w.array(l.fkw.patternId);
    w.array(l.fkw.weights);
    w.i64(l.tiles.tileWidth);
    w.u32(static_cast<uint32_t>(l.tiles.rows.size()));
    for (size_t t = 0; t < l.tiles.rows.size(); ++t) {
        w.array(l.tiles.rows[t]);
        w.array(t < l.tiles.columns.size() ? l.tiles.columns[t] : std::vector<int32_t>{});
    }
    w.array(l.tiles.blockStart);
    w.array(l.tiles.blocks);
    w.array(l.csr.rowStart);
    w.array(l.csr.column);
    w.array(l.csr.values);
    w.array(l.bias);
    w.i32(l.tuning.filterBlock);
    w.i32(l.tuning.pixelBlock);
    w.i32(l.tuning.unroll);
    w.i32(l.tuning.rows);
    w.string(l.tuning.source);
    w.f64(l.tuning.measuredMs);
}

codegen::LayerCode getLayer(Reader& r) {
    codegen::LayerCode l;
    l.node = r.i32("layer node");
    l.name = r.string("layer name");
    l.index = r.i32("layer index");
    l.scheme = r.string("layer scheme", 64);
    l.conv = getConv(r);
    l.gemm = r.boolean("layer is gemm");
    l.denseMacs = r.i64("dense MACs");
    l.keptMacs = r.i64("kept MACs");
    l.density = r.f64("density");
    const uint8_t kind = r.u8("kernel kind");
    if (r.ok() && kind > static_cast<uint8_t>(codegen::KernelKind::Csr)) {
        r.fail("kernel kind", std::to_string(kind) + " is not one of the 4 kinds");
    }
    l.kind = static_cast<codegen::KernelKind>(kind);
    l.decision = r.string("decision");
    l.fkw.patterns = r.array<prune::Pattern>("FKW patterns", kMaxPatterns);
    l.fkw.filterOrder = r.array<int32_t>("FKW filterOrder", kMaxArray);
    l.fkw.kernelStart = r.array<int32_t>("FKW kernelStart", kMaxArray);
    l.fkw.inputChannel = r.array<int32_t>("FKW inputChannel", kMaxArray);
    l.fkw.patternId = r.array<uint8_t>("FKW patternId", kMaxArray);
    l.fkw.weights = r.array<float>("FKW weights", kMaxArray);
    l.tiles.tileWidth = r.i64("tile width");
    const size_t tiles = r.count("tile count", 8, kMaxArray);
    for (size_t t = 0; t < tiles && r.ok(); ++t) {
        l.tiles.rows.push_back(r.array<int32_t>("tile rows", kMaxArray));
        l.tiles.columns.push_back(r.array<int32_t>("tile columns", kMaxArray));
    }
    l.tiles.blockStart = r.array<int64_t>("tile blockStart", kMaxArray);
    l.tiles.blocks = r.array<float>("tile blocks", kMaxArray);
    l.csr.rowStart = r.array<int32_t>("CSR rowStart", kMaxArray);
    l.csr.column = r.array<int32_t>("CSR column", kMaxArray);
    l.csr.values = r.array<float>("CSR values", kMaxArray);
    l.bias = r.array<float>("bias", kMaxArray);
    l.tuning.filterBlock = r.i32("tuning filterBlock");
    l.tuning.pixelBlock = r.i32("tuning pixelBlock");
    l.tuning.unroll = r.i32("tuning unroll");
    l.tuning.rows = r.i32("tuning rows");
    l.tuning.source = r.string("tuning source", 64);
    l.tuning.measuredMs = r.f64("tuning time");
    return l;
}

bool finite(const std::vector<float>& v) {
    for (float x : v) {
        if (!std::isfinite(x)) return false;
    }
    return true;
}

// What verifyIr does not check and the kernels rely on: the conv view is exactly the graph's
// (the kernels index the input with it), the bias is the graph's, one layer per node, tuning
// and numbers in range. Then codegen::verify: storage well formed and unpacking to the weights.
Status checkLayers(const codegen::SparseModel& model, const Graph& graph) {
    auto analysed = codegen::analyse(graph);
    if (!analysed.ok()) {
        return makeError(ErrorCode::Corrupt, analysed.error().message,
                         "the LOAD model's compiled layers: " + analysed.error().context);
    }
    std::map<int, const codegen::LayerCode*> byNode;
    for (const codegen::LayerCode& l : analysed->model.layers) byNode[l.node] = &l;
    std::set<int> seen;
    for (size_t i = 0; i < model.layers.size(); ++i) {
        const codegen::LayerCode& l = model.layers[i];
        const std::string where = "compiled layer " + std::to_string(i) + " '" + l.name + "'";
        auto found = byNode.find(l.node);
        if (found == byNode.end()) {
            return corrupt("node " + std::to_string(l.node) + " is no compiled layer of the graph",
                           where);
        }
        if (!seen.insert(l.node).second) return corrupt("a second layer for its node", where);
        const codegen::LayerCode& want = *found->second;
        if (!sameConv(l.conv, want.conv) || l.gemm != want.gemm) {
            return corrupt("its conv parameters are not the graph's node's", where);
        }
        if (l.bias.size() != want.bias.size() ||
            !std::equal(l.bias.begin(), l.bias.end(), want.bias.begin(),
                        [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; })) {
            return corrupt("its bias is not the graph's", where);
        }
        if (!finite(l.fkw.weights) || !finite(l.tiles.blocks) || !finite(l.csr.values)) {
            return corrupt("a packed weight is not finite", where);
        }
        if (!std::isfinite(l.density) || l.denseMacs < 0 || l.keptMacs < 0 ||
            !std::isfinite(l.tuning.measuredMs)) {
            return corrupt("density, MACs or the tuned time out of range", where);
        }
        const codegen::Tuning& t = l.tuning;
        if (t.filterBlock < 1 || t.filterBlock > 64 || t.pixelBlock < 1 || t.pixelBlock > 1024 ||
            t.unroll < 1 || t.unroll > 64 || t.rows < 0 || t.rows > 64) {
            return corrupt(
                "tuning out of range (filterBlock 1..64, pixelBlock 1..1024, unroll "
                "1..64, rows 0..64)",
                where);
        }
    }
    Status verified = codegen::verify(model, graph);
    if (!verified.ok()) {
        return makeError(ErrorCode::Corrupt, verified.error().message,
                         "the LOAD model's compiled layers: " + verified.error().context);
    }
    return {};
}

}  // namespace

// ---------------------------------------------------------------- model

std::vector<uint8_t> encodeModel(const Graph& graph, const codegen::SparseModel* sparse) {
    Writer w;
    w.u32(kModelMagic);
    w.u32(kModelFormatVersion);
    putGraph(w, graph);
    w.u8(sparse ? 1 : 0);
    if (sparse) {
        w.u32(static_cast<uint32_t>(sparse->layers.size()));
        for (const codegen::LayerCode& l : sparse->layers) putLayer(w, l);
    }
    return w.take();
}

Result<RemoteModel> decodeModel(std::span<const uint8_t> bytes) {
    Reader r(bytes, "the LOAD model");
    const uint32_t magic = r.u32("model magic");
    const uint32_t version = r.u32("model format version");
    if (!r.ok()) return r.error();
    if (magic != kModelMagic) return corrupt("the magic is not 'PLMD'", "header");
    if (version != kModelFormatVersion) {
        return corrupt("format version " + std::to_string(version) + ", this agent reads " +
                           std::to_string(kModelFormatVersion),
                       "header");
    }
    RemoteModel m;
    PL_TRY_ASSIGN(m.graph, getGraph(r));
    if (r.boolean("has compiled layers")) {
        // A layer is at least 20 conv i64s and its other fixed fields: over 200 bytes.
        const size_t layers = r.count("layer count", 200, m.graph.nodes.size());
        codegen::SparseModel sparse;
        for (size_t i = 0; i < layers && r.ok(); ++i) sparse.layers.push_back(getLayer(r));
        PL_TRY(r.finish());
        PL_TRY(checkLayers(sparse, m.graph));
        m.sparse = std::move(sparse);
    }
    PL_TRY(r.finish());
    return m;
}

}  // namespace prunelab::engine::remote
