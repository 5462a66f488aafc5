// Element-wise kernels: piecewise-linear activations, Neg/Abs, and broadcasting
// Add/Sub/Mul/Div/PRelu/Min/Max as plain loops on the thread pool (cloned for AVX-512 / AVX2 so
// they vectorise whatever the build's -march), transcendental activations (sigmoid, tanh, exp,
// sqrt) through oneDNN's JIT eltwise, whose vector exp we would otherwise have to write.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/ops/op.h"
#include "engine/runtime/cpu/cpu_kernels.h"

namespace prunelab::engine::cpu {

namespace {

constexpr int64_t kElementGrain = 16384;  // elements per chunk: ~64 KiB, beats hand-off cost

// ---- Unary piecewise-linear activations: y = clamp(a*x + b, lo, hi) * (x or 1) ----

PL_VECTOR_CLONES void clampAffineLoop(const float* x, float* y, int64_t n, float a, float b,
                                      float lo, float hi) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(a * x[i] + b, lo), hi);
}
PL_VECTOR_CLONES void hardSwishLoop(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        y[i] = x[i] * std::min(std::max(x[i] * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
    }
}
PL_VECTOR_CLONES void leakyReluLoop(const float* x, float* y, int64_t n, float alpha) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? alpha * x[i] : x[i];
}
PL_VECTOR_CLONES void negLoop(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = -x[i];
}
PL_VECTOR_CLONES void absLoop(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::fabs(x[i]);
}

class UnaryLoopKernel : public Kernel {
  public:
    enum class Kind { ClampAffine, HardSwish, LeakyRelu, Neg, Abs };
    UnaryLoopKernel(Kind kind, int64_t count, float a, float b, float lo, float hi)
        : m_kind(kind), m_count(count), m_a(a), m_b(b), m_lo(lo), m_hi(hi) {}
    int inplaceInput() const override { return 0; }
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* x = reinterpret_cast<const float*>(in[0]);
        auto* y = reinterpret_cast<float*>(out[0]);
        ctx.pool->parallelFor(m_count, kElementGrain, [&](int64_t b, int64_t e) {
            switch (m_kind) {
                case Kind::ClampAffine:
                    clampAffineLoop(x + b, y + b, e - b, m_a, m_b, m_lo, m_hi);
                    break;
                case Kind::HardSwish:
                    hardSwishLoop(x + b, y + b, e - b);
                    break;
                case Kind::LeakyRelu:
                    leakyReluLoop(x + b, y + b, e - b, m_a);
                    break;
                case Kind::Neg:
                    negLoop(x + b, y + b, e - b);
                    break;
                case Kind::Abs:
                    absLoop(x + b, y + b, e - b);
                    break;
            }
        });
        return {};
    }

  private:
    Kind m_kind;
    int64_t m_count;
    float m_a, m_b, m_lo, m_hi;
};

#if PRUNELAB_CPU_ONEDNN
// oneDNN eltwise may run with dst == src.
class InPlacePieceKernel : public DnnlPieceKernel {
  public:
    InPlacePieceKernel(dnnl::engine engine, std::vector<Prim> prims, std::vector<Piece> pieces)
        : DnnlPieceKernel(std::move(engine), std::move(prims), std::move(pieces), false) {}
    int inplaceInput() const override { return 0; }
};
#endif

// ---- Binary ops with broadcasting over arbitrary strides ----

enum class BinOp { Add, Sub, Mul, Div, PRelu, Min, Max };

template <BinOp op>
inline float apply(float a, float b) {
    if constexpr (op == BinOp::Add) return a + b;
    if constexpr (op == BinOp::Sub) return a - b;
    if constexpr (op == BinOp::Mul) return a * b;
    if constexpr (op == BinOp::PRelu) return a < 0.0f ? b * a : a;  // a = x, b = slope
    // NaN wins, as in the reference (x != x tests for NaN and still vectorises).
    if constexpr (op == BinOp::Min) return (a != a || b != b) ? a + b : (b < a ? b : a);
    if constexpr (op == BinOp::Max) return (a != a || b != b) ? a + b : (b > a ? b : a);
    return a / b;
}

