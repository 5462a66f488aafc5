// ncnn layer mappings, part 2: layers that move, reshape or resample data (Interp, Concat,
// PixelShuffle, Reshape, Permute, Softmax, Crop, Padding, Flatten). ncnn blobs have no batch
// dim: a blob of `dims` dimensions is IR [1, ...], its axis a is IR axis a + 1, and its
// w / h / c are the IR's last / second-last / first-after-batch dims.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "plugins/import-ncnn/ncnn_internal.h"

namespace prunelab::ncnn::internal {

using engine::Attributes;
using engine::ErrorCode;
using engine::makeError;
using engine::OpKind;
using engine::Result;
using engine::Shape;
using engine::Status;
using engine::ValueId;

namespace {

// The ncnn blob dims of an IR value (its rank without the batch), refusing ranks ncnn's 3-D
// layers were not written for here.
Result<int64_t> blobDims(const Shape& shape, const std::string& layerType, int64_t maxDims = 3) {
    const int64_t dims = static_cast<int64_t>(shape.size()) - 1;
    if (dims < 1 || dims > maxDims || shape[0] != 1) {
        return makeError(ErrorCode::Unsupported,
                         layerType + " on a blob of shape " + engine::shapeToString(shape) +
                             " (1 to " + std::to_string(maxDims) + " dims after a batch of 1)");
    }
    return dims;
}

std::string text(const std::vector<int64_t>& values) {
    return engine::shapeToString(values);
}

}  // namespace

// ncnn Interp: 0 resize_type (1 nearest, 2 bilinear, 3 bicubic), 1/2 height/width scale,
// 3/4 output height/width, 6 align_corner.
Status Importer::interp(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t type, p.getInt(0, 0));
    PL_TRY_ASSIGN(float hScale, p.getFloat(1, 1.0f));
    PL_TRY_ASSIGN(float wScale, p.getFloat(2, 1.0f));
    PL_TRY_ASSIGN(int64_t outH, p.getInt(3, 0));
    PL_TRY_ASSIGN(int64_t outW, p.getInt(4, 0));
    PL_TRY_ASSIGN(int64_t dynamic, p.getInt(5, 0));
    PL_TRY_ASSIGN(int64_t alignCorner, p.getInt(6, 0));
    const Shape& xs = shapeOf(x);
    if (dynamic != 0 || xs.size() != 4) {
        return makeError(ErrorCode::Unsupported, "Interp needs a 4-D input and a static size");
    }
    // ncnn: explicit output size wins; otherwise size = (int)(in * scale).
    const bool bySize = outH != 0 && outW != 0;
    if (!bySize) {
        // In float as ncnn computes it, range-checked before the cast: a scale like 3e38 gives
        // an infinite size, and casting that to an integer is undefined behaviour.
        const float fh = static_cast<float>(xs[2]) * hScale;
        const float fw = static_cast<float>(xs[3]) * wScale;
        const auto limit = static_cast<float>(engine::kMaxTensorElements);
        if (!(fh > -limit && fh < limit && fw > -limit && fw < limit)) {
            return makeError(ErrorCode::Corrupt, "Interp scales " + std::to_string(hScale) + " x " +
                                                     std::to_string(wScale) +
                                                     " make an output of " + std::to_string(fh) +
                                                     " x " + std::to_string(fw) + " from " +
                                                     engine::shapeToString(xs) + ", beyond 2^32");
        }
        outH = static_cast<int64_t>(fh);
        outW = static_cast<int64_t>(fw);
    }
    if (outH < 1 || outW < 1) {
        return makeError(ErrorCode::Corrupt, "Interp output size " + std::to_string(outH) + "x" +
                                                 std::to_string(outW) + " is empty");
    }
    Attributes attrs;
    float sh = static_cast<float>(outH) / static_cast<float>(xs[2]);
    float sw = static_cast<float>(outW) / static_cast<float>(xs[3]);
    if (type == 1) {
        // ncnn nearest: src = min(floor(dst * (1/scale)), in-1), i.e. asymmetric + floor, with
        // the file's scale when given (that is what ncnn divides by).
        if (!bySize) {
            sh = hScale;
            sw = wScale;
        }
        attrs.set("mode", std::string("nearest"));
        attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
        attrs.set("nearest_mode", std::string("floor"));
    } else if (type == 2 || type == 3) {
        // ncnn bilinear/bicubic: half-pixel centres (or align_corners), borders clamped,
        // bicubic with A = -0.75: ONNX Resize's defaults with exclude_outside = 0.
        attrs.set("mode", std::string(type == 2 ? "linear" : "cubic"));
        attrs.set("coordinate_transformation_mode",
                  std::string(alignCorner != 0 ? "align_corners" : "half_pixel"));
        attrs.set("nearest_mode", std::string("round_prefer_floor"));
    } else {
        return makeError(ErrorCode::Unsupported, "Interp resize_type " + std::to_string(type) +
                                                     " (1 nearest, 2 bilinear, 3 bicubic)");
    }
    attrs.set("cubic_coeff_a", -0.75f);
    attrs.set("exclude_outside", int64_t(0));
    attrs.set("scales", std::vector<float>{1.0f, 1.0f, sh, sw});
    attrs.set("sizes", std::vector<int64_t>{xs[0], xs[1], outH, outW});
    PL_TRY(emit(OpKind::Resize, layer.name, {x}, layer.tops[0], attrs));
    return {};
}

