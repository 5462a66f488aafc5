// The OpenBLAS conv and matmul of a build without oneDNN (the aarch64 agent's dense lane),
// checked against plain loops written here: every layout pair, groups and depthwise, strides,
// padding, dilation, 1x1, fused bias + post-ops + residual, on 1 and 3 threads. A program of its
// own (no GoogleTest in the cross build), run under qemu by ctest: exit 0 when all match.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/runtime/cpu/cpu_kernels.h"

using namespace prunelab::engine;
using namespace prunelab::engine::cpu;

namespace {

std::mt19937 rng(7);

std::vector<float> randomValues(int64_t n) {
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = d(rng);
    return v;
}

float applyPostOps(float v, int64_t c, float residual, const std::vector<PostOp>& ops) {
    for (const PostOp& op : ops) {
        if (op.kind == PostOp::Kind::Sum) {
            v += residual;
        } else if (op.kind == PostOp::Kind::Prelu) {
            v = v < 0 ? op.slopes[static_cast<size_t>(c)] * v : v;
        } else if (op.alg == EltwiseAlg::eltwise_relu) {
            v = v < 0 ? op.alpha * v : v;
        } else if (op.alg == EltwiseAlg::eltwise_clip) {
            v = std::fmin(std::fmax(v, op.alpha), op.beta);
        } else if (op.alg == EltwiseAlg::eltwise_logistic) {
            v = 1 / (1 + std::exp(-v));
        } else if (op.alg == EltwiseAlg::eltwise_hardswish) {
            v = v * std::fmin(std::fmax(v + 3, 0.0f), 6.0f) / 6;
        } else if (op.alg == EltwiseAlg::eltwise_tanh) {
            v = std::tanh(v);
        } else {
            v = op.alpha * v + op.beta;
        }
    }
    return v;
}

// Index of (n, c, y, x) in a [N][C][H][W] tensor stored in `layout`.
int64_t at(Layout layout, int64_t n, int64_t c, int64_t y, int64_t x, int64_t C, int64_t H,
           int64_t W) {
    return layout == Layout::Plain ? ((n * C + c) * H + y) * W + x : ((n * H + y) * W + x) * C + c;
}

// Runs `kernel` on a pool of `threads` with a scratchpad per thread.
bool runKernel(Kernel& kernel, int threads, std::vector<std::byte*> in, std::byte* out) {
    ThreadPool pool(threads);
    std::vector<std::vector<std::byte>> scratch(static_cast<size_t>(threads));
    RunContext ctx{&pool, nullptr, {}};
    for (auto& s : scratch) {
        s.resize(kernel.scratchpadBytes() + 64);
        ctx.scratch.push_back(s.data());
    }
    std::byte* outs[] = {out};
    return kernel.run(in, outs, ctx).ok();
}

int failures = 0;

void report(const std::string& what, float worst, float tol) {
    if (!(worst <= tol)) {
        std::printf("FAIL %s: worst difference %g > %g\n", what.c_str(), double(worst),
                    double(tol));
        ++failures;
    } else {
        std::printf("ok   %s (worst %g)\n", what.c_str(), double(worst));
    }
}

void checkConv(ConvParams p, std::vector<PostOp> postOps, Layout src, Layout dst, int threads) {
    p.outH = (p.inH + p.padTop + p.padBottom - ((p.kernelH - 1) * p.dilationH + 1)) / p.strideH + 1;
    p.outW = (p.inW + p.padLeft + p.padRight - ((p.kernelW - 1) * p.dilationW + 1)) / p.strideW + 1;
    ConvSpec spec;
    spec.params = p;
    spec.weights = randomValues(p.outChannels * p.inChannelsPerGroup() * p.kernelH * p.kernelW);
    spec.bias = randomValues(p.outChannels);
    spec.postOps = postOps;
    spec.srcLayout = src;
    spec.dstLayout = dst;
    std::string name;
    auto kernel = makeConvKernel(spec, DenseEngine{}, threads, name);
    if (!kernel.ok()) {
        std::printf("FAIL %s: %s\n", name.c_str(), kernel.error().toString().c_str());
        ++failures;
        return;
    }
    const int64_t outCount = p.batch * p.outChannels * p.outH * p.outW;
    std::vector<float> x = randomValues(p.batch * p.inChannels * p.inH * p.inW);
    std::vector<float> residual = randomValues(outCount);
    std::vector<float> y(static_cast<size_t>(outCount), NAN);
    std::vector<std::byte*> in = {reinterpret_cast<std::byte*>(x.data()),
                                  reinterpret_cast<std::byte*>(residual.data())};
    if (!runKernel(**kernel, threads, in, reinterpret_cast<std::byte*>(y.data()))) {
        std::printf("FAIL %s: run failed\n", name.c_str());
        ++failures;
        return;
    }
    // y[n][o][oy][ox] = bias[o] + sum over c, ky, kx of w[o][c][ky][kx] * x[n][g*ig+c][iy][ix]
    const int64_t ig = p.inChannelsPerGroup(), og = p.outChannelsPerGroup();
    float worst = 0;
    for (int64_t n = 0; n < p.batch; ++n) {
        for (int64_t o = 0; o < p.outChannels; ++o) {
            for (int64_t oy = 0; oy < p.outH; ++oy) {
                for (int64_t ox = 0; ox < p.outW; ++ox) {
                    double sum = spec.bias[size_t(o)];
                    for (int64_t c = 0; c < ig; ++c) {
                        for (int64_t ky = 0; ky < p.kernelH; ++ky) {
                            for (int64_t kx = 0; kx < p.kernelW; ++kx) {
                                const int64_t iy = oy * p.strideH - p.padTop + ky * p.dilationH;
                                const int64_t ix = ox * p.strideW - p.padLeft + kx * p.dilationW;
                                if (iy < 0 || iy >= p.inH || ix < 0 || ix >= p.inW) continue;
                                const int64_t ci = (o / og) * ig + c;
                                sum +=
                                    double(spec.weights[size_t(
                                        ((o * ig + c) * p.kernelH + ky) * p.kernelW + kx)]) *
                                    x[size_t(at(src, n, ci, iy, ix, p.inChannels, p.inH, p.inW))];
                            }
                        }
                    }
                    const size_t k = size_t(at(dst, n, o, oy, ox, p.outChannels, p.outH, p.outW));
                    const float want = applyPostOps(float(sum), o, residual[k], postOps);
                    worst = std::isnan(y[k]) ? INFINITY : std::fmax(worst, std::fabs(want - y[k]));
                }
            }
        }
    }
    report(name + " " + std::to_string(threads) + " threads", worst, 1e-4f);
}

void checkMatMul(int64_t m, int64_t k, int64_t n, bool transA, int biasKind, int threads) {
    MatMulSpec spec;
    spec.m = m, spec.k = k, spec.n = n, spec.transA = transA;
    spec.weights = randomValues(k * n);
    if (biasKind == 1) spec.bias = randomValues(n);
    if (biasKind == 2) spec.bias = randomValues(m * n);
    PostOp prelu{PostOp::Kind::Prelu, EltwiseAlg::eltwise_relu, 0, 0};
    prelu.slopes = randomValues(n);
    spec.postOps = {{PostOp::Kind::Eltwise, EltwiseAlg::eltwise_linear, 0.5f, 0.25f}, prelu};
    std::string name;
    auto kernel = makeMatMulKernel(spec, DenseEngine{}, threads, name);
    if (!kernel.ok()) {
        std::printf("FAIL matmul: %s\n", kernel.error().toString().c_str());
        ++failures;
        return;
    }
    std::vector<float> a = randomValues(m * k);
    std::vector<float> y(static_cast<size_t>(m * n), NAN);
    if (!runKernel(**kernel, threads, {reinterpret_cast<std::byte*>(a.data())},
                   reinterpret_cast<std::byte*>(y.data()))) {
        std::printf("FAIL %s: run failed\n", name.c_str());
        ++failures;
        return;
    }
    float worst = 0;
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
            double sum = biasKind == 1   ? spec.bias[size_t(j)]
                         : biasKind == 2 ? spec.bias[size_t(i * n + j)]
                                         : 0.0;
            for (int64_t t = 0; t < k; ++t) {
                sum += double(transA ? a[size_t(t * m + i)] : a[size_t(i * k + t)]) *
                       spec.weights[size_t(t * n + j)];
            }
            const float want = applyPostOps(float(sum), j, 0, spec.postOps);
            const float got = y[size_t(i * n + j)];
            worst = std::isnan(got) ? INFINITY : std::fmax(worst, std::fabs(want - got));
        }
    }
    report(name + (transA ? " transA" : "") + " " + std::to_string(threads) + " threads", worst,
           1e-4f);
}