// One row of the innermost dim, specialised on which operand is contiguous (1) or repeated
// (0): the three shapes that cover same-shape, per-channel and scalar broadcasting.
#define PL_BINARY_ROWS(OP)                                                                         \
    PL_VECTOR_CLONES void row11##OP(const float* a, const float* b, float* o, int64_t n) {         \
        for (int64_t i = 0; i < n; ++i) o[i] = apply<BinOp::OP>(a[i], b[i]);                       \
    }                                                                                              \
    PL_VECTOR_CLONES void row10##OP(const float* a, const float* b, float* o, int64_t n) {         \
        const float s = *b;                                                                        \
        for (int64_t i = 0; i < n; ++i) o[i] = apply<BinOp::OP>(a[i], s);                          \
    }                                                                                              \
    PL_VECTOR_CLONES void row01##OP(const float* a, const float* b, float* o, int64_t n) {         \
        const float s = *a;                                                                        \
        for (int64_t i = 0; i < n; ++i) o[i] = apply<BinOp::OP>(s, b[i]);                          \
    }                                                                                              \
    void rowAny##OP(const float* a, const float* b, float* o, int64_t n, int64_t sa, int64_t sb) { \
        for (int64_t i = 0; i < n; ++i) o[i] = apply<BinOp::OP>(a[i * sa], b[i * sb]);             \
    }
PL_BINARY_ROWS(Add)
PL_BINARY_ROWS(Sub)
PL_BINARY_ROWS(Mul)
PL_BINARY_ROWS(Div)
PL_BINARY_ROWS(PRelu)
PL_BINARY_ROWS(Min)
PL_BINARY_ROWS(Max)
#undef PL_BINARY_ROWS

using RowFn = void (*)(const float*, const float*, float*, int64_t);
using RowAnyFn = void (*)(const float*, const float*, float*, int64_t, int64_t, int64_t);

struct RowFns {
    RowFn r11, r10, r01;
    RowAnyFn any;
};

RowFns rowFns(BinOp op) {
    switch (op) {
        case BinOp::Add:
            return {row11Add, row10Add, row01Add, rowAnyAdd};
        case BinOp::Sub:
            return {row11Sub, row10Sub, row01Sub, rowAnySub};
        case BinOp::Mul:
            return {row11Mul, row10Mul, row01Mul, rowAnyMul};
        case BinOp::Div:
            return {row11Div, row10Div, row01Div, rowAnyDiv};
        case BinOp::PRelu:
            return {row11PRelu, row10PRelu, row01PRelu, rowAnyPRelu};
        case BinOp::Min:
            return {row11Min, row10Min, row01Min, rowAnyMin};
        case BinOp::Max:
            return {row11Max, row10Max, row01Max, rowAnyMax};
    }
    return {row11Add, row10Add, row01Add, rowAnyAdd};
}

class BinaryKernel : public Kernel {
  public:
    // dims: output dims in memory order after merging; sa/sb: operand strides per dim.
    BinaryKernel(BinOp op, std::vector<int64_t> dims, std::vector<int64_t> sa,
                 std::vector<int64_t> sb, int inplace)
        : m_fns(rowFns(op)),
          m_dims(std::move(dims)),
          m_sa(std::move(sa)),
          m_sb(std::move(sb)),
          m_inplace(inplace) {}
    int inplaceInput() const override { return m_inplace; }

    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        const auto* a = reinterpret_cast<const float*>(in[0]);
        const auto* b = reinterpret_cast<const float*>(in[1]);
        auto* o = reinterpret_cast<float*>(out[0]);
        const size_t r = m_dims.size();
        const int64_t inner = m_dims[r - 1];
        const int64_t ia = m_sa[r - 1];
        const int64_t ib = m_sb[r - 1];
        int64_t rows = 1;
        for (size_t d = 0; d + 1 < r; ++d) rows *= m_dims[d];
        const int64_t grain = std::max<int64_t>(1, kElementGrain / std::max<int64_t>(inner, 1));
        ctx.pool->parallelFor(rows, grain, [&](int64_t begin, int64_t end) {
            for (int64_t row = begin; row < end; ++row) {
                // Offsets of this row in each operand (one div/mod per outer dim per row).
                int64_t rest = row;
                int64_t offA = 0;
                int64_t offB = 0;
                for (size_t d = r - 1; d-- > 0;) {
                    const int64_t idx = rest % m_dims[d];
                    rest /= m_dims[d];
                    offA += idx * m_sa[d];
                    offB += idx * m_sb[d];
                }
                float* dst = o + row * inner;
                if (ia == 1 && ib == 1) {
                    m_fns.r11(a + offA, b + offB, dst, inner);
                } else if (ia == 1 && ib == 0) {
                    m_fns.r10(a + offA, b + offB, dst, inner);
                } else if (ia == 0 && ib == 1) {
                    m_fns.r01(a + offA, b + offB, dst, inner);
                } else {
                    m_fns.any(a + offA, b + offB, dst, inner, ia, ib);
                }
            }
        });
        return {};
    }

  private:
    RowFns m_fns;
    std::vector<int64_t> m_dims, m_sa, m_sb;
    int m_inplace;
};

