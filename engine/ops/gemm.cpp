// Gemm: Y = alpha * A' * B' + beta * C for 2-D A and B (optionally transposed), with C
// broadcast to the output. Shape inference, the reference kernel and the ONNX mapping.
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

struct GemmShape {
    int64_t m = 0, k = 0, n = 0;
};

Result<GemmShape> gemmShape(const Node& node, const Shape& a, const Shape& b) {
    if (a.size() != 2 || b.size() != 2) {
        return makeError(
            ErrorCode::ShapeMismatch,
            "Gemm needs 2-D A and B, got A " + shapeToString(a) + " and B " + shapeToString(b));
    }
    const bool transA = node.attrs.getInt("transA", 0) != 0;
    const bool transB = node.attrs.getInt("transB", 0) != 0;
    GemmShape s;
    s.m = transA ? a[1] : a[0];
    s.k = transA ? a[0] : a[1];
    const int64_t kB = transB ? b[1] : b[0];
    s.n = transB ? b[0] : b[1];
    if (s.k != kB) {
        return makeError(ErrorCode::ShapeMismatch,
                         "A " + shapeToString(a) + (transA ? " (transposed)" : "") + " has " +
                             std::to_string(s.k) + " columns but B " + shapeToString(b) +
                             (transB ? " (transposed)" : "") + " has " + std::to_string(kB) +
                             " rows");
    }
    return s;
}

// C broadcasts to [M, N] numpy-style from the right: [], [N], [1], [M, 1], [1, N], [M, N]...
Status checkBias(const Shape& c, const GemmShape& s) {
    bool fits = c.size() <= 2;
    if (fits && !c.empty()) fits = c.back() == 1 || c.back() == s.n;
    if (fits && c.size() == 2) fits = c[0] == 1 || c[0] == s.m;
    if (!fits) {
        return makeError(ErrorCode::ShapeMismatch,
                         "C " + shapeToString(c) + " does not broadcast to the output [" +
                             std::to_string(s.m) + ", " + std::to_string(s.n) + "]");
    }
    return {};
}

Status inferGemm(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    if (in.size() < 2 || in.size() > 3 || !in[0].present() || !in[1].present()) {
        return makeError(ErrorCode::InvalidArgument, "Gemm takes A, B and an optional C; got " +
                                                         std::to_string(in.size()) + " inputs");
    }
    if (out.size() != 1) return makeError(ErrorCode::InvalidArgument, "Gemm has one output");
    for (const TensorInfo& t : in) {
        if (t.present() && t.dtype != DataType::Float32) {
            return makeError(ErrorCode::Unsupported, "Gemm supports float32 only, got " +
                                                         std::string(dataTypeName(t.dtype)));
        }
    }
    PL_TRY_ASSIGN(GemmShape s, gemmShape(node, in[0].shape, in[1].shape));
    if (in.size() == 3 && in[2].present()) PL_TRY(checkBias(in[2].shape, s));
    out[0].dtype = DataType::Float32;
    out[0].shape = {s.m, s.n};
    return {};
}

// Y[m][n] = alpha * sum_k A'[m][k] * B'[k][n] + beta * C[m][n]
// with A' = transA ? A^T : A, B' = transB ? B^T : B, and C broadcast (a size-1 or missing dim
// repeats). Sums run in double.
Status referenceGemm(const Node& node, std::span<const Tensor* const> in,
                     std::span<Tensor* const> out) {
    PL_TRY_ASSIGN(GemmShape s, gemmShape(node, in[0]->shape(), in[1]->shape()));
    const double alpha = node.attrs.getFloat("alpha", 1.0f);
    const double beta = node.attrs.getFloat("beta", 1.0f);
    const bool transA = node.attrs.getInt("transA", 0) != 0;
    const bool transB = node.attrs.getInt("transB", 0) != 0;
    const float* a = in[0]->data<float>();
    const float* b = in[1]->data<float>();
    const Tensor* c = in.size() > 2 ? in[2] : nullptr;
    float* y = out[0]->data<float>();

    for (int64_t m = 0; m < s.m; ++m) {
        for (int64_t n = 0; n < s.n; ++n) {
            double sum = 0.0;
            for (int64_t k = 0; k < s.k; ++k) {
                const float av = transA ? a[k * s.m + m] : a[m * s.k + k];
                const float bv = transB ? b[n * s.k + k] : b[k * s.n + n];
                sum += static_cast<double>(av) * bv;
            }
            double bias = 0.0;
            if (c != nullptr) {
                const Shape& cs = c->shape();
                const int64_t cn = cs.empty() || cs.back() == 1 ? 0 : n;
                const int64_t cm = cs.size() < 2 || cs[0] == 1 ? 0 : m;
                const int64_t cols = cs.empty() ? 1 : cs.back();
                bias = c->data<float>()[cm * cols + cn];
            }
            y[m * s.n + n] = static_cast<float>(alpha * sum + beta * bias);
        }
    }
    return {};
}

Result<OnnxImport> importGemm(const OnnxNodeIn& node) {
    if (node.inputs.size() < 2) {
        return makeError(ErrorCode::InvalidArgument, "Gemm needs inputs A and B");
    }
    const Attributes& a = *node.attrs;
    OnnxImport result;
    result.attrs.set("alpha", a.getFloat("alpha", 1.0f));
    result.attrs.set("beta", a.getFloat("beta", 1.0f));
    result.attrs.set("transA", a.getInt("transA", 0) != 0 ? int64_t(1) : int64_t(0));
    result.attrs.set("transB", a.getInt("transB", 0) != 0 ? int64_t(1) : int64_t(0));
    result.inputs = {0, 1};
    if (node.inputs.size() > 2 && node.inputs[2].present()) result.inputs.push_back(2);
    return result;
}

Result<std::vector<OnnxNodeOut>> exportGemm(const Node& node, const Graph&) {
    OnnxNodeOut out;
    out.opType = "Gemm";
    out.attrs.set("alpha", node.attrs.getFloat("alpha", 1.0f));
    out.attrs.set("beta", node.attrs.getFloat("beta", 1.0f));
    out.attrs.set("transA", node.attrs.getInt("transA", 0));
    out.attrs.set("transB", node.attrs.getInt("transB", 0));
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        if (node.inputs[i] != kNoValue) {
            out.inputs.push_back({OnnxOperand::Kind::IrInput, static_cast<int>(i), {}});
        }
    }
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefGemm = {OpKind::Gemm, "Gemm",     inferGemm, referenceGemm,
                          importGemm,   exportGemm, {}};

}  // namespace prunelab::engine