// ncnn Concat: 0 axis (ncnn's, no batch; negative counts from the end).
Status Importer::concat(const Layer& layer) {
    if (layer.bottoms.empty() || layer.tops.size() != 1) return expectCounts(layer, 2, 1);
    std::vector<ValueId> inputs;
    for (size_t i = 0; i < layer.bottoms.size(); ++i) {
        PL_TRY_ASSIGN(ValueId v, input(layer, i));
        inputs.push_back(v);
    }
    PL_TRY_ASSIGN(int64_t axis, layer.params.getInt(0, 0));
    const int64_t rank = static_cast<int64_t>(shapeOf(inputs[0]).size()) - 1;  // no batch
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return makeError(ErrorCode::Corrupt, "Concat axis out of range");
    Attributes attrs;
    attrs.set("axis", axis + 1);  // ncnn axes skip the batch dim
    PL_TRY(emit(OpKind::Concat, layer.name, inputs, layer.tops[0], attrs));
    return {};
}

// ncnn PixelShuffle: 0 upscale_factor, 1 mode (0 = PyTorch order).
Status Importer::pixelShuffle(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t factor, layer.params.getInt(0, 1));
    PL_TRY_ASSIGN(int64_t mode, layer.params.getInt(1, 0));
    if (factor < 1 || mode != 0) {
        return makeError(ErrorCode::Unsupported,
                         "PixelShuffle needs upscale_factor >= 1 and mode 0 (PyTorch order)");
    }
    Attributes attrs;
    attrs.set("blocksize", factor);
    attrs.set("mode", std::string("CRD"));  // PyTorch pixel_shuffle order = ONNX CRD
    PL_TRY(emit(OpKind::DepthToSpace, layer.name, {x}, layer.tops[0], attrs));
    return {};
}

