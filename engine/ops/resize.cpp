// Resize: nearest / (multi-)linear / cubic resampling of any axes, with ONNX's coordinate
// transformation modes. Shape inference, the separable reference kernel and the ONNX mapping
// (Resize 10/11/13/18+ and the old Upsample 7/9, scales or sizes folded into attributes).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/ir/attributes.h"
#include "engine/ops/op.h"
#include "engine/ops/resize.h"

namespace prunelab::engine {

namespace {

float rawInputCoordinate(const std::string& mode, float x, float scale, int64_t inLen,
                         int64_t outLen) {
    const auto in = static_cast<float>(inLen), out = static_cast<float>(outLen);
    if (mode == "pytorch_half_pixel") return outLen > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    if (mode == "align_corners") return outLen == 1 ? 0.0f : x * (in - 1.0f) / (out - 1.0f);
    if (mode == "asymmetric") return x / scale;
    if (mode == "tf_half_pixel_for_nn") return (x + 0.5f) / scale;
    if (mode == "half_pixel_symmetric") {
        const float adjustment = out / (scale * in);
        const float offset = in / 2.0f * (1.0f - adjustment);
        return offset + (x + 0.5f) / scale - 0.5f;
    }
    return (x + 0.5f) / scale - 0.5f;  // half_pixel
}

}  // namespace

float resizeInputCoordinate(const std::string& mode, float x, float scale, int64_t inLen,
                            int64_t outLen) {
    // A degenerate scale (a hostile file's 1e-40) makes the coordinate infinite or NaN, and
    // turning that into an index is undefined behaviour. Every tap of a coordinate this far
    // outside lands on an edge pixel anyway, so clamping changes no meaningful result.
    const float c = rawInputCoordinate(mode, x, scale, inLen, outLen);
    if (std::isnan(c)) return 0.0f;
    const auto edge = static_cast<float>(inLen) + 8.0f;
    return std::clamp(c, -8.0f, edge);
}

int64_t resizeNearestIndex(const std::string& nearestMode, float coord) {
    if (nearestMode == "floor") return static_cast<int64_t>(std::floor(coord));
    if (nearestMode == "ceil") return static_cast<int64_t>(std::ceil(coord));
    const bool tie = coord - std::floor(coord) == 0.5f;
    if (nearestMode == "round_prefer_floor" && tie) return static_cast<int64_t>(std::floor(coord));
    return static_cast<int64_t>(std::round(coord));  // halves round up (away from zero)
}

ResizeTaps resizeTaps(const Attributes& attrs, int64_t inLen, int64_t outLen, float scale) {
    const std::string mode = attrs.getString("mode", "nearest");
    const std::string coordMode = attrs.getString("coordinate_transformation_mode", "half_pixel");
    const std::string nearestMode = attrs.getString("nearest_mode", "round_prefer_floor");
    const double a = attrs.getFloat("cubic_coeff_a", -0.75f);
    const bool excludeOutside = attrs.getInt("exclude_outside", 0) != 0;
    auto clampIndex = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), inLen - 1); };
    ResizeTaps r;
    r.taps = mode == "nearest" ? 1 : mode == "linear" ? 2 : 4;
    std::vector<int64_t>& index = r.index;
    std::vector<float>& weight = r.weight;
    for (int64_t o = 0; o < outLen; ++o) {
        const float c =
            resizeInputCoordinate(coordMode, static_cast<float>(o), scale, inLen, outLen);
        if (mode == "nearest") {
            index.push_back(clampIndex(resizeNearestIndex(nearestMode, c)));
            weight.push_back(1.0f);
        } else if (mode == "linear") {
            const double cc = std::min(std::max<double>(c, 0.0), static_cast<double>(inLen - 1));
            const auto i0 = static_cast<int64_t>(cc);
            const double frac = cc - static_cast<double>(i0);
            index.push_back(i0);
            index.push_back(clampIndex(i0 + 1));
            weight.push_back(static_cast<float>(1.0 - frac));
            weight.push_back(static_cast<float>(frac));
        } else {
            const double fl = std::floor(static_cast<double>(c));
            const double t = static_cast<double>(c) - fl;
            const double d[4] = {1.0 + t, t, 1.0 - t, 2.0 - t};
            double w[4];
            for (int k = 0; k < 4; ++k) {
                const double x = d[k];
                w[k] = x <= 1.0 ? ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
                                : ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
            }
            double total = 0.0;
            for (int k = 0; k < 4; ++k) {
                const int64_t i = static_cast<int64_t>(fl) - 1 + k;
                if (excludeOutside && (i < 0 || i >= inLen)) w[k] = 0.0;
                total += w[k];
                index.push_back(clampIndex(i));
            }
            for (double wk : w)
                weight.push_back(static_cast<float>(excludeOutside ? wk / total : wk));
        }
    }
    return r;
}

