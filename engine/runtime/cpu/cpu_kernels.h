// Internal to the CPU runtime: the Kernel interface the planner schedules, the buffer layouts
// it plans, and the factories for every fast kernel (conv_kernels.cpp, elementwise_kernels.cpp,
// tensor_kernels.cpp). Factories return Unsupported when a case is not covered (the planner
// then falls back to the reference kernel and reports why); no exception leaves this layer.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/codegen/sparse_ir.h"
#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/ops/conv.h"
#include "engine/runtime/cpu/dense_lib.h"
#include "engine/runtime/cpu/thread_pool.h"

// The engine builds for baseline x86-64; these clones give the hot loops AVX2 / AVX-512 code
// picked at load time by the CPU (GCC function multi-versioning through ifunc).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PL_VECTOR_CLONES
#endif

namespace prunelab::engine::cpu {

class CompiledModule;  // sparse/jit.h

// How a 4-D float activation sits in memory. Plain is the IR's NCHW (row-major in logical
// order, what every non-spatial op and the caller see); Nhwc is channels-last, what oneDNN's
// AVX-512 convolutions run fastest on without a reorder per conv.
enum class Layout : uint8_t { Plain, Nhwc };

const char* layoutName(Layout layout);
// True when both layouts give the same bytes (rank 4 with C == 1 or H*W == 1): converting is
// then free, so such values are always kept Plain.
bool layoutsCoincide(const Shape& shape);
// Strides in elements of each logical dim for a tensor of `shape` stored in `layout`.
std::vector<int64_t> layoutStrides(const Shape& shape, Layout layout);
// Logical dims in memory order: Nhwc [N,C,H,W] -> {0, 2, 3, 1}; Plain -> identity.
std::vector<int> memoryOrder(size_t rank, Layout layout);

// What a kernel sees at run time. Per-thread resources are indexed by ThreadPool::threadIndex().
struct RunContext {
    ThreadPool* pool = nullptr;
    std::vector<DenseStream>* streams = nullptr;  // one per pool thread
    std::vector<std::byte*> scratch;              // one per pool thread, scratchpadBytes() each
};

// One scheduled computation. in/out hold the slots' data pointers, in the layouts the planner
// chose; out[i] may equal in[inplaceInput()] when the planner made it in-place.
class Kernel {
  public:
    virtual ~Kernel() = default;
    virtual Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
                       RunContext& ctx) = 0;
    // Input index whose buffer the output may share (the kernel is written to allow it), or -1.
    virtual int inplaceInput() const { return -1; }
    // Temporary memory each thread needs while this kernel runs (oneDNN's scratchpad).
    virtual size_t scratchpadBytes() const { return 0; }
};

#if PRUNELAB_CPU_ONEDNN
// A oneDNN computation split into pieces the thread pool runs in parallel, each piece one or
// more single-threaded primitive executions on byte offsets of the run's buffers. Rows of a
// conv, rows of a matmul, runs of an element-wise op: dynamic claiming balances them.
class DnnlPieceKernel : public Kernel {
  public:
    struct Prim {
        dnnl::primitive prim;
        dnnl::memory::desc src, dst, scratch;
        std::vector<std::pair<int, dnnl::memory>> args;  // constant args (weights, bias)
    };
    struct Exec {
        int prim = 0;
        int64_t srcOffset = 0;  // bytes into input 0
        int64_t dstOffset = 0;  // bytes into output 0
        int weights = -1;       // index into weights(), overriding the prim's own
    };
    struct Piece {
        std::vector<Exec> execs;
        int64_t outOffset = 0;  // the dst bytes this piece writes (for the prelu epilogue)
        int64_t outBytes = 0;
        int64_t residualOffset = 0;  // dst bytes to seed from input 1 first (Sum post-op)
        int64_t residualBytes = 0;
    };

    DnnlPieceKernel(dnnl::engine engine, std::vector<Prim> prims, std::vector<Piece> pieces,
                    bool residual, std::vector<dnnl::memory> weights = {});
    int inplaceInput() const override { return m_residual ? 1 : -1; }
    size_t scratchpadBytes() const override { return m_scratchBytes; }
    // y = y < 0 ? slope[c] * y : y on each piece's output after its primitives ran. `plane` 0:
    // channels are the innermost dim (channels-last, a matmul's columns); else the dst is
    // plain and channel c is every `plane`-element plane (i / plane) % C.
    void setPrelu(std::vector<float> slopes, int64_t plane) {
        m_slopes = std::move(slopes);
        m_plane = plane;
    }
    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override;