// ncnn Reshape: 0 w, 1 h, 2 c (-233 = absent, which sets the output's dims; 0 = the input's
// dim of the same name; -1 = inferred), 3 permute (older ncnn: 1 = reshape in HWC order, as
// Caffe/TensorFlow models flatten; newer ncnn ignores it, but a file that sets it was written
// for the old behaviour). 11 d, 6 shape expressions and 12/13 batch axes are not
// read. Output [1, w], [1, h, w] or [1, c, h, w].
Status Importer::reshape(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    if (p.has(11) || p.has(6) || p.has(12) || p.has(13)) {
        return makeError(ErrorCode::Unsupported,
                         "Reshape with d (11), a shape expression (6) or batch axes (12/13)");
    }
    PL_TRY_ASSIGN(int64_t w, p.getInt(0, -233));
    PL_TRY_ASSIGN(int64_t h, p.getInt(1, -233));
    PL_TRY_ASSIGN(int64_t c, p.getInt(2, -233));
    PL_TRY_ASSIGN(int64_t permute, p.getInt(3, 0));
    const Shape xs = shapeOf(x);
    PL_TRY_ASSIGN(int64_t dims, blobDims(xs, "Reshape"));
    const int64_t inW = xs.back(), inH = dims >= 2 ? xs[xs.size() - 2] : 1;
    const int64_t inC = dims == 3 ? xs[1] : 1, total = inW * inH * inC;
    const int ndim = w == -233 ? 0 : h == -233 ? 1 : c == -233 ? 2 : 3;
    if (ndim == 0 || permute < 0 || permute > 1) {
        return makeError(ErrorCode::Corrupt, "Reshape needs w (param 0), and permute 0 or 1");
    }
    std::vector<int64_t> out = {w, h, c};  // only the first ndim count
    out.resize(static_cast<size_t>(ndim));
    const int64_t same[3] = {inW, inH, inC};
    int64_t known = 1;
    int inferred = -1;
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i] == 0) out[i] = same[i];
        if (out[i] == -1 && inferred < 0) {
            inferred = static_cast<int>(i);
        } else if (out[i] < 1) {
            return makeError(ErrorCode::Corrupt, "Reshape w/h/c " + text({w, h, c}) +
                                                     ": only one -1, and no values below -1");
        } else if (__builtin_mul_overflow(known, out[i], &known) || known > total) {
            return makeError(ErrorCode::Corrupt, "Reshape w/h/c " + text({w, h, c}) +
                                                     " asks for more than the " +
                                                     std::to_string(total) + " elements of " +
                                                     engine::shapeToString(xs));
        }
    }
    if (inferred >= 0) {
        if (total % known != 0) {
            return makeError(ErrorCode::Corrupt,
                             "Reshape cannot infer -1: " + std::to_string(total) +
                                 " elements do not divide by " + std::to_string(known));
        }
        out[static_cast<size_t>(inferred)] = total / known;
    }
    int64_t count = 1;
    for (int64_t v : out) count *= v;  // each factor <= total, the product checked above
    if (count != total) {
        return makeError(ErrorCode::Corrupt, "Reshape w/h/c " + text({w, h, c}) + " makes " +
                                                 std::to_string(count) + " elements from " +
                                                 std::to_string(total) + " in " +
                                                 engine::shapeToString(xs));
    }
    const int64_t outW = out[0], outH = ndim >= 2 ? out[1] : 1, outC = ndim == 3 ? out[2] : 1;
    std::vector<int64_t> target = {1, outC, outH, outW};
    target.erase(target.begin() + 1, target.begin() + 1 + (3 - ndim));
    const std::string& top = layer.tops[0];
    // Older ncnn skipped the HWC detour when the outer dim is kept (then the order agrees).
    const bool viaHwc = permute == 1 && dims > 1 && !(dims == 2 && ndim == 2 && inH == outH) &&
                        !(dims == 3 && ndim == 3 && inC == outC);
    Attributes attrs;
    if (!viaHwc) {
        attrs.set("shape", target);
        PL_TRY(emit(OpKind::Reshape, layer.name, {x}, top, attrs));
        return {};
    }
    // CHW -> HWC (2-D: HW -> WH), reshape in that order, then back to CHW.
    attrs.set("perm", dims == 3 ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1});
    PL_TRY_ASSIGN(x, emit(OpKind::Transpose, layer.name + "_to_hwc", {x}, "", attrs));
    Attributes shape;
    shape.set("shape", ndim == 1   ? target
                       : ndim == 2 ? std::vector<int64_t>{1, outW, outH}
                                   : std::vector<int64_t>{1, outH, outW, outC});
    PL_TRY_ASSIGN(x, emit(OpKind::Reshape, layer.name, {x}, ndim == 1 ? top : "", shape));
    if (ndim == 1) return {};
    Attributes back;
    back.set("perm", ndim == 3 ? std::vector<int64_t>{0, 3, 1, 2} : std::vector<int64_t>{0, 2, 1});
    PL_TRY(emit(OpKind::Transpose, layer.name + "_to_chw", {x}, top, back));
    return {};
}