namespace {

bool isOneOf(const std::string& s, std::initializer_list<const char*> options) {
    for (const char* o : options) {
        if (s == o) return true;
    }
    return false;
}

// Checks the canonical string attributes; shared by shape inference and the importer.
Status checkModes(const Attributes& attrs) {
    const std::string mode = attrs.getString("mode", "nearest");
    const std::string coord = attrs.getString("coordinate_transformation_mode", "half_pixel");
    const std::string nearest = attrs.getString("nearest_mode", "round_prefer_floor");
    if (!isOneOf(mode, {"nearest", "linear", "cubic"})) {
        return makeError(ErrorCode::InvalidArgument,
                         "Resize mode must be nearest, linear or cubic, got '" + mode + "'");
    }
    if (coord == "tf_crop_and_resize") {
        return makeError(ErrorCode::Unsupported,
                         "Resize coordinate_transformation_mode tf_crop_and_resize is not "
                         "supported");
    }
    if (!isOneOf(coord, {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                         "align_corners", "asymmetric", "tf_half_pixel_for_nn"})) {
        return makeError(ErrorCode::InvalidArgument,
                         "Resize has unknown coordinate_transformation_mode '" + coord + "'");
    }
    if (!isOneOf(nearest, {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})) {
        return makeError(ErrorCode::InvalidArgument,
                         "Resize has unknown nearest_mode '" + nearest + "'");
    }
    return {};
}

Status inferResize(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    if (in.size() != 1 || !in[0].present() || out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, "Resize takes one input and has one output");
    }
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported, "Resize supports float32 only, got " +
                                                     std::string(dataTypeName(in[0].dtype)));
    }
    PL_TRY(checkModes(node.attrs));
    const Shape& x = in[0].shape;
    const std::vector<int64_t> sizes = node.attrs.getInts("sizes");
    const std::vector<float> scales = node.attrs.getFloats("scales");
    if (sizes.size() != x.size() || scales.size() != x.size()) {
        return makeError(ErrorCode::ShapeMismatch,
                         "Resize needs one size and one scale per input dim: input " +
                             shapeToString(x) + ", sizes " + shapeToString(sizes) + ", " +
                             std::to_string(scales.size()) + " scales");
    }
    for (size_t i = 0; i < x.size(); ++i) {
        if (sizes[i] < 1 || !(scales[i] > 0.0f) || x[i] < 1) {
            return makeError(ErrorCode::InvalidArgument, "Resize of input " + shapeToString(x) +
                                                             " to sizes " + shapeToString(sizes) +
                                                             " needs positive sizes and scales");
        }
    }
    out[0].dtype = DataType::Float32;
    out[0].shape = sizes;
    return {};
}

// ---- The reference kernel ----

// Keys' cubic convolution weights for the 4 taps at floor(c) - 1 .. floor(c) + 2, where
// t = c - floor(c) and A = cubic_coeff_a:
//   w(d) = (A+2)|d|^3 - (A+3)|d|^2 + 1        for |d| <= 1
//   w(d) = A|d|^3 - 5A|d|^2 + 8A|d| - 4A      for 1 < |d| < 2
// evaluated at the distances d = 1+t, t, 1-t, 2-t.
void cubicWeights(double t, double a, double w[4]) {
    const double d0 = 1.0 + t, d1 = t, d2 = 1.0 - t, d3 = 2.0 - t;
    w[0] = ((a * d0 - 5.0 * a) * d0 + 8.0 * a) * d0 - 4.0 * a;
    w[1] = ((a + 2.0) * d1 - (a + 3.0)) * d1 * d1 + 1.0;
    w[2] = ((a + 2.0) * d2 - (a + 3.0)) * d2 * d2 + 1.0;
    w[3] = ((a * d3 - 5.0 * a) * d3 + 8.0 * a) * d3 - 4.0 * a;
}

