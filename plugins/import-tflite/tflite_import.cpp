// .tflite -> IR. Sections: 1. the file (read, FlatBuffers verifier, identifier, version),
// 2. tensors (every shape, buffer index and byte size checked before any operator is read),
// 3. constants (fp16 widened, int8/uint8 dequantised, sparse decoded, DEQUANTIZE/DENSIFY
// folded), 4. inputs, operators and outputs (the driver). The operator mappings are in
// tflite_ops.cpp, the sparse format in tflite_sparsity.cpp.
#include "plugins/import-tflite/tflite_import.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <utility>

#include "engine/ir/half.h"
#include "plugins/import-tflite/tflite_internal.h"

namespace prunelab::tflite {

using engine::DataType;
using engine::ErrorCode;
using engine::Graph;
using engine::makeError;
using engine::Result;
using engine::Shape;
using engine::Status;
using engine::Tensor;
using engine::ValueId;
using internal::Importer;
using ::tflite::TensorType;

namespace {

// ---- 1. The file -----------------------------------------------------------------------

// FlatBuffers cannot address more than 2 GiB; TFLite files above that keep weights outside
// the flatbuffer (Buffer.offset), which we do not read.
constexpr size_t kMaxFileBytes = size_t(1) << 31;
constexpr int64_t kMaxRank = 8;

Result<std::vector<uint8_t>> readFile(const std::string& path) {
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    if (!file) return makeError(ErrorCode::Io, "cannot open file", path);
    const std::streamoff size = file.tellg();
    if (size < 0) return makeError(ErrorCode::Io, "cannot read the file's size", path);
    if (static_cast<uint64_t>(size) > kMaxFileBytes) {
        return makeError(ErrorCode::Unsupported,
                         "file is " + std::to_string(size) +
                             " bytes; TFLite models over 2 GiB (external buffers) are not read",
                         path);
    }
    std::vector<uint8_t> data(static_cast<size_t>(size));
    file.seekg(0);
    if (!file.read(reinterpret_cast<char*>(data.data()), size)) {
        return makeError(ErrorCode::Io, "read failed", path);
    }
    return data;
}

std::string baseName(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

size_t typeSize(TensorType type) {
    switch (type) {
        case TensorType::FLOAT32:
        case TensorType::INT32:
            return 4;
        case TensorType::FLOAT16:
        case TensorType::INT16:
            return 2;
        case TensorType::INT64:
        case TensorType::FLOAT64:
        case TensorType::COMPLEX64:
            return 8;
        case TensorType::UINT8:
        case TensorType::INT8:
        case TensorType::BOOL:
            return 1;
        default:
            return 0;  // STRING and types our schema does not name: no fixed size
    }
}

std::string typeName(TensorType type) {
    const char* name = ::tflite::EnumNameTensorType(type);
    return name != nullptr && *name != '\0' ? name
                                            : "type " + std::to_string(static_cast<int>(type));
}

std::string shapeText(const std::vector<int64_t>& shape) {
    return engine::shapeToString(shape);
}

}  // namespace

std::string internal::opName(int32_t code, const std::string& customCode) {
    if (code == static_cast<int32_t>(::tflite::BuiltinOperator::CUSTOM)) {
        return "CUSTOM '" + customCode + "'";
    }
    const char* name =
        ::tflite::EnumNameBuiltinOperator(static_cast<::tflite::BuiltinOperator>(code));
    if (name != nullptr && *name != '\0') return name;
    return "operator code " + std::to_string(code);
}

// ---- 2. Tensors --------------------------------------------------------------------------

namespace internal {

size_t Importer::tensorCount() const {
    return m_subgraph.tensors() == nullptr ? 0 : m_subgraph.tensors()->size();
}

const ::tflite::Tensor& Importer::tensor(int32_t index) const {
    return *m_subgraph.tensors()->Get(static_cast<flatbuffers::uoffset_t>(index));
}

std::string Importer::tensorName(int32_t index) const {
    const auto* name = tensor(index).name();
    if (name == nullptr || name->size() == 0) return "tensor_" + std::to_string(index);
    return name->str();
}

std::string Importer::describeTensor(int32_t index) const {
    return "tensor " + std::to_string(index) + " '" + tensorName(index) + "'";
}

Status Importer::checkTensors() {
    const size_t count = tensorCount();
    const size_t buffers = m_model.buffers() == nullptr ? 0 : m_model.buffers()->size();
    m_shapes.resize(count);
    m_slots.resize(count);
    for (size_t i = 0; i < count; ++i) {
        const auto index = static_cast<int32_t>(i);
        const ::tflite::Tensor* t =
            m_subgraph.tensors()->Get(static_cast<flatbuffers::uoffset_t>(i));
        if (t == nullptr) return makeError(ErrorCode::Corrupt, "is missing", describeTensor(index));
        std::vector<int64_t>& shape = m_shapes[i];
        if (t->shape() != nullptr) {
            if (t->shape()->size() > kMaxRank) {
                return makeError(
                    ErrorCode::Unsupported,
                    "has rank " + std::to_string(t->shape()->size()) + "; at most 8 is supported",
                    describeTensor(index));
            }
            int64_t elements = 1;
            for (int32_t d : *t->shape()) {
                if (d < 0) {
                    return makeError(
                        ErrorCode::Corrupt,
                        "has a negative dimension in shape " +
                            shapeText(std::vector<int64_t>(t->shape()->begin(), t->shape()->end())),
                        describeTensor(index));
                }
                shape.push_back(d);
                if (d > 0 && elements > engine::kMaxTensorElements / d) {
                    return makeError(ErrorCode::OutOfRange,
                                     "shape " +
                                         shapeText(std::vector<int64_t>(t->shape()->begin(),
                                                                        t->shape()->end())) +
                                         " has more elements than the engine allows",
                                     describeTensor(index));
                }
                elements *= d;
            }
        }
        const uint32_t b = t->buffer();
        if (b != 0 && b >= buffers) {
            return makeError(ErrorCode::Corrupt,
                             "refers to buffer " + std::to_string(b) + ", but the model has " +
                                 std::to_string(buffers) + " buffers",
                             describeTensor(index));
        }
        if (b == 0) continue;
        const ::tflite::Buffer* buffer = m_model.buffers()->Get(b);
        if (buffer == nullptr) continue;
        if (buffer->offset() > 1) {
            return makeError(ErrorCode::Unsupported,
                             "keeps its data outside the flatbuffer (a model over 2 GiB), "
                             "which is not read",
                             describeTensor(index));
        }
        if (buffer->data() == nullptr || buffer->data()->size() == 0) continue;
        const size_t size = typeSize(t->type());
        if (size == 0) {
            return makeError(ErrorCode::Unsupported,
                             "is a constant of " + typeName(t->type()) + ", which is not read",
                             describeTensor(index));
        }
        int64_t elements = 1;
        for (int64_t d : shape) elements *= d;
        if (t->sparsity() != nullptr) continue;  // its stored size is checked when decoded
        const uint64_t want = static_cast<uint64_t>(elements) * size;
        if (buffer->data()->size() != want) {
            return makeError(ErrorCode::Corrupt,
                             "buffer " + std::to_string(b) + " holds " +
                                 std::to_string(buffer->data()->size()) + " bytes, but shape " +
                                 shapeText(shape) + " of " + typeName(t->type()) + " needs " +
                                 std::to_string(want),
                             describeTensor(index));
        }
    }
    return {};
}

// ---- 3. Constants ------------------------------------------------------------------------

namespace {

// f = scale * (q - zero_point), one scale per slice along quantized_dimension (or one for all).
Result<Tensor> dequantize(const ::tflite::Tensor& t, const Shape& shape,
                          const std::vector<int64_t>& q, const std::string& where) {
    const ::tflite::QuantizationParameters* qp = t.quantization();
    const size_t scales = qp->scale()->size();
    const auto* zeros = qp->zero_point();
    if (zeros != nullptr && zeros->size() != 0 && zeros->size() != scales) {
        return makeError(ErrorCode::Corrupt,
                         "has " + std::to_string(scales) + " quantisation scales but " +
                             std::to_string(zeros->size()) + " zero points",
                         where);
    }
    int64_t axis = 0, outer = 1, inner = 1, channels = 1;
    if (scales > 1) {
        axis = qp->quantized_dimension();
        if (axis < 0 || axis >= static_cast<int64_t>(shape.size()) ||
            shape[static_cast<size_t>(axis)] != static_cast<int64_t>(scales)) {
            return makeError(ErrorCode::Corrupt,
                             std::to_string(scales) + " per-channel scales along dimension " +
                                 std::to_string(axis) + " do not fit shape " + shapeText(shape),
                             where);
        }
        channels = static_cast<int64_t>(scales);
        for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
        for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
    } else {
        inner = static_cast<int64_t>(q.size());
    }
    Tensor out(DataType::Float32, shape);
    float* dst = out.data<float>();
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t c = 0; c < channels; ++c) {
            const auto s = static_cast<flatbuffers::uoffset_t>(c);
            const float scale = qp->scale()->Get(s);
            const int64_t zero = zeros != nullptr && zeros->size() != 0 ? zeros->Get(s) : 0;
            const int64_t base = (o * channels + c) * inner;
            for (int64_t i = 0; i < inner; ++i) {
                dst[base + i] = scale * static_cast<float>(q[static_cast<size_t>(base + i)] - zero);
            }
        }
    }
    return out;
}

}  // namespace

Result<std::optional<Tensor>> Importer::constant(int32_t index) {
    if (auto it = m_folded.find(index); it != m_folded.end()) return std::optional(it->second);
    const ::tflite::Tensor& t = tensor(index);
    const uint32_t b = t.buffer();
    if (b == 0) return std::optional<Tensor>();
    const ::tflite::Buffer* buffer = m_model.buffers()->Get(b);
    if (buffer == nullptr || buffer->data() == nullptr || buffer->data()->size() == 0) {
        return std::optional<Tensor>();
    }
    const std::string where = describeTensor(index);
    const Shape shape = m_shapes[static_cast<size_t>(index)];
    int64_t elements = 1;
    for (int64_t d : shape) elements *= d;
    const size_t size = typeSize(t.type());
    std::vector<uint8_t> bytes;
    const uint8_t* raw = buffer->data()->data();
    if (t.sparsity() != nullptr) {
        auto dense = densify(*t.sparsity(), shape, raw, buffer->data()->size(), size);
        if (!dense.ok()) return dense.error().within(where + ": sparsity");
        bytes = std::move(dense.value());
        raw = bytes.data();
        sparseWeights = true;
    }
    const auto n = static_cast<size_t>(elements);
    const bool quantised = t.quantization() != nullptr && t.quantization()->scale() != nullptr &&
                           t.quantization()->scale()->size() != 0;
    auto asInts = [&](auto type) {
        std::vector<int64_t> q(n);
        for (size_t i = 0; i < n; ++i) {
            decltype(type) v;
            std::memcpy(&v, raw + i * sizeof v, sizeof v);
            q[i] = v;
        }
        return q;
    };
    switch (t.type()) {
        case TensorType::FLOAT32: {
            Tensor out(DataType::Float32, shape);
            std::memcpy(out.raw(), raw, n * 4);
            return std::optional(std::move(out));
        }
        case TensorType::FLOAT16: {
            Tensor out(DataType::Float32, shape);
            float* dst = out.data<float>();
            for (size_t i = 0; i < n; ++i) {
                uint16_t h = 0;
                std::memcpy(&h, raw + 2 * i, 2);
                dst[i] = engine::halfToFloat(h);
            }
            return std::optional(std::move(out));
        }
        case TensorType::INT8:
        case TensorType::UINT8:
        case TensorType::INT16: {
            if (!quantised) {
                return makeError(
                    ErrorCode::Unsupported,
                    "is a " + typeName(t.type()) + " constant without quantisation parameters",
                    where);
            }
            std::vector<int64_t> q = t.type() == TensorType::INT8    ? asInts(int8_t{})
                                     : t.type() == TensorType::UINT8 ? asInts(uint8_t{})
                                                                     : asInts(int16_t{});
            PL_TRY_ASSIGN(Tensor out, dequantize(t, shape, q, where));
            ++dequantised[typeName(t.type())];
            return std::optional(std::move(out));
        }
        case TensorType::INT32: {
            if (quantised) {  // a quantised model's bias (scale = input scale * weight scale)
                PL_TRY_ASSIGN(Tensor out, dequantize(t, shape, asInts(int32_t{}), where));
                return std::optional(std::move(out));
            }
            Tensor out(DataType::Int32, shape);
            std::memcpy(out.raw(), raw, n * 4);
            return std::optional(std::move(out));
        }
        case TensorType::INT64: {
            Tensor out(DataType::Int64, shape);
            std::memcpy(out.raw(), raw, n * 8);
            return std::optional(std::move(out));
        }
        default:
            return makeError(ErrorCode::Unsupported,
                             "is a constant of " + typeName(t.type()) + ", which is not read",
                             where);
    }
}

Result<std::vector<int64_t>> Importer::constantInts(int32_t index, const std::string& what) {
    PL_TRY_ASSIGN(std::optional<Tensor> t, constant(index));
    if (!t) {
        return makeError(ErrorCode::Unsupported, what + " must be a constant, but " +
                                                     describeTensor(index) + " is computed");
    }
    if (t->dtype() != DataType::Int32 && t->dtype() != DataType::Int64) {
        return makeError(ErrorCode::Corrupt,
                         what + " (" + describeTensor(index) + ") must hold integers");
    }
    return t->toInt64Vector();
}

// ---- 4. Inputs, operators, outputs -------------------------------------------------------

Status Importer::bindInputs(int64_t height, int64_t width) {
    if (m_subgraph.inputs() == nullptr || m_subgraph.inputs()->size() == 0) {
        return makeError(ErrorCode::Unsupported, "the model declares no inputs");
    }
    if (m_subgraph.outputs() != nullptr) {
        for (int32_t o : *m_subgraph.outputs()) m_outputs.insert(o);
    }
    for (int32_t index : *m_subgraph.inputs()) {
        if (index < 0 || static_cast<size_t>(index) >= tensorCount()) {
            return makeError(ErrorCode::Corrupt, "input tensor index " + std::to_string(index) +
                                                     " is out of range (the subgraph has " +
                                                     std::to_string(tensorCount()) + " tensors)");
        }
        const ::tflite::Tensor& t = tensor(index);
        // A fully quantised model runs here in float: its input takes the real values
        // scale * (q - zero_point) that its integer input stands for.
        const bool quantised = t.quantization() != nullptr &&
                               t.quantization()->scale() != nullptr &&
                               t.quantization()->scale()->size() != 0;
        if (t.type() != TensorType::FLOAT32 &&
            !(quantised && (t.type() == TensorType::INT8 || t.type() == TensorType::UINT8 ||
                            t.type() == TensorType::INT16))) {
            return makeError(ErrorCode::Unsupported,
                             "input is " + typeName(t.type()) +
                                 "; float32 inputs and quantised int8/uint8/int16 ones are read",
                             describeTensor(index));
        }
        if (t.type() != TensorType::FLOAT32) {
            notes.push_back(describeTensor(index) + " is " + typeName(t.type()) +
                            "-quantised in the file: the model is imported in float32 and takes "
                            "the real (dequantised) values; integer activations run in float");
        }
        if (m_slots[static_cast<size_t>(index)].plain != engine::kNoValue) {
            return makeError(ErrorCode::Corrupt, "is listed twice as an input",
                             describeTensor(index));
        }
        Shape shape = m_shapes[static_cast<size_t>(index)];
        const auto* signature = t.shape_signature();
        const bool hasSignature = signature != nullptr && signature->size() == shape.size();
        for (size_t d = 0; d < shape.size(); ++d) {
            const bool dynamic =
                hasSignature && signature->Get(static_cast<flatbuffers::uoffset_t>(d)) < 0;
            if (dynamic) {
                if (d == 0) shape[d] = 1;
                if (shape.size() == 4 && d == 1 && height > 0) shape[d] = height;
                if (shape.size() == 4 && d == 2 && width > 0) shape[d] = width;
            }
            if (shape[d] < 1) {
                return makeError(
                    ErrorCode::Unsupported,
                    "input shape " + shapeText(shape) + " has an unbound or zero dimension",
                    describeTensor(index));
            }
        }
        if (shape != m_shapes[static_cast<size_t>(index)]) m_checkShapes = false;
        const ValueId v =
            m_graph.addValue(m_graph.uniqueName(tensorName(index)), DataType::Float32, shape);
        m_graph.inputs.push_back(v);
        m_slots[static_cast<size_t>(index)].plain = v;
    }
    return {};
}

Status Importer::importOperator(size_t index) {
    const ::tflite::Operator* op =
        m_subgraph.operators()->Get(static_cast<flatbuffers::uoffset_t>(index));
    const std::string where = "operator #" + std::to_string(index);
    if (op == nullptr) return makeError(ErrorCode::Corrupt, "is missing", where);
    const size_t codes = m_model.operator_codes() == nullptr ? 0 : m_model.operator_codes()->size();
    if (op->opcode_index() >= codes) {
        return makeError(ErrorCode::Corrupt,
                         "opcode index " + std::to_string(op->opcode_index()) +
                             " is out of range (the model has " + std::to_string(codes) +
                             " operator codes)",
                         where);
    }
    const ::tflite::OperatorCode* oc = m_model.operator_codes()->Get(op->opcode_index());
    if (oc == nullptr) return makeError(ErrorCode::Corrupt, "operator code is missing", where);
    // TFLite reads the larger of the two: old files set only the byte, new ones both.
    const int32_t code = std::max(static_cast<int32_t>(oc->builtin_code()),
                                  static_cast<int32_t>(oc->deprecated_builtin_code()));
    const std::string custom = oc->custom_code() != nullptr ? oc->custom_code()->str() : "";
    OpContext c;
    c.index = index;
    c.op = op;
    const std::string described = where + " (" + opName(code, custom) + ")";
    auto readList = [&](const flatbuffers::Vector<int32_t>* list, std::vector<int32_t>& out,
                        const char* what, bool optional) -> Status {
        if (list == nullptr) return {};
        for (int32_t t : *list) {
            if ((t == -1 && optional) || (t >= 0 && static_cast<size_t>(t) < tensorCount())) {
                out.push_back(t);
                continue;
            }
            return makeError(ErrorCode::Corrupt,
                             std::string(what) + " tensor index " + std::to_string(t) +
                                 " is out of range (the subgraph has " +
                                 std::to_string(tensorCount()) + " tensors)",
                             described);
        }
        return {};
    };
    PL_TRY(readList(op->inputs(), c.inputs, "input", true));
    PL_TRY(readList(op->outputs(), c.outputs, "output", false));
    if (c.outputs.empty()) return makeError(ErrorCode::Corrupt, "has no outputs", described);
    for (int32_t out : c.outputs) {
        const Slot& s = m_slots[static_cast<size_t>(out)];
        if (s.plain != engine::kNoValue || s.nchw != engine::kNoValue || m_folded.count(out)) {
            return makeError(ErrorCode::Corrupt,
                             "writes " + describeTensor(out) + ", which is already produced",
                             described);
        }
    }
    c.name = tensorName(c.outputs[0]);
    Status st = dispatch(c, code, custom);
    if (!st.ok()) return st.error().within(described + " '" + c.name + "'");
    return {};
}

Status Importer::bindOutputs() {
    if (m_subgraph.outputs() == nullptr || m_subgraph.outputs()->size() == 0) {
        return makeError(ErrorCode::Unsupported, "the model declares no outputs");
    }
    for (int32_t index : *m_subgraph.outputs()) {
        if (index < 0 || static_cast<size_t>(index) >= tensorCount()) {
            return makeError(ErrorCode::Corrupt, "output tensor index " + std::to_string(index) +
                                                     " is out of range (the subgraph has " +
                                                     std::to_string(tensorCount()) + " tensors)");
        }
        if (isConstant(index)) {
            return makeError(ErrorCode::Unsupported, "output is a constant", describeTensor(index));
        }
        PL_TRY_ASSIGN(ValueId v, value(index, Layout::Plain));
        if (std::find(m_graph.inputs.begin(), m_graph.inputs.end(), v) != m_graph.inputs.end()) {
            return makeError(ErrorCode::Unsupported, "output is the model's input",
                             describeTensor(index));
        }
        if (std::find(m_graph.outputs.begin(), m_graph.outputs.end(), v) != m_graph.outputs.end()) {
            return makeError(ErrorCode::Corrupt, "is listed twice as an output",
                             describeTensor(index));
        }
        m_graph.outputs.push_back(v);
    }
    return {};
}

}  // namespace internal