  private:
    // One exec's argument map and its memory objects, made on the first run() for each pool
    // thread: a later run() only repoints src / dst / scratchpad (set_data_handle) instead of
    // building a map and 2-3 dnnl::memory per exec (mallocs, ~5% of BlazeFace front's run).
    struct Bound {
        std::unordered_map<int, dnnl::memory> args;
        dnnl::memory src, dst, scratch;
    };
    void bind(size_t threads);

    dnnl::engine m_engine;
    std::vector<Prim> m_prims;
    std::vector<Piece> m_pieces;
    bool m_residual;
    std::vector<dnnl::memory> m_weights;
    std::vector<float> m_slopes;  // the prelu epilogue's, empty without one
    int64_t m_plane = 0;
    size_t m_scratchBytes = 0;
    std::vector<size_t> m_firstExec;          // per piece: its first exec's index in m_bound[t]
    std::vector<std::vector<Bound>> m_bound;  // [pool thread][exec]
};
#endif

// How many pieces to cut `rows` into for `threads` threads when the whole job is `work`
// multiply-adds (1 when small: a piece costs a primitive call).
int64_t pieceCount(int64_t rows, int threads, double work);

using KernelPtr = std::unique_ptr<Kernel>;

// ---- conv_kernels.cpp: oneDNN convolution, deconvolution, matmul (blas_kernels.cpp: im2col +
// OpenBLAS sgemm, in a build without oneDNN) ----

// One activation fused after a conv or matmul, applied in order. Prelu (one slope per output
// channel; a scalar slope is expanded) may only come last: oneDNN 2.6 has its prelu post-op
// only in the reference conv, so the kernel applies it itself to each piece's output right
// after the primitive wrote it, while that band is still in cache (DnnlPieceKernel::setPrelu).
struct PostOp {
    enum class Kind { Eltwise, Sum, Prelu } kind = Kind::Eltwise;
    EltwiseAlg alg = EltwiseAlg::eltwise_relu;
    float alpha = 0.0f;
    float beta = 0.0f;
    std::vector<float> slopes;  // Prelu: outChannels values
};

// Shared by both libraries' kernels (conv_kernels.cpp). "+bias+relu"-style text for a name.
std::string postOpSuffix(const std::vector<PostOp>& postOps);
// Sets subnormal values to (signed) zero and returns how many (see conv_kernels.cpp for why).
int64_t flushSubnormals(std::vector<float>& values);
int64_t flushSubnormals(std::vector<PostOp>& postOps);
// " [N subnormal weights set to 0]", or "" for none.
std::string flushedNote(int64_t count);

struct ConvSpec {
    ConvParams params;
    bool transposed = false;
    std::vector<float> weights;   // IR layout (see ConvParams), scaling already folded in
    std::vector<float> bias;      // outChannels values (zeros when the node had none)
    std::vector<PostOp> postOps;  // at most one Sum: its operand is input 1 of the kernel
    Layout srcLayout = Layout::Nhwc;
    Layout dstLayout = Layout::Nhwc;
};
// Inputs: src [, residual for Sum]; output: dst. `name` gets e.g. "dnnl conv 3x3 dw
// +relu (jit:avx512_core)". Subnormal weights, bias and slopes are set to 0 (see
// flushSubnormals in conv_kernels.cpp); the name then says how many.
Result<KernelPtr> makeConvKernel(const ConvSpec& spec, const DenseEngine& engine, int threads,
                                 std::string& name);

struct MatMulSpec {
    int64_t m = 0, k = 0, n = 0;
    bool transA = false;
    std::vector<float> weights;   // [k][n], alpha folded in
    std::vector<float> bias;      // empty, n values (row broadcast) or m*n values
    std::vector<PostOp> postOps;  // eltwise only
};
Result<KernelPtr> makeMatMulKernel(const MatMulSpec& spec, const DenseEngine& engine, int threads,
                                   std::string& name);

// ---- sparse_kernels.cpp: the compiler's sparse layers (engine/codegen) ----