// For each output position of one axis, the input indices it reads and their weights.
struct AxisTaps {
    int taps = 1;                // entries per output position
    std::vector<int64_t> index;  // [outLen * taps]
    std::vector<double> weight;  // [outLen * taps]

    // True when output position o reads exactly input o (weight 1, any other tap weight 0),
    // as for a same-size axis with scale 1: such an axis is skipped.
    bool isIdentity() const {
        for (size_t o = 0; o * static_cast<size_t>(taps) < index.size(); ++o) {
            double selfWeight = 0.0;
            for (int k = 0; k < taps; ++k) {
                const size_t tap = o * static_cast<size_t>(taps) + static_cast<size_t>(k);
                if (index[tap] == static_cast<int64_t>(o)) {
                    selfWeight += weight[tap];
                } else if (weight[tap] != 0.0) {
                    return false;
                }
            }
            if (selfWeight != 1.0) return false;
        }
        return true;
    }
};

AxisTaps axisTaps(const Attributes& attrs, int64_t inLen, int64_t outLen, float scale) {
    const std::string mode = attrs.getString("mode", "nearest");
    const std::string coordMode = attrs.getString("coordinate_transformation_mode", "half_pixel");
    const std::string nearestMode = attrs.getString("nearest_mode", "round_prefer_floor");
    const double cubicA = attrs.getFloat("cubic_coeff_a", -0.75f);
    const bool excludeOutside = attrs.getInt("exclude_outside", 0) != 0;
    auto clampIndex = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), inLen - 1); };

    AxisTaps t;
    t.taps = mode == "nearest" ? 1 : mode == "linear" ? 2 : 4;
    for (int64_t o = 0; o < outLen; ++o) {
        const float c =
            resizeInputCoordinate(coordMode, static_cast<float>(o), scale, inLen, outLen);
        if (mode == "nearest") {
            t.index.push_back(clampIndex(resizeNearestIndex(nearestMode, c)));
            t.weight.push_back(1.0);
        } else if (mode == "linear") {
            // Clamp the coordinate into the input, then interpolate between its two neighbours.
            const double cc = std::min(std::max<double>(c, 0.0), static_cast<double>(inLen - 1));
            const auto i0 = static_cast<int64_t>(cc);
            const double frac = cc - static_cast<double>(i0);
            t.index.push_back(i0);
            t.index.push_back(clampIndex(i0 + 1));
            t.weight.push_back(1.0 - frac);
            t.weight.push_back(frac);
        } else {
            const double fl = std::floor(static_cast<double>(c));
            double w[4];
            cubicWeights(static_cast<double>(c) - fl, cubicA, w);
            double total = 0.0;
            for (int k = 0; k < 4; ++k) {
                const int64_t i = static_cast<int64_t>(fl) - 1 + k;
                // exclude_outside: taps outside the input get weight 0 and the rest are
                // renormalised; otherwise they read the edge pixel.
                if (excludeOutside && (i < 0 || i >= inLen)) w[k] = 0.0;
                total += w[k];
                t.index.push_back(clampIndex(i));
            }
            for (int k = 0; k < 4; ++k) t.weight.push_back(excludeOutside ? w[k] / total : w[k]);
        }
    }
    return t;
}