// ncnn Permute: 0 order_type. A 3-D blob's output (w, h, c) takes the input's dims in the
// order 0 (w h c), 1 (h w c), 2 (w c h), 3 (c w h), 4 (h c w), 5 (c h w); a 2-D blob has
// 0 (w h) and 1 (h w).
Status Importer::permute(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t order, layer.params.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t dims, blobDims(shapeOf(x), "Permute"));
    // IR perm [batch, new c, new h, new w] for each order (IR axes: c 1, h 2, w 3).
    static const std::vector<int64_t> kPerm3[] = {{0, 1, 2, 3}, {0, 1, 3, 2}, {0, 2, 1, 3},
                                                  {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 3, 2, 1}};
    const int64_t orders = dims == 3 ? 6 : dims == 2 ? 2 : 1;
    if (order < 0 || order >= orders) {
        return makeError(ErrorCode::Unsupported, "Permute order_type " + std::to_string(order) +
                                                     " on a " + std::to_string(dims) +
                                                     "-D blob (0 to " + std::to_string(orders - 1) +
                                                     ")");
    }
    Attributes attrs;
    attrs.set("perm", dims == 3   ? kPerm3[order]
                      : dims == 2 ? (order == 0 ? std::vector<int64_t>{0, 1, 2}
                                                : std::vector<int64_t>{0, 2, 1})
                                  : std::vector<int64_t>{0, 1});
    PL_TRY(emit(OpKind::Transpose, layer.name, {x}, layer.tops[0], attrs));
    return {};
}

// ncnn Softmax: 0 axis (ncnn's, no batch; negative counts from the end), 1 fixbug0 (ncnn
// refuses axis != 0 without it: files from before its 3-D axis fix must be regenerated).
Status Importer::softmax(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY_ASSIGN(int64_t axis, layer.params.getInt(0, 0));
    PL_TRY_ASSIGN(int64_t fixbug0, layer.params.getInt(1, 0));
    PL_TRY_ASSIGN(int64_t dims, blobDims(shapeOf(x), "Softmax", 4));
    if (fixbug0 != 0 && fixbug0 != 1)
        return makeError(ErrorCode::Corrupt, "fixbug0 must be 0 or 1");
    if (fixbug0 == 0 && axis != 0) {
        return makeError(ErrorCode::Unsupported,
                         "Softmax axis " + std::to_string(axis) +
                             " without fixbug0=1: the file predates ncnn's axis fix (ncnn "
                             "refuses it too); regenerate it");
    }
    const int64_t resolved = axis < 0 ? axis + dims : axis;
    if (resolved < 0 || resolved >= dims) {
        return makeError(ErrorCode::Corrupt, "Softmax axis " + std::to_string(axis) +
                                                 " is outside a " + std::to_string(dims) +
                                                 "-D blob");
    }
    Attributes attrs;
    attrs.set("axis", resolved + 1);
    attrs.set("legacy", int64_t(0));
    PL_TRY(emit(OpKind::Softmax, layer.name, {x}, layer.tops[0], attrs));
    return {};
}

// ncnn Crop, three forms: numpy-style 9 starts / 10 ends / 11 axes (ncnn axes; -233 = open
// end; negative = from the end; an end of 0 also means the end); offsets 0/1/2 woffset/
// hoffset/coffset with 3/4/5 outw/outh/outc (-233 = the rest) and 6/7/8 the far offsets;
// or, with no sizes, a second input whose w/h(/c) give the size. -> Slice.
Status Importer::crop(const Layer& layer) {
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(std::vector<int64_t> starts, p.getInts(9));
    PL_TRY_ASSIGN(std::vector<int64_t> ends, p.getInts(10));
    PL_TRY_ASSIGN(std::vector<int64_t> axes, p.getInts(11));
    int64_t v[9] = {};
    for (int id = 0; id < 9; ++id) {
        PL_TRY_ASSIGN(v[id], p.getInt(id, 0));
    }
    const int64_t* offset = v;       // w h c
    const int64_t* size = v + 3;     // w h c
    const int64_t* offset2 = v + 6;  // w h c
    // Far beyond any blob, and small enough that the offset arithmetic below cannot overflow.
    constexpr int64_t kLimit = int64_t(1) << 40;
    for (const std::vector<int64_t>* list : {&starts, &ends, &axes}) {
        for (int64_t value : *list) {
            if (value > kLimit || value < -kLimit) {
                return makeError(ErrorCode::Corrupt,
                                 "Crop value " + std::to_string(value) + " is out of range");
            }
        }
    }
    for (int64_t value : v) {
        if (value > kLimit || value < -kLimit) {
            return makeError(ErrorCode::Corrupt,
                             "Crop value " + std::to_string(value) + " is out of range");
        }
    }
    const bool numpy = !starts.empty() && !ends.empty();
    const bool reference = !numpy && size[0] == 0 && size[1] == 0 && size[2] == 0;
    PL_TRY(expectCounts(layer, reference ? 2 : 1, 1));
    if (p.has(13) || p.has(14) || p.has(15)) {
        return makeError(ErrorCode::Unsupported, "Crop of a 4-D blob (d offsets/sizes 13-15)");
    }
    if (starts.empty() != ends.empty()) {
        return makeError(ErrorCode::Corrupt, "Crop needs both starts (9) and ends (10)");
    }
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    const Shape xs = shapeOf(x);
    PL_TRY_ASSIGN(int64_t dims, blobDims(xs, "Crop"));
    const auto irAxis = [&](int64_t ncnnAxis) { return ncnnAxis + 1; };  // c/h/w outermost first
    const auto whcAxis = [&](int i) { return static_cast<int64_t>(xs.size()) - 1 - i; };  // w h c
    std::vector<int64_t> sStarts, sEnds, sAxes;
    const auto add = [&](int64_t axis, int64_t begin, int64_t count, const char* what) -> Status {
        const int64_t dim = xs[static_cast<size_t>(axis)];
        if (begin < 0 || count < 1 || begin + count > dim) {
            return makeError(ErrorCode::Corrupt,
                             std::string("Crop ") + what + " takes " + std::to_string(count) +
                                 " from offset " + std::to_string(begin) + " of " +
                                 std::to_string(dim) + " in " + engine::shapeToString(xs));
        }
        if (std::find(sAxes.begin(), sAxes.end(), axis) != sAxes.end()) {
            return makeError(ErrorCode::Corrupt, "Crop names an axis twice");
        }
        sStarts.push_back(begin);
        sEnds.push_back(begin + count);
        sAxes.push_back(axis);
        return {};
    };
    if (numpy) {
        if (axes.empty()) {
            for (int64_t a = 0; a < dims; ++a) axes.push_back(a);
        }
        if (starts.size() != axes.size() || ends.size() != axes.size()) {
            return makeError(ErrorCode::Corrupt, "Crop starts " + text(starts) + ", ends " +
                                                     text(ends) + " and axes " + text(axes) +
                                                     " differ in length");
        }
        for (size_t i = 0; i < axes.size(); ++i) {
            const int64_t a = axes[i] < 0 ? axes[i] + dims : axes[i];
            if (a < 0 || a >= dims) {
                return makeError(ErrorCode::Corrupt, "Crop axis " + std::to_string(axes[i]) +
                                                         " is outside a " + std::to_string(dims) +
                                                         "-D blob");
            }
            const int64_t dim = xs[static_cast<size_t>(irAxis(a))];
            const int64_t start = starts[i] == -233 ? 0 : starts[i];
            const int64_t end = ends[i] == -233 ? dim : ends[i];
            const int64_t begin = start >= 0 ? start : dim + start;
            const int64_t stop = std::min(dim, end > 0 ? end : dim + end);
            PL_TRY(add(irAxis(a), begin, stop - begin, "slice"));
        }
    } else if (reference) {
        PL_TRY_ASSIGN(ValueId ref, input(layer, 1));
        const Shape rs = shapeOf(ref);
        PL_TRY_ASSIGN(int64_t refDims, blobDims(rs, "Crop reference"));
        if (offset[0] == -233) {
            return makeError(ErrorCode::Unsupported,
                             "Crop with offsets read from the reference blob");
        }
        // ncnn: w (and h) from the reference; c from it only when it is 3-D too.
        const int64_t refSize[3] = {rs.back(), refDims >= 2 ? rs[rs.size() - 2] : 1,
                                    refDims == 3 ? rs[1] : xs[1]};
        for (int i = 0; i < dims; ++i) {
            PL_TRY(add(whcAxis(i), offset[i], refSize[i], "to the reference size"));
        }
    } else {
        for (int i = 0; i < dims; ++i) {
            if (offset[i] < 0 || offset2[i] < 0 || (size[i] < 0 && size[i] != -233)) {
                return makeError(ErrorCode::Unsupported,
                                 "Crop offsets/sizes " + text({v, v + 9}) +
                                     ": negative values other than size -233 (the -233 offset "
                                     "forms) are not supported");
            }
            const int64_t dim = xs[static_cast<size_t>(whcAxis(i))];
            int64_t count = dim - offset[i] - offset2[i];
            if (size[i] != -233) count = std::min(size[i], count);
            PL_TRY(add(whcAxis(i), offset[i], count, "offsets"));
        }
    }
    Attributes attrs;
    attrs.set("starts", sStarts);
    attrs.set("ends", sEnds);
    attrs.set("axes", sAxes);
    attrs.set("steps", std::vector<int64_t>(sAxes.size(), 1));
    PL_TRY(emit(OpKind::Slice, layer.name, {x}, layer.tops[0], attrs));
    return {};
}