// A pattern / tile-wise / CSR layer on plain NCHW buffers; inputs: src [, residual for Sum].
// Fuses a Sum and then one relu / leaky relu / clip / prelu; Unsupported otherwise (the planner
// then tries a shorter chain). `name` says the storage, the density and what was fused.
// `generated`, when it holds the layer, runs instead of the generic kernel (name: "generated").
// `scale` / `shift` (outChannels values each, or both empty): a per-channel affine folded in
// before the post-ops, y = (conv + bias) * scale + shift; a scale needs the generic kernel (a
// generated layer's weights are baked in: Unsupported).
Result<KernelPtr> makeSparseConvKernel(const codegen::LayerCode& layer,
                                       const std::vector<float>& scale,
                                       const std::vector<float>& shift,
                                       const std::vector<PostOp>& postOps, int threads,
                                       std::shared_ptr<const cpu::CompiledModule> generated,
                                       std::string& name);

// ---- elementwise_kernels.cpp ----

// Relu, LeakyRelu, Clip, HardSigmoid, HardSwish, Sigmoid, Tanh, Exp, Sqrt on `count`
// float32 elements, layout-agnostic, in-place capable.
Result<KernelPtr> makeUnaryKernel(const Node& node, int64_t count, const DenseEngine& engine,
                                  int threads, std::string& name);
// Add, Sub, Mul, Div and PRelu (a = x, b = slope) on float32 with numpy broadcasting; each
// operand and the output may be in any layout (strided access), so no reorder is needed.
Result<KernelPtr> makeBinaryKernel(OpKind op, const Shape& a, Layout aLayout, const Shape& b,
                                   Layout bLayout, const Shape& out, Layout outLayout,
                                   std::string& name);

// PRelu in place on elements [begin, end) of a tensor whose element i has channel i % C
// (plane == 0, channels innermost) or (i / plane) % C; C = slopes.size(). Vectorised.
void preluInPlace(float* y, int64_t begin, int64_t end, const std::vector<float>& slopes,
                  int64_t plane);

// ---- tensor_kernels.cpp ----

// Plain <-> Nhwc for a 4-D float32 tensor.
KernelPtr makeReorderKernel(const Shape& shape, Layout from, Layout to);
KernelPtr makeCopyKernel(size_t bytes);
// MaxPool / AveragePool through oneDNN, GlobalAveragePool with our own loop.
Result<KernelPtr> makePoolKernel(const Node& node, const Shape& in, const Shape& out, Layout layout,
                                 const DenseEngine& engine, std::string& name);
Result<KernelPtr> makeGlobalAveragePoolKernel(const Shape& in, Layout layout);
// All inputs and the output in `layout`; any dtype.
Result<KernelPtr> makeConcatKernel(const std::vector<Shape>& inputs, const Shape& out, int64_t axis,
                                   Layout layout, size_t elementSize);
// Plain in, plain out, any dtype.
Result<KernelPtr> makeTransposeKernel(const Shape& in, const std::vector<int64_t>& perm,
                                      size_t elementSize);
Result<KernelPtr> makeSoftmaxKernel(const Node& node, const Shape& shape,
                                    const DenseEngine& engine);
// DepthToSpace (DCR or CRD) of a 4-D float32 tensor: input in `inLayout`, output in
// `outLayout`, any combination (a channels-last conv feeds it, a plain graph output takes it).
Result<KernelPtr> makeDepthToSpaceKernel(const Node& node, const Shape& in, Layout inLayout,
                                         Layout outLayout, std::string& name);
// Nearest / linear / cubic resize of a 4-D float32 tensor in `layout` (both sides).
// Pad, constant mode, non-negative pads, of a 4-D float32 tensor; output in the input's layout.
Result<KernelPtr> makePadKernel(const Node& node, const Shape& in, const Shape& out, Layout layout,
                                std::string& name);
Result<KernelPtr> makeResizeKernel(const Node& node, const Shape& in, const Shape& out,
                                   Layout layout);

// The op's reference kernel on plain tensors: copies in, runs opDef(op).reference, copies out.
// `constants[i]` is the constant for input i, or empty.
Result<KernelPtr> makeReferenceKernel(const Node& node, const std::vector<DataType>& inTypes,
                                      const std::vector<Shape>& inShapes,
                                      const std::vector<Tensor>& constants,
                                      const std::vector<DataType>& outTypes,
                                      const std::vector<Shape>& outShapes);

#if PRUNELAB_CPU_ONEDNN
// Turns a oneDNN exception into the engine's error type; kernels' only exception boundary.
Error dnnlError(const dnnl::error& e, const std::string& what);
#endif

}  // namespace prunelab::engine::cpu