// The interpolation is separable: resizing one axis at a time gives
//   y[o_0]...[o_r] = sum over taps k_0..k_r of  w_0(o_0, k_0) * ... * w_r(o_r, k_r)
//                    * x[i_0(o_0, k_0)]...[i_r(o_r, k_r)]
// where per axis a, output position o reads the input indices i_a(o, k) with weights
// w_a(o, k) (axisTaps: 1 tap for nearest, 2 for linear, 4 for cubic). Intermediate results
// stay in double.
Status referenceResize(const Node& node, std::span<const Tensor* const> in,
                       std::span<Tensor* const> out) {
    Shape shape = in[0]->shape();
    const std::vector<int64_t> sizes = node.attrs.getInts("sizes");
    const std::vector<float> scales = node.attrs.getFloats("scales");
    const std::span<const float> src = in[0]->span<float>();
    std::vector<double> data(src.begin(), src.end());

    for (size_t axis = 0; axis < shape.size(); ++axis) {
        const AxisTaps taps = axisTaps(node.attrs, shape[axis], sizes[axis], scales[axis]);
        if (sizes[axis] == shape[axis] && taps.isIdentity()) continue;
        int64_t outer = 1, inner = 1;
        for (size_t i = 0; i < axis; ++i) outer *= shape[i];
        for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
        const int64_t inLen = shape[axis], outLen = sizes[axis];
        std::vector<double> next(static_cast<size_t>(outer * outLen * inner), 0.0);
        for (int64_t b = 0; b < outer; ++b) {
            for (int64_t o = 0; o < outLen; ++o) {
                for (int64_t i = 0; i < inner; ++i) {
                    double sum = 0.0;
                    for (int k = 0; k < taps.taps; ++k) {
                        const auto tap = static_cast<size_t>(o * taps.taps + k);
                        sum += taps.weight[tap] *
                               data[static_cast<size_t>((b * inLen + taps.index[tap]) * inner + i)];
                    }
                    next[static_cast<size_t>((b * outLen + o) * inner + i)] = sum;
                }
            }
        }
        data = std::move(next);
        shape[axis] = outLen;
    }
    float* y = out[0]->data<float>();
    for (size_t i = 0; i < data.size(); ++i) y[i] = static_cast<float>(data[i]);
    return {};
}

// ---- ONNX mapping ----

// An optional operand counts as given when present and non-empty (ONNX writes "" or an
// empty tensor for an absent one).
bool given(const OnnxNodeIn& node, size_t i) {
    return i < node.inputs.size() && node.inputs[i].present() &&
           elementCount(node.inputs[i].shape) > 0;
}

// floor(in * scale) computed in float as ONNX Runtime does, checked before the conversion:
// a huge, negative or NaN float -> int64 is undefined behaviour.
Result<int64_t> scaledSize(int64_t in, float scale, size_t axis) {
    const float size = static_cast<float>(in) * scale;
    if (!(size >= 0.0f && size <= static_cast<float>(kMaxTensorElements))) {
        return makeError(ErrorCode::InvalidArgument, "Resize scale " + std::to_string(scale) +
                                                         " on axis " + std::to_string(axis) +
                                                         " gives an output size out of range");
    }
    return static_cast<int64_t>(size);
}

Result<std::vector<double>> constantValues(const OnnxNodeIn& node, size_t i, const char* what) {
    if (node.inputs[i].constant == nullptr) {
        return makeError(ErrorCode::Unsupported,
                         std::string(node.opType) + " '" + what + "' must be a constant");
    }
    const Tensor& t = *node.inputs[i].constant;
    std::vector<double> values;
    if (t.dtype() == DataType::Int64) {
        for (int64_t v : t.toInt64Vector()) values.push_back(static_cast<double>(v));
    } else {
        for (float v : t.toFloatVector()) values.push_back(v);
    }
    return values;
}