// Strides of operand `shape` (in `layout`) read as broadcast to `out`'s rank: 0 along
// stretched or missing dims.
std::vector<int64_t> operandStrides(const Shape& shape, Layout layout, const Shape& out) {
    const std::vector<int64_t> own = layoutStrides(shape, layout);
    std::vector<int64_t> s(out.size(), 0);
    const size_t lead = out.size() - shape.size();
    for (size_t d = 0; d < shape.size(); ++d) s[lead + d] = shape[d] == 1 ? 0 : own[d];
    return s;
}

// ---- PRelu epilogue of conv / matmul pieces ----

PL_VECTOR_CLONES void preluChannelsInner(float* y, int64_t pixels, const float* s, int64_t c) {
    for (int64_t p = 0; p < pixels; ++p) {
        float* row = y + p * c;
        for (int64_t k = 0; k < c; ++k) row[k] = row[k] < 0.0f ? s[k] * row[k] : row[k];
    }
}
PL_VECTOR_CLONES void preluScalar(float* y, int64_t n, float s) {
    for (int64_t i = 0; i < n; ++i) y[i] = y[i] < 0.0f ? s * y[i] : y[i];
}

}  // namespace

void preluInPlace(float* y, int64_t begin, int64_t end, const std::vector<float>& slopes,
                  int64_t plane) {
    const auto c = static_cast<int64_t>(slopes.size());
    if (plane == 0) {
        // Pieces start and end on pixel boundaries, so whole rows of C from `begin`.
        int64_t i = begin;
        for (; i < end && i % c != 0; ++i) {
            const float s = slopes[static_cast<size_t>(i % c)];
            y[i] = y[i] < 0.0f ? s * y[i] : y[i];
        }
        const int64_t pixels = (end - i) / c;
        preluChannelsInner(y + i, pixels, slopes.data(), c);
        for (i += pixels * c; i < end; ++i) {
            const float s = slopes[static_cast<size_t>(i % c)];
            y[i] = y[i] < 0.0f ? s * y[i] : y[i];
        }
        return;
    }
    for (int64_t i = begin; i < end;) {
        const int64_t stop = std::min(end, (i / plane + 1) * plane);
        preluScalar(y + i, stop - i, slopes[static_cast<size_t>((i / plane) % c)]);
        i = stop;
    }
}

Result<KernelPtr> makeUnaryKernel(const Node& node, int64_t count, const DenseEngine& engine,
                                  int threads, std::string& name) {
    const float inf = std::numeric_limits<float>::infinity();
    using K = UnaryLoopKernel::Kind;
    switch (node.op) {
        case OpKind::Relu:
            name = "relu loop";
            return KernelPtr(
                std::make_unique<UnaryLoopKernel>(K::ClampAffine, count, 1.0f, 0.0f, 0.0f, inf));
        case OpKind::Clip:
            name = "clip loop";
            return KernelPtr(std::make_unique<UnaryLoopKernel>(K::ClampAffine, count, 1.0f, 0.0f,
                                                               node.attrs.getFloat("min", -inf),
                                                               node.attrs.getFloat("max", inf)));
        case OpKind::HardSigmoid:
            name = "hardsigmoid loop";
            return KernelPtr(std::make_unique<UnaryLoopKernel>(
                K::ClampAffine, count, node.attrs.getFloat("alpha", 0.2f),
                node.attrs.getFloat("beta", 0.5f), 0.0f, 1.0f));
        case OpKind::HardSwish:
            name = "hardswish loop";
            return KernelPtr(std::make_unique<UnaryLoopKernel>(K::HardSwish, count, 0, 0, 0, 0));
        case OpKind::LeakyRelu:
            name = "leakyrelu loop";
            return KernelPtr(std::make_unique<UnaryLoopKernel>(
                K::LeakyRelu, count, node.attrs.getFloat("alpha", 0.01f), 0, 0, 0));
        case OpKind::Neg:
            name = "neg loop";
            return KernelPtr(std::make_unique<UnaryLoopKernel>(K::Neg, count, 0, 0, 0, 0));
        case OpKind::Abs:
            name = "abs loop";
            return KernelPtr(std::make_unique<UnaryLoopKernel>(K::Abs, count, 0, 0, 0, 0));
        default:
            break;
    }
#if !PRUNELAB_CPU_ONEDNN
    (void)engine, (void)threads;
    return makeError(ErrorCode::Unsupported,
                     "no fast " + std::string(opName(node.op)) + " kernel (built without oneDNN)");
#else
    dnnl::algorithm alg;
    switch (node.op) {
        case OpKind::Sigmoid:
            alg = dnnl::algorithm::eltwise_logistic;
            break;
        case OpKind::Tanh:
            alg = dnnl::algorithm::eltwise_tanh;
            break;
        case OpKind::Exp:
            alg = dnnl::algorithm::eltwise_exp;
            break;
        case OpKind::Sqrt:
            alg = dnnl::algorithm::eltwise_sqrt;
            break;
        default:
            return makeError(ErrorCode::Unsupported,
                             "no fast " + std::string(opName(node.op)) + " kernel");
    }
    try {
        // Runs of at least 64 Ki elements, so each piece's call overhead stays small.
        const int64_t pieces = pieceCount(count, threads, static_cast<double>(count) * 8.0);
        std::vector<DnnlPieceKernel::Prim> prims;
        std::vector<DnnlPieceKernel::Piece> runs;
        const char* impl = "";
        int64_t lastLen = -1;
        for (int64_t k = 0; k < pieces; ++k) {
            const int64_t b = count * k / pieces;
            const int64_t e = count * (k + 1) / pieces;
            if (e - b != lastLen) {
                const dnnl::memory::desc md({e - b}, dnnl::memory::data_type::f32,
                                            dnnl::memory::format_tag::x);
                dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, 0.0f,
                                              0.0f);
                dnnl::primitive_attr attr;
                attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
                dnnl::eltwise_forward::primitive_desc pd(d, attr, engine);
                impl = pd.impl_info_str();
                prims.push_back({dnnl::eltwise_forward(pd), md, md, pd.scratchpad_desc(), {}});
                lastLen = e - b;
            }
            DnnlPieceKernel::Piece piece;
            piece.execs.push_back({static_cast<int>(prims.size()) - 1, b * 4, b * 4, -1});
            runs.push_back(std::move(piece));
        }
        name = std::string("dnnl eltwise ") + std::string(opName(node.op)) + " (" + impl + ")";
        return KernelPtr(
            std::make_unique<InPlacePieceKernel>(engine, std::move(prims), std::move(runs)));
    } catch (const dnnl::error& e) {
        return makeError(ErrorCode::Unsupported, std::string("oneDNN refused it: ") + e.what());
    }