// ncnn Padding: 0 top, 1 bottom, 2 left, 3 right, 7 front, 8 behind (channels), 4 type
// (0 constant, 1 replicate, 2 reflect without the edge), 5 value, 6 per-channel values.
// As in ncnn, a 1-D blob takes only left/right and a 2-D one no front/behind. -> Pad.
Status Importer::padding(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    const ParamDict& p = layer.params;
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    int64_t v[9] = {};
    for (int id : {0, 1, 2, 3, 4, 6, 7, 8}) {
        PL_TRY_ASSIGN(v[id], p.getInt(id, 0));
    }
    PL_TRY_ASSIGN(float value, p.getFloat(5, 0.0f));
    const int64_t top = v[0], bottom = v[1], left = v[2], right = v[3], type = v[4];
    const int64_t front = v[7], behind = v[8];
    if (v[6] != 0) {
        return makeError(ErrorCode::Unsupported,
                         "Padding with per-channel values (6 = " + std::to_string(v[6]) + ")");
    }
    if (top < 0 || bottom < 0 || left < 0 || right < 0 || front < 0 || behind < 0) {
        const bool dynamic =
            top == bottom && bottom == left && left == right && (top == -233 || top == -234);
        return makeError(dynamic ? ErrorCode::Unsupported : ErrorCode::Corrupt,
                         dynamic ? "Padding with pads read from a second input"
                                 : "Padding with negative pads " +
                                       text({top, bottom, left, right, front, behind}));
    }
    if (type < 0 || type > 2) {
        return makeError(ErrorCode::Unsupported, "Padding type " + std::to_string(type) +
                                                     " (0 constant, 1 replicate, 2 reflect)");
    }
    const Shape xs = shapeOf(x);
    PL_TRY_ASSIGN(int64_t dims, blobDims(xs, "Padding"));
    const size_t rank = xs.size();
    std::vector<int64_t> pads(2 * rank, 0);
    const auto set = [&](size_t axis, int64_t before, int64_t after) -> Status {
        // ncnn's reflect (and ONNX's) mirrors without the edge, so a pad must be < the dim.
        if (type == 2 && (before >= xs[axis] || after >= xs[axis])) {
            return makeError(ErrorCode::Corrupt,
                             "reflect Padding " + std::to_string(before) + "/" +
                                 std::to_string(after) + " needs pads below the size " +
                                 std::to_string(xs[axis]) + " of " + engine::shapeToString(xs));
        }
        pads[axis] = before;
        pads[rank + axis] = after;
        return {};
    };
    PL_TRY(set(rank - 1, left, right));
    if (dims >= 2) PL_TRY(set(rank - 2, top, bottom));
    if (dims == 3) PL_TRY(set(1, front, behind));
    static const char* const kModes[] = {"constant", "edge", "reflect"};
    Attributes attrs;
    attrs.set("pads", pads);
    attrs.set("mode", std::string(kModes[type]));
    attrs.set("value", type == 0 ? value : 0.0f);
    PL_TRY(emit(OpKind::Pad, layer.name, {x}, layer.tops[0], attrs));
    return {};
}

// ncnn Flatten: any blob -> 1-D (c*h*w, row-major) -> IR [1, N].
Status Importer::flatten(const Layer& layer) {
    PL_TRY(expectCounts(layer, 1, 1));
    PL_TRY_ASSIGN(ValueId x, input(layer, 0));
    PL_TRY(blobDims(shapeOf(x), "Flatten", 4));
    Attributes attrs;
    attrs.set("axis", int64_t(1));
    PL_TRY(emit(OpKind::Flatten, layer.name, {x}, layer.tops[0], attrs));
    return {};
}

}  // namespace prunelab::ncnn::internal