// Resize 10 and Upsample 7/9: asymmetric coordinates, and ONNX Runtime's "simple" nearest
// rounding, which floors when upsampling and ceils when downsampling.
Result<OnnxImport> importLegacy(const OnnxNodeIn& node, const Shape& x) {
    const Attributes& a = *node.attrs;
    std::string mode = a.getString("mode", "nearest");
    if (mode == "bilinear") mode = "linear";  // Upsample-1 spelling
    if (mode != "nearest" && mode != "linear") {
        return makeError(
            ErrorCode::InvalidArgument,
            std::string(node.opType) + " mode must be nearest or linear, got '" + mode + "'");
    }
    std::vector<float> scales = a.getFloats("scales");
    if (!a.has("scales")) {
        if (!given(node, 1)) {
            return makeError(ErrorCode::InvalidArgument,
                             std::string(node.opType) + " needs scales");
        }
        PL_TRY_ASSIGN(std::vector<double> values, constantValues(node, 1, "scales"));
        scales.assign(values.begin(), values.end());
    }
    if (scales.size() != x.size()) {
        return makeError(ErrorCode::ShapeMismatch, std::string(node.opType) + " has " +
                                                       std::to_string(scales.size()) +
                                                       " scales for input " + shapeToString(x));
    }
    bool up = false, down = false;
    std::vector<int64_t> sizes;
    for (size_t i = 0; i < x.size(); ++i) {
        up = up || scales[i] > 1.0f;
        down = down || scales[i] < 1.0f;
        PL_TRY_ASSIGN(int64_t size, scaledSize(x[i], scales[i], i));
        sizes.push_back(size);
    }
    if (mode == "nearest" && up && down) {
        return makeError(ErrorCode::Unsupported,
                         std::string(node.opType) +
                             " nearest with some axes up- and some downsampled is not supported");
    }
    OnnxImport result;
    result.attrs.set("mode", mode);
    result.attrs.set("scales", scales);
    result.attrs.set("sizes", sizes);
    result.attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
    result.attrs.set("nearest_mode", std::string(down ? "ceil" : "floor"));
    result.attrs.set("cubic_coeff_a", -0.75f);
    result.attrs.set("exclude_outside", int64_t(0));
    result.inputs = {0};
    return result;
}

Result<OnnxImport> importResize(const OnnxNodeIn& node) {
    if (node.inputs.empty() || !node.inputs[0].present()) {
        return makeError(ErrorCode::InvalidArgument, std::string(node.opType) + " needs input X");
    }
    const Shape& x = node.inputs[0].shape;
    if (node.opType == "Upsample" || node.opset < 11) return importLegacy(node, x);

    const Attributes& a = *node.attrs;
    if (a.getInt("antialias", 0) != 0) {
        return makeError(ErrorCode::Unsupported, "Resize with antialias is not supported");
    }
    OnnxImport result;
    result.attrs.set("mode", a.getString("mode", "nearest"));
    result.attrs.set("coordinate_transformation_mode",
                     a.getString("coordinate_transformation_mode", "half_pixel"));
    result.attrs.set("nearest_mode", a.getString("nearest_mode", "round_prefer_floor"));
    result.attrs.set("cubic_coeff_a", a.getFloat("cubic_coeff_a", -0.75f));
    result.attrs.set("exclude_outside", int64_t(a.getInt("exclude_outside", 0) != 0 ? 1 : 0));
    PL_TRY(checkModes(result.attrs));

    // Opset 18: scales/sizes may name only some axes; the others keep their size.
    std::vector<int64_t> axes = a.getInts("axes");
    if (axes.empty()) {
        for (size_t i = 0; i < x.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    }
    for (int64_t& axis : axes) {
        if (axis < 0) axis += static_cast<int64_t>(x.size());
        if (axis < 0 || axis >= static_cast<int64_t>(x.size())) {
            return makeError(ErrorCode::InvalidArgument,
                             "Resize axes " + shapeToString(a.getInts("axes")) +
                                 " do not fit input " + shapeToString(x));
        }
    }
    const bool hasScales = given(node, 2), hasSizes = given(node, 3);
    if (hasScales == hasSizes) {
        return makeError(ErrorCode::InvalidArgument,
                         "Resize needs exactly one of scales and sizes (non-empty)");
    }
    PL_TRY_ASSIGN(std::vector<double> values,
                  constantValues(node, hasScales ? 2 : 3, hasScales ? "scales" : "sizes"));
    if (values.size() != axes.size()) {
        return makeError(ErrorCode::ShapeMismatch,
                         std::string("Resize has ") + std::to_string(values.size()) +
                             (hasScales ? " scales" : " sizes") + " for " +
                             std::to_string(axes.size()) + " axes of input " + shapeToString(x));
    }
    if (hasSizes && a.getString("keep_aspect_ratio_policy", "stretch") != "stretch") {
        return makeError(ErrorCode::Unsupported,
                         "Resize keep_aspect_ratio_policy other than stretch is not supported");
    }
    // Both forms resolved as ONNX Runtime does: sizes = floor(in * scale) in float; with
    // sizes given, scale = size / in (what the coordinate transformation divides by).
    std::vector<float> scales(x.size(), 1.0f);
    std::vector<int64_t> sizes(x.begin(), x.end());
    for (size_t k = 0; k < axes.size(); ++k) {
        const auto i = static_cast<size_t>(axes[k]);
        if (hasScales) {
            scales[i] = static_cast<float>(values[k]);
            PL_TRY_ASSIGN(sizes[i], scaledSize(x[i], scales[i], i));
        } else {
            if (!(values[k] >= 0.0 && values[k] <= static_cast<double>(kMaxTensorElements))) {
                return makeError(ErrorCode::InvalidArgument,
                                 "Resize size " + std::to_string(values[k]) + " on axis " +
                                     std::to_string(i) + " is out of range");
            }
            sizes[i] = static_cast<int64_t>(values[k]);
            scales[i] = static_cast<float>(sizes[i]) / static_cast<float>(x[i]);
        }
    }
    result.attrs.set("scales", scales);
    result.attrs.set("sizes", sizes);
    result.inputs = {0};
    return result;
}

// Opset 13: X, roi (absent), then scales or sizes as a constant, whichever reproduces both
// canonical attributes on import.
Result<std::vector<OnnxNodeOut>> exportResize(const Node& node, const Graph& graph) {
    const Shape& x = graph.value(node.inputs[0]).shape;
    const std::vector<float> scales = node.attrs.getFloats("scales");
    const std::vector<int64_t> sizes = node.attrs.getInts("sizes");
    const std::string coord = node.attrs.getString("coordinate_transformation_mode", "half_pixel");
    if (coord == "half_pixel_symmetric") {
        return makeError(ErrorCode::Unsupported,
                         "Resize half_pixel_symmetric needs ONNX opset 19; the export writes "
                         "opset " +
                             std::to_string(kOnnxExportOpset));
    }
    if (scales.size() != x.size() || sizes.size() != x.size()) {
        return makeError(ErrorCode::InvalidArgument, "Resize needs scales and sizes per dim");
    }
    bool sizesReproduceScales = true, scalesReproduceSizes = true;
    for (size_t i = 0; i < x.size(); ++i) {
        sizesReproduceScales = sizesReproduceScales &&
                               static_cast<float>(sizes[i]) / static_cast<float>(x[i]) == scales[i];
        scalesReproduceSizes =
            scalesReproduceSizes &&
            static_cast<int64_t>(static_cast<float>(x[i]) * scales[i]) == sizes[i];
    }
    OnnxNodeOut out;
    out.opType = "Resize";
    out.attrs.set("mode", node.attrs.getString("mode", "nearest"));
    out.attrs.set("coordinate_transformation_mode", coord);
    out.attrs.set("nearest_mode", node.attrs.getString("nearest_mode", "round_prefer_floor"));
    out.attrs.set("cubic_coeff_a", node.attrs.getFloat("cubic_coeff_a", -0.75f));
    out.attrs.set("exclude_outside", node.attrs.getInt("exclude_outside", 0));
    out.inputs.push_back({OnnxOperand::Kind::IrInput, 0, {}});
    out.inputs.push_back({OnnxOperand::Kind::Absent, 0, {}});  // roi
    const auto rank = static_cast<int64_t>(x.size());
    if (sizesReproduceScales) {
        out.inputs.push_back({OnnxOperand::Kind::Absent, 0, {}});
        out.inputs.push_back(
            {OnnxOperand::Kind::Constant, 0, Tensor::fromVector<int64_t>({rank}, sizes)});
    } else if (scalesReproduceSizes) {
        out.inputs.push_back(
            {OnnxOperand::Kind::Constant, 0, Tensor::fromVector<float>({rank}, scales)});
    } else {
        return makeError(ErrorCode::Unsupported,
                         "Resize scales and sizes " + shapeToString(sizes) +
                             " are inconsistent: ONNX can express only one of them");
    }
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefResize = {OpKind::Resize, "Resize",     inferResize,     referenceResize,
                            importResize,   exportResize, {"Upsample", ""}};

}  // namespace prunelab::engine