#endif
}

Result<KernelPtr> makeBinaryKernel(OpKind op, const Shape& a, Layout aLayout, const Shape& b,
                                   Layout bLayout, const Shape& out, Layout outLayout,
                                   std::string& name) {
    BinOp bop;
    switch (op) {
        case OpKind::Add:
            bop = BinOp::Add;
            break;
        case OpKind::Sub:
            bop = BinOp::Sub;
            break;
        case OpKind::Mul:
            bop = BinOp::Mul;
            break;
        case OpKind::Div:
            bop = BinOp::Div;
            break;
        case OpKind::PRelu:
            bop = BinOp::PRelu;
            break;
        case OpKind::Min:
            bop = BinOp::Min;
            break;
        case OpKind::Max:
            bop = BinOp::Max;
            break;
        default:
            return makeError(ErrorCode::Unsupported, "no fast binary kernel for this op");
    }
    if (a.size() > out.size() || b.size() > out.size() || out.empty()) {
        return makeError(ErrorCode::Unsupported, "operand rank above the output rank");
    }
    // Walk the output in its memory order; each operand follows with its own strides.
    const std::vector<int> order = memoryOrder(out.size(), outLayout);
    const std::vector<int64_t> sa = operandStrides(a, aLayout, out);
    const std::vector<int64_t> sb = operandStrides(b, bLayout, out);
    std::vector<int64_t> dims, da, db;
    for (int d : order) {
        const size_t u = static_cast<size_t>(d);
        if (out[u] == 1) continue;  // size-1 dims add nothing to the walk
        // Merge with the previous dim when both operands stay linear across the pair.
        if (!dims.empty() && da.back() == sa[u] * out[u] && db.back() == sb[u] * out[u]) {
            dims.back() *= out[u];
            da.back() = sa[u];
            db.back() = sb[u];
            continue;
        }
        dims.push_back(out[u]);
        da.push_back(sa[u]);
        db.push_back(sb[u]);
    }
    if (dims.empty()) {
        dims = {1};
        da = {0};
        db = {0};
    }
    // In-place is safe when the operand is read at exactly the output's positions.
    int inplace = -1;
    if (a == out && aLayout == outLayout) {
        inplace = 0;
    } else if (b == out && bLayout == outLayout) {
        inplace = 1;
    }
    name = std::string(opName(op)) + " loop";
    const bool sameA = a == out && aLayout == outLayout;
    const bool sameB = b == out && bLayout == outLayout;
    if (sameA && sameB) {
        name += " same-shape";
    } else if (elementCount(a) == 1 || elementCount(b) == 1) {
        name += " scalar-broadcast";
    } else {
        name += " broadcast";
    }
    name += std::string(" ") + layoutName(outLayout);
    return KernelPtr(std::make_unique<BinaryKernel>(bop, std::move(dims), std::move(da),
                                                    std::move(db), inplace));
}

}  // namespace prunelab::engine::cpu