ConvParams conv(int64_t batch, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t group,
                int64_t stride, int64_t pad, int64_t dilation) {
    ConvParams p;
    p.batch = batch, p.inChannels = c, p.inH = h, p.inW = w, p.outChannels = o;
    p.kernelH = p.kernelW = k, p.group = group, p.strideH = p.strideW = stride;
    p.padTop = p.padLeft = p.padBottom = p.padRight = pad;
    p.dilationH = p.dilationW = dilation;
    return p;
}

}  // namespace

int main() {
    setBlasSingleThreaded();
    const PostOp relu{PostOp::Kind::Eltwise, EltwiseAlg::eltwise_relu, 0, 0};
    const PostOp leaky{PostOp::Kind::Eltwise, EltwiseAlg::eltwise_relu, 0.1f, 0};
    const PostOp sum{PostOp::Kind::Sum, EltwiseAlg::eltwise_linear, 0, 0};
    const PostOp clip{PostOp::Kind::Eltwise, EltwiseAlg::eltwise_clip, -0.5f, 0.5f};
    const PostOp hswish{PostOp::Kind::Eltwise, EltwiseAlg::eltwise_hardswish, 0, 0};
    const PostOp sigmoid{PostOp::Kind::Eltwise, EltwiseAlg::eltwise_logistic, 0, 0};
    PostOp prelu{PostOp::Kind::Prelu, EltwiseAlg::eltwise_relu, 0, 0};
    const std::vector<std::vector<PostOp>> chains = {{},           {relu}, {sum, relu},
                                                     {leaky, sum}, {clip}, {hswish, sigmoid}};
    const std::vector<ConvParams> shapes = {
        conv(1, 8, 11, 13, 16, 3, 1, 1, 1, 1),    // 3x3, same padding
        conv(2, 6, 9, 10, 4, 3, 1, 2, 1, 1),      // stride 2, batch 2
        conv(1, 12, 8, 9, 12, 3, 12, 1, 1, 1),    // depthwise (plain: direct rows)
        conv(1, 16, 33, 35, 16, 5, 16, 2, 2, 1),  // depthwise 5x5 stride 2
        conv(2, 8, 20, 17, 8, 3, 8, 1, 2, 2),     // depthwise dilation 2, batch 2
        conv(1, 24, 64, 64, 24, 3, 24, 1, 1, 1),  // depthwise, BlazeFace's size: many pieces
        conv(1, 8, 10, 7, 12, 3, 4, 1, 2, 2),     // groups, dilation 2
        conv(1, 16, 7, 9, 8, 1, 1, 1, 0, 1),      // 1x1: no im2col
        conv(1, 16, 7, 9, 8, 1, 2, 1, 0, 1),      // grouped 1x1
        conv(1, 5, 12, 12, 6, 5, 1, 2, 2, 1),     // 5x5 stride 2
        conv(1, 64, 20, 30, 8, 3, 1, 1, 1, 1),    // k = 576: several im2col chunks per piece
        conv(1, 4, 6, 6, 4, 3, 1, 1, 0, 1),       // no padding
        conv(1, 4, 9, 9, 6, 1, 1, 2, 0, 1),       // 1x1 stride 2: im2col
    };
    const Layout layouts[] = {Layout::Plain, Layout::Nhwc};
    int which = 0;
    for (const ConvParams& p : shapes) {
        for (Layout src : layouts) {
            for (Layout dst : layouts) {
                std::vector<PostOp> ops = chains[size_t(which++) % chains.size()];
                if (which % 5 == 0) {
                    prelu.slopes = randomValues(p.outChannels);
                    ops.push_back(prelu);
                }
                checkConv(p, ops, src, dst, 1 + (which % 2) * 2);
            }
        }
    }
    for (int threads : {1, 3}) {
        checkMatMul(37, 19, 23, false, 1, threads);
        checkMatMul(37, 19, 23, false, 2, threads);
        checkMatMul(5, 64, 10, true, 0, threads);
        checkMatMul(1, 128, 7, false, 1, threads);
    }
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
