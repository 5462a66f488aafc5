// Helpers shared by the sparse-kernel tests: see codegen_test_util.h.
#include "tests/engine/codegen/codegen_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/codegen/pack.h"
#include "engine/ops/op.h"

namespace prunelab::engine::codegen {

Tensor randomTensor(const Shape& shape, Rng& rng) {
    Tensor t(DataType::Float32, shape);
    for (float& v : t.span<float>()) v = rng.symmetric();
    return t;
}

// ---- Layers ------------------------------------------------------------------------------

ConvParams paramsOf(const ConvShape& s) {
    ConvParams p;
    p.batch = s.n;
    p.inChannels = s.c, p.inH = s.h, p.inW = s.w;
    p.outChannels = s.o, p.kernelH = s.kh, p.kernelW = s.kw, p.group = s.group;
    p.strideH = s.strideH, p.strideW = s.strideW;
    p.padTop = s.padTop, p.padLeft = s.padLeft, p.padBottom = s.padBottom, p.padRight = s.padRight;
    p.dilationH = s.dilationH, p.dilationW = s.dilationW;
    p.outH = (s.h + s.padTop + s.padBottom - (s.kh - 1) * s.dilationH - 1) / s.strideH + 1;
    p.outW = (s.w + s.padLeft + s.padRight - (s.kw - 1) * s.dilationW - 1) / s.strideW + 1;
    return p;
}

std::vector<prune::Pattern> randomPatterns(int count, Rng& rng) {
    std::vector<prune::Pattern> all;
    for (int m = 0; m < 512; ++m) {
        if ((m & 16) && __builtin_popcount(static_cast<unsigned>(m)) == 4) {
            all.push_back(static_cast<prune::Pattern>(m));
        }
    }
    std::shuffle(all.begin(), all.end(), rng.engine);
    all.resize(static_cast<size_t>(count));
    return all;
}

Tensor patternWeights(const ConvParams& c, const std::vector<prune::Pattern>& patterns,
                      double connectivity, Rng& rng, std::vector<int32_t>& kernelPattern) {
    const int64_t ipg = c.inChannelsPerGroup();
    Tensor w(DataType::Float32, {c.outChannels, ipg, 3, 3});
    float* d = w.data<float>();
    kernelPattern.assign(static_cast<size_t>(c.outChannels * ipg), -1);
    for (int64_t k = 0; k < c.outChannels * ipg; ++k) {
        if (!rng.chance(connectivity)) continue;
        const auto id = static_cast<int32_t>(rng.below(static_cast<int64_t>(patterns.size())));
        kernelPattern[size_t(k)] = id;
        for (int p = 0; p < 9; ++p) {
            if (patterns[size_t(id)] >> p & 1)
                d[k * 9 + p] = rng.chance(0.05) ? 0 : rng.symmetric();
        }
    }
    return w;
}

Tensor referenceConv(const ConvParams& c, const Tensor& x, const Tensor& w, const Tensor& b) {
    Node node;
    node.op = OpKind::Conv;
    node.inputs = {0, 1, 2};
    node.outputs = {3};
    node.attrs.set("strides", std::vector<int64_t>{c.strideH, c.strideW});
    node.attrs.set("pads", std::vector<int64_t>{c.padTop, c.padLeft, c.padBottom, c.padRight});
    node.attrs.set("dilations", std::vector<int64_t>{c.dilationH, c.dilationW});
    node.attrs.set("group", c.group);
    const std::vector<const Tensor*> in = {&x, &w, &b};
    auto out = runReference(node, in);
    EXPECT_TRUE(out.ok()) << out.error().toString();
    return out.ok() ? (*out)[0] : Tensor();
}

Tensor referenceConv(const LayerCode& layer, const Tensor& x) {
    const Tensor w = unpackWeights(layer);
    const Tensor b = Tensor::fromVector<float>({layer.conv.outChannels}, layer.bias);
    return referenceConv(layer.conv, x, w, b);
}

// ---- Epilogues ---------------------------------------------------------------------------

const char* epiName(EpiCase e) {
    const char* names[] = {"none",  "relu",     "leaky",         "clip",
                           "prelu", "residual", "residual+clip", "hardswish"};
    return names[static_cast<int>(e)];
}

Epilogue makeEpilogue(EpiCase e, const Shape& outShape, int64_t channels, Rng& rng,
                      Tensor& residual, std::vector<float>& slopes) {
    Epilogue epi;
    switch (e) {
        case EpiCase::None:
            break;
        case EpiCase::Relu:
            epi = Epilogue::relu();
            break;
        case EpiCase::Leaky:
            epi = Epilogue::leakyRelu(0.2f);
            break;
        case EpiCase::Clip:
            epi = Epilogue::clip(-0.3f, 0.4f);
            break;
        case EpiCase::PRelu:
            slopes.resize(static_cast<size_t>(channels));
            for (float& s : slopes) s = rng.symmetric();
            epi = Epilogue::prelu(slopes.data());
            break;
        case EpiCase::Residual:
        case EpiCase::ResidualClip:
            residual = randomTensor(outShape, rng);
            if (e == EpiCase::ResidualClip) epi = Epilogue::clip(-0.5f, 0.5f);
            epi.residual = residual.data<float>();
            break;
        case EpiCase::HardSwish:
            epi = Epilogue::hardSwish();
            break;
    }
    return epi;
}

void applyEpilogue(Tensor& y, const Epilogue& epi, int64_t channels, int64_t plane) {
    float* d = y.data<float>();
    for (int64_t e = 0; e < y.elements(); ++e) {
        float v = d[e] + (epi.residual ? epi.residual[e] : 0.0f);
        const int64_t ch = e / plane % channels;
        switch (epi.activation) {
            case Epilogue::Activation::None:
                break;
            case Epilogue::Activation::Relu:
                v = std::max(v, 0.0f);
                break;
            case Epilogue::Activation::LeakyRelu:
                v = v < 0 ? epi.alpha * v : v;
                break;
            case Epilogue::Activation::PRelu:
                v = v < 0 ? epi.slopes[ch] * v : v;
                break;
            case Epilogue::Activation::Clip:
                v = std::clamp(v, epi.clipMin, epi.clipMax);
                break;
            case Epilogue::Activation::HardSwish:
                // The definition (ONNX HardSwish), written out.
                v = v * std::clamp(v / 6.0f + 0.5f, 0.0f, 1.0f);
                break;
        }
        d[e] = v;
    }
}

void forEachEpilogue(const Tensor& plainOut, int64_t channels, int64_t plane, Rng& rng,
                     const std::function<void(const Epilogue& epi, const Tensor& expected,
                                              const std::string& name)>& check) {
    for (EpiCase e : kAllEpilogues) {
        Tensor residual;
        std::vector<float> slopes;
        const Epilogue epi = makeEpilogue(e, plainOut.shape(), channels, rng, residual, slopes);
        Tensor expected = plainOut.clone();
        applyEpilogue(expected, epi, channels, plane);
        check(epi, expected, epiName(e));
    }
}

// ---- Checking ----------------------------------------------------------------------------

void expectClose(const Tensor& expected, const Tensor& actual, const std::string& what) {
    ASSERT_EQ(expected.shape(), actual.shape()) << what;
    const float* e = expected.data<float>();
    const float* a = actual.data<float>();
    const auto [lo, hi] = std::minmax_element(e, e + expected.elements());
    const float tolerance = 1e-4f * (*hi - *lo) + 1e-6f;
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < expected.elements(); ++i) {
        if (!(std::fabs(e[i] - a[i]) <= tolerance)) {
            if (bad++ == 0) first = i;
        }
    }
    EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << expected.elements()
                      << " values off by more than " << tolerance << "; first at " << first
                      << ": expected " << (first >= 0 ? e[first] : 0.0f) << ", got "
                      << (first >= 0 ? a[first] : 0.0f);
}

}  // namespace prunelab::engine::codegen