Result<Graph> importTfliteBuffer(const uint8_t* data, size_t size, const std::string& name,
                                 int64_t height, int64_t width) {
    if (size < 8 || data == nullptr) {
        return makeError(ErrorCode::Corrupt,
                         "not a TensorFlow Lite model: " + std::to_string(size) + " bytes", name);
    }
    if (size > kMaxFileBytes) {
        return makeError(ErrorCode::Unsupported, "TFLite models over 2 GiB are not read", name);
    }
    if (!::tflite::ModelBufferHasIdentifier(data)) {
        return makeError(ErrorCode::Corrupt,
                         "not a TensorFlow Lite model: no 'TFL3' identifier at byte 4", name);
    }
    // The verifier checks every offset, vector length, string and table in the whole buffer
    // before any of it is read; everything after this relies on it.
    flatbuffers::Verifier verifier(data, size, /*max_depth=*/64, /*max_tables=*/4000000);
    if (!::tflite::VerifyModelBuffer(verifier)) {
        return makeError(ErrorCode::Corrupt,
                         "the FlatBuffers verifier rejects the file (an offset, size or table "
                         "points outside it: truncated or damaged)",
                         name);
    }
    const ::tflite::Model* model = ::tflite::GetModel(data);
    if (model->version() != 3) {
        return makeError(ErrorCode::Unsupported,
                         "schema version " + std::to_string(model->version()) +
                             "; TFLite files of version 3 are read",
                         name);
    }
    if (model->subgraphs() == nullptr || model->subgraphs()->size() == 0 ||
        model->subgraphs()->Get(0) == nullptr) {
        return makeError(ErrorCode::Corrupt, "the model has no subgraph", name);
    }
    const ::tflite::SubGraph& subgraph = *model->subgraphs()->Get(0);
    Graph graph;
    graph.name = name;
    Importer importer(*model, subgraph, graph);
    Status st = importer.checkTensors();
    if (!st.ok()) return st.error().within(name);
    st = importer.bindInputs(height, width);
    if (!st.ok()) return st.error().within(name);
    const size_t ops = subgraph.operators() == nullptr ? 0 : subgraph.operators()->size();
    for (size_t i = 0; i < ops; ++i) {
        st = importer.importOperator(i);
        if (!st.ok()) return st.error().within(name);
    }
    st = importer.bindOutputs();
    if (!st.ok()) return st.error().within(name);
    graph.removeDeadCode();
    for (const auto& [type, count] : importer.dequantised) {
        importer.notes.push_back(std::to_string(count) + " " + type +
                                 " weight tensor(s) dequantised to float32 (scale and zero "
                                 "point, per channel where the file gives them)");
    }
    if (!importer.notes.empty()) {
        std::string text;
        for (const std::string& note : importer.notes) text += (text.empty() ? "" : "\n") + note;
        graph.metadata["import.notes"] = text;
    }
    if (importer.sparseWeights) {
        graph.metadata["import.sparse_weights"] =
            "stored sparse by the file's author (TFLite sparsity, non-structured): decoded to "
            "dense weights with zeros";
    }
    st = verifyGraph(graph);
    if (!st.ok()) return st.error().within(name);
    return graph;
}

Result<Graph> importTflite(const std::string& path, int64_t height, int64_t width) {
    PL_TRY_ASSIGN(std::vector<uint8_t> data, readFile(path));
    auto graph = importTfliteBuffer(data.data(), data.size(), path, height, width);
    if (!graph.ok()) return graph;
    graph.value().name = baseName(path);
    graph.value().sourcePath = path;
    return graph;
}

}  // namespace prunelab::tflite
