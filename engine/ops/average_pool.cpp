// AveragePool: the mean of each 2-D window (NCHW). Parameters, shape inference and the ONNX
// mapping are shared with MaxPool (pool.h); this file holds the reference kernel.
#include "engine/ops/op.h"
#include "engine/ops/pool.h"

namespace prunelab::engine {

namespace {

// y[n][c][oh][ow] = (sum of x[n][c][ih][iw] over the window taps inside the input) / count
// with ih = oh*strideH - padTop + kh*dilationH, iw = ow*strideW - padLeft + kw*dilationW and
//   count = taps inside the input                       (count_include_pad = 0)
//   count = taps inside the padded input [-padTop, H + padBottom) x [-padLeft, W + padRight)
//                                                       (count_include_pad = 1)
// so with ceil_mode the part of a window hanging past the end padding never counts (as in
// ONNX Runtime and PyTorch).
Status referenceAveragePool(const Node& node, std::span<const Tensor* const> in,
                            std::span<Tensor* const> out) {
    PL_TRY_ASSIGN(PoolParams p, poolParams(node, in[0]->shape(), "AveragePool"));
    const float* x = in[0]->data<float>();
    float* y = out[0]->data<float>();
    for (int64_t nc = 0; nc < p.batch * p.channels; ++nc) {
        const float* plane = x + nc * p.inH * p.inW;
        for (int64_t oh = 0; oh < p.outH; ++oh) {
            for (int64_t ow = 0; ow < p.outW; ++ow) {
                double sum = 0.0;
                int64_t inside = 0, insidePadded = 0;
                for (int64_t kh = 0; kh < p.kernelH; ++kh) {
                    const int64_t ih = oh * p.strideH - p.padTop + kh * p.dilationH;
                    const bool rowInPadded = ih >= -p.padTop && ih < p.inH + p.padBottom;
                    const bool rowInInput = ih >= 0 && ih < p.inH;
                    for (int64_t kw = 0; kw < p.kernelW; ++kw) {
                        const int64_t iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
                        if (rowInPadded && iw >= -p.padLeft && iw < p.inW + p.padRight) {
                            ++insidePadded;
                        }
                        if (rowInInput && iw >= 0 && iw < p.inW) {
                            sum += plane[ih * p.inW + iw];
                            ++inside;
                        }
                    }
                }
                const int64_t count = p.countIncludePad ? insidePadded : inside;
                // A window seeing only padding (count 0 without count_include_pad) gives 0.
                y[(nc * p.outH + oh) * p.outW + ow] =
                    count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
            }
        }
    }
    return {};
}

Result<OnnxImport> importAveragePool(const OnnxNodeIn& node) {
    return importPool(node, true);
}

Result<std::vector<OnnxNodeOut>> exportAveragePool(const Node& node, const Graph& graph) {
    return exportPool(node, graph, "AveragePool", true);
}

}  // namespace

const OpDef kOpDefAveragePool = {
    OpKind::AveragePool, "AveragePool",     inferPool, referenceAveragePool,
    importAveragePool,   exportAveragePool, {}};

}  // namespace prunelab::engine
