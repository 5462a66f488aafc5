// The compiled sparse layers as CPU runtime kernels: a layer of the compiler's SparseModel
// (pattern, tile-wise or CSR storage) runs on plain NCHW buffers, its output rows shared out
// over the thread pool, with the planner's fused chain (residual, one activation) as epilogue.
#include <algorithm>

#include "engine/codegen/pack.h"
#include "engine/runtime/cpu/cpu_kernels.h"
#include "engine/runtime/cpu/sparse/generic_kernels.h"
#include "engine/runtime/cpu/sparse/jit.h"

namespace prunelab::engine::cpu {

namespace {

class SparseConvKernel final : public Kernel {
  public:
    SparseConvKernel(codegen::LayerCode layer, cpu::Epilogue epi, std::vector<float> slopes,
                     bool residual, int threads,
                     std::shared_ptr<const cpu::CompiledModule> generated)
        : m_layer(std::move(layer)),
          m_epi(epi),
          m_slopes(std::move(slopes)),
          m_residual(residual),
          m_generated(std::move(generated)) {
        if (!m_slopes.empty()) m_epi.slopes = m_slopes.data();
        // A few rows per call: each call plans the layer's kernel groups once (see
        // runSparseLayer), and one row per call measured ~25% slower than eight.
        const int64_t rows = m_layer.gemm ? m_layer.conv.batch : m_layer.conv.outH;
        m_grain = std::max<int64_t>(1, std::min<int64_t>(8, rows / std::max(1, threads * 4)));
        // Tile-wise calls run a GEMM micro-kernel over the call's pixels: a call of 2 rows of an
        // 8x10 image (20 pixels) fills 2 vectors with 1.25 vectors' work and re-reads every
        // weight. One call per thread: PP-OCR det tile-75's 1x1 layers 1.56x -> 2.03x of dense.
        if (m_layer.kind == codegen::KernelKind::TileWise) {
            const int64_t t = std::max(1, threads);
            m_grain = std::max<int64_t>(1, (rows + t - 1) / t);
        }
    }

    Status run(std::span<std::byte* const> in, std::span<std::byte* const> out,
               RunContext& ctx) override {
        cpu::Epilogue epi = m_epi;
        if (m_residual) epi.residual = reinterpret_cast<const float*>(in[1]);
        const auto* x = reinterpret_cast<const float*>(in[0]);
        auto* y = reinterpret_cast<float*>(out[0]);
        const int64_t rows = m_layer.gemm ? m_layer.conv.batch : m_layer.conv.outH;
        ctx.pool->parallelFor(rows, m_grain, [&](int64_t begin, int64_t end) {
            if (m_generated) {
                m_generated->run(m_layer, x, y, epi, begin, end);
            } else {
                cpu::runSparseLayer(m_layer, x, y, epi, begin, end);
            }
        });
        return {};
    }

  private:
    codegen::LayerCode m_layer;
    cpu::Epilogue m_epi;
    std::vector<float> m_slopes;
    bool m_residual;
    std::shared_ptr<const cpu::CompiledModule> m_generated;  // null: the generic kernel
    int64_t m_grain = 1;
};

}  // namespace

Result<KernelPtr> makeSparseConvKernel(const codegen::LayerCode& layer,
                                       const std::vector<float>& scale,
                                       const std::vector<float>& shift,
                                       const std::vector<PostOp>& postOps, int threads,
                                       std::shared_ptr<const cpu::CompiledModule> generated,
                                       std::string& name) {
    if (generated && generated->layer(layer.index) == nullptr) generated.reset();
    if (layer.kind == codegen::KernelKind::Dense) {
        return makeError(ErrorCode::InvalidArgument, "the compiler kept this layer dense");
    }
    codegen::LayerCode folded = layer;
    if (!scale.empty()) {
        if (generated && std::any_of(scale.begin(), scale.end(), [](float s) { return s != 1; })) {
            return makeError(ErrorCode::Unsupported,
                             "a generated layer's weights are baked in: no scale folds into it");
        }
        codegen::scaleOutputChannels(folded, scale, shift);
    }
    // The epilogue is act(conv + bias + residual): a Sum first, then at most one activation.
    cpu::Epilogue epi;
    std::vector<float> slopes;
    bool residual = false, activation = false;
    std::string fused;
    for (const PostOp& po : postOps) {
        if (activation) {
            return makeError(ErrorCode::Unsupported,
                             "the sparse kernels fuse one activation, after the residual");
        }
        if (po.kind == PostOp::Kind::Sum) {
            residual = true;
            fused += "+sum";
            continue;
        }
        activation = true;
        if (po.kind == PostOp::Kind::Prelu) {
            epi.activation = cpu::Epilogue::Activation::PRelu;
            slopes = po.slopes;
            fused += "+prelu";
        } else if (po.alg == EltwiseAlg::eltwise_relu) {
            epi.activation = po.alpha == 0 ? cpu::Epilogue::Activation::Relu
                                           : cpu::Epilogue::Activation::LeakyRelu;
            epi.alpha = po.alpha;
            fused += po.alpha == 0 ? "+relu" : "+leaky_relu";
        } else if (po.alg == EltwiseAlg::eltwise_hardswish) {
            // PP-OCR's and MobileNetV3's activation: without it each of their convs would be
            // followed by 4 element-wise passes over memory (Add, Clip, Div, Mul).
            epi.activation = cpu::Epilogue::Activation::HardSwish;
            fused += "+hardswish";
        } else if (po.alg == EltwiseAlg::eltwise_clip) {
            epi.activation = cpu::Epilogue::Activation::Clip;
            epi.clipMin = po.alpha, epi.clipMax = po.beta;
            fused += "+clip";
        } else {
            return makeError(ErrorCode::Unsupported,
                             "the sparse kernels fuse relu, leaky relu, clip, prelu and "
                             "hardswish only");
        }
    }
    name = std::string("sparse ") + codegen::kernelKindName(layer.kind) + " " +
           std::to_string(layer.conv.kernelH) + "x" + std::to_string(layer.conv.kernelW) +
           (generated ? " (generated" : " (generic") + std::string(", density ") +
           std::to_string(layer.density).substr(0, 5) + ")" + (scale.empty() ? "" : "+affine") +
           fused;
    return KernelPtr(std::make_unique<SparseConvKernel>(std::move(folded), epi, std::move(slopes),
                                                        residual, threads, std::move(generated)));
}

}  // namespace prunelab::engine::cpu
