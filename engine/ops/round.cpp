// Round: y = x rounded to the nearest integer, halves to the even neighbour (ONNX's rule, the
// IEEE default: round(2.5) = 2, round(-0.5) = -0, round(1.5) = 2), float32.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

Status infer(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    return inferUnaryFloat("Round", in, out);
}

// f = floor(x), r = x - f (exact in float32, 0 <= r < 1):
//   y = f      when r < 1/2
//   y = f + 1  when r > 1/2
//   y = whichever of f and f + 1 is even, when r = 1/2
// +-inf and NaN pass through; the sign of a zero result follows x (copysign), as IEEE's
// roundTiesToEven does.
float roundHalfToEven(float x) {
    if (!std::isfinite(x)) return x;
    const float f = std::floor(x);
    const float r = x - f;
    float y = f;
    if (r > 0.5f || (r == 0.5f && std::fmod(f, 2.0f) != 0.0f)) y = f + 1.0f;
    return std::copysign(y, x);
}

Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    unaryFloatLoop(*in[0], *out[0], roundHalfToEven);
    return {};
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    return importFirstInput(node);
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    return exportAsIs(node, "Round");
}

}  // namespace

const OpDef kOpDefRound = {OpKind::Round, "Round", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine
