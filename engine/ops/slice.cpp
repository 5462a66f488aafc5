// Slice: takes start, start + step, ... (up to but excluding end) along each listed axis; any
// dtype. The importer resolves ONNX's negative and out-of-range starts/ends, so canonical
// starts/ends/axes/steps (one entry per sliced axis, axes sorted) are exact element indices.
#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

// Number of elements taken along one axis: ceil((end - start) / step), at least 0. Written
// as 1 + (distance - 1) / |step| so that a huge step (INT64_MAX) cannot overflow.
int64_t sliceCount(int64_t start, int64_t end, int64_t step) {
    if (step > 0) return end > start ? 1 + (end - start - 1) / step : 0;
    return start > end ? 1 + (start - end - 1) / -step : 0;
}

struct SliceAxis {
    int64_t start = 0;
    int64_t step = 1;
    int64_t count = 0;
};

// Validates the canonical attributes against the input shape and expands them to one entry
// per input dim (unsliced dims take everything).
Result<std::vector<SliceAxis>> resolve(const Node& node, const Shape& shape) {
    const std::vector<int64_t> starts = node.attrs.getInts("starts");
    const std::vector<int64_t> ends = node.attrs.getInts("ends");
    const std::vector<int64_t> axes = node.attrs.getInts("axes");
    const std::vector<int64_t> steps = node.attrs.getInts("steps");
    if (ends.size() != starts.size() || axes.size() != starts.size() ||
        steps.size() != starts.size()) {
        return makeError(ErrorCode::InvalidArgument,
                         "Slice needs as many starts, ends, axes and steps");
    }
    std::vector<SliceAxis> dims(shape.size());
    std::vector<bool> seen(shape.size(), false);
    for (size_t d = 0; d < shape.size(); ++d) dims[d].count = shape[d];
    for (size_t i = 0; i < axes.size(); ++i) {
        const int64_t a = axes[i];
        if (a < 0 || a >= static_cast<int64_t>(shape.size()) || seen[static_cast<size_t>(a)]) {
            return makeError(ErrorCode::InvalidArgument, "Slice axes " + shapeToString(axes) +
                                                             " do not fit rank " +
                                                             std::to_string(shape.size()));
        }
        seen[static_cast<size_t>(a)] = true;
        const int64_t dim = shape[static_cast<size_t>(a)];
        const int64_t start = starts[i];
        const int64_t end = ends[i];
        const int64_t step = steps[i];
        // Resolved ranges: forward [0, dim]; backward [-1, dim - 1] (end -1 = "past index 0").
        // INT64_MIN is refused too: its negation (used below) does not exist.
        const bool fits = step > 0 ? (start >= 0 && start <= dim && end >= 0 && end <= dim)
                          : step < 0 && step != std::numeric_limits<int64_t>::min()
                              ? (start >= -1 && start < dim && end >= -1 && end < dim)
                              : false;
        if (!fits) {
            return makeError(ErrorCode::InvalidArgument,
                             "Slice of axis " + std::to_string(a) + " (size " +
                                 std::to_string(dim) + ") with start " + std::to_string(start) +
                                 ", end " + std::to_string(end) + ", step " + std::to_string(step) +
                                 " is not a resolved range");
        }
        dims[static_cast<size_t>(a)] = SliceAxis{start, step, sliceCount(start, end, step)};
    }
    return dims;
}

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Slice", in, 1, 1));
    PL_TRY_ASSIGN(std::vector<SliceAxis> dims, resolve(node, in[0].shape));
    out[0].dtype = in[0].dtype;
    out[0].shape.clear();
    for (const SliceAxis& d : dims) out[0].shape.push_back(d.count);
    return {};
}

// Y[i_0, ..., i_n-1] = X[start_0 + i_0 * step_0, ..., start_n-1 + i_n-1 * step_n-1]
// (unsliced dims: start 0, step 1). Walks Y's index in row-major order.
Status reference(const Node& node, std::span<const Tensor* const> in,
                 std::span<Tensor* const> out) {
    const Tensor& x = *in[0];
    Tensor& y = *out[0];
    PL_TRY_ASSIGN(std::vector<SliceAxis> dims, resolve(node, x.shape()));
    const std::vector<int64_t> xStrides = contiguousStrides(x.shape());
    const size_t rank = dims.size();
    const size_t elementSize = dataTypeSize(x.dtype());

    std::vector<int64_t> index(rank, 0);
    for (int64_t o = 0; o < y.elements(); ++o) {
        int64_t src = 0;
        for (size_t d = 0; d < rank; ++d) {
            src += (dims[d].start + index[d] * dims[d].step) * xStrides[d];
        }
        std::memcpy(y.raw() + static_cast<size_t>(o) * elementSize,
                    x.raw() + static_cast<size_t>(src) * elementSize, elementSize);
        for (size_t d = rank; d-- > 0;) {  // next output index
            if (++index[d] < dims[d].count) break;
            index[d] = 0;
        }
    }
    return {};
}

// ONNX -> resolved, per axis of size dim: a negative start/end adds dim; then forward steps
// clamp both to [0, dim], backward steps clamp start to [0, dim - 1] and end to [-1, dim - 1].
// The operands are attributes before opset 10 (no steps) and constant inputs from 10 on.
Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    const Shape& shape = node.inputs[0].shape;
    const int64_t rank = static_cast<int64_t>(shape.size());
    const Attributes& attrs = onnxAttrs(node);
    std::vector<int64_t> starts, ends, axes, steps;
    if (node.opset < 10) {
        starts = attrs.getInts("starts");
        ends = attrs.getInts("ends");
        axes = attrs.getInts("axes");
    } else {
        PL_TRY_ASSIGN(starts, constantInts(node, 1, "Slice's starts"));
        PL_TRY_ASSIGN(ends, constantInts(node, 2, "Slice's ends"));
        if (hasOnnxInput(node, 3)) {
            PL_TRY_ASSIGN(axes, constantInts(node, 3, "Slice's axes"));
        }
        if (hasOnnxInput(node, 4)) {
            PL_TRY_ASSIGN(steps, constantInts(node, 4, "Slice's steps"));
        }
    }
    const size_t n = starts.size();
    if (axes.empty() && (node.opset < 10 ? !attrs.has("axes") : !hasOnnxInput(node, 3))) {
        axes.resize(n);
        std::iota(axes.begin(), axes.end(), 0);
    }
    if (steps.empty() && !hasOnnxInput(node, 4)) steps.assign(n, 1);
    if (ends.size() != n || axes.size() != n || steps.size() != n) {
        return makeError(ErrorCode::InvalidArgument,
                         "Slice needs as many starts, ends, axes and steps");
    }

    struct Entry {
        int64_t axis, start, end, step;
    };
    std::vector<Entry> entries;
    for (size_t i = 0; i < n; ++i) {
        PL_TRY_ASSIGN(int64_t axis, normalizeAxis(axes[i], rank, "Slice axis"));
        const int64_t dim = shape[static_cast<size_t>(axis)];
        const int64_t step = steps[i];
        if (step == 0) return makeError(ErrorCode::InvalidArgument, "Slice step must not be 0");
        // Adding dim to a value near INT64_MIN cannot overflow (dim >= 0), and INT64_MAX
        // ("to the end") is never negative, so these sums are safe.
        int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
        int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
        if (step > 0) {
            start = std::clamp<int64_t>(start, 0, dim);
            end = std::clamp<int64_t>(end, 0, dim);
        } else if (dim == 0) {
            start = -1;  // nothing to take (and [0, dim - 1] would be an empty clamp range)
            end = -1;
        } else {
            start = std::clamp<int64_t>(start, 0, dim - 1);
            end = std::clamp<int64_t>(end, -1, dim - 1);
        }
        entries.push_back({axis, start, end, step});
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.axis < b.axis; });
    for (size_t i = 1; i < entries.size(); ++i) {
        if (entries[i].axis == entries[i - 1].axis) {
            return makeError(ErrorCode::InvalidArgument, "Slice axes repeat an axis");
        }
    }
    std::vector<int64_t> outStarts, outEnds, outAxes, outSteps;
    for (const Entry& e : entries) {
        outAxes.push_back(e.axis);
        outStarts.push_back(e.start);
        outEnds.push_back(e.end);
        outSteps.push_back(e.step);
    }
    result.attrs.set("starts", outStarts);
    result.attrs.set("ends", outEnds);
    result.attrs.set("axes", outAxes);
    result.attrs.set("steps", outSteps);
    return result;
}

// Opset 13: the four operands as constant int64 inputs. A resolved end of -1 (backward, past
// index 0) would read as "the last element" in ONNX, so it is written as INT64_MIN, which
// clamps back to -1 on import.
Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    std::vector<int64_t> ends = node.attrs.getInts("ends");
    const std::vector<int64_t> steps = node.attrs.getInts("steps");
    for (size_t i = 0; i < ends.size(); ++i) {
        if (ends[i] == -1 && i < steps.size() && steps[i] < 0) {
            ends[i] = std::numeric_limits<int64_t>::min();
        }
    }
    OnnxNodeOut slice;
    slice.opType = "Slice";
    slice.inputs = {irOperand(0), constantOperand(int64Vector(node.attrs.getInts("starts"))),
                    constantOperand(int64Vector(ends)),
                    constantOperand(int64Vector(node.attrs.getInts("axes"))),
                    constantOperand(int64Vector(steps))};
    return std::vector<OnnxNodeOut>{slice};
}

}  // namespace

const OpDef kOpDefSlice = {OpKind::Slice, "Slice", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine
