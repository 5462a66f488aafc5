// MaxPool: the largest value in each 2-D window (NCHW), padding counting as -inf. Also the
// pool parameter parsing and ONNX mapping of pool.h, shared with AveragePool.
#include <algorithm>
#include <limits>

#include "engine/ops/conv.h"
#include "engine/ops/op.h"
#include "engine/ops/pool.h"

namespace prunelab::engine {

// ---- Shared pool helpers (pool.h) ----

Result<PoolParams> poolParams(const Node& node, const Shape& x, std::string_view op) {
    if (x.size() != 4) {
        return makeError(ErrorCode::Unsupported, "only 2-D pooling is supported (input has rank " +
                                                     std::to_string(x.size()) + ", expected NCHW)");
    }
    if (!node.attrs.has("kernel_shape")) {
        return makeError(ErrorCode::InvalidArgument, std::string(op) + " needs kernel_shape");
    }
    PL_TRY_ASSIGN(auto kernel, convAttrInts(node.attrs, "kernel_shape", 2, 1, 1, op));
    PL_TRY_ASSIGN(auto strides, convAttrInts(node.attrs, "strides", 2, 1, 1, op));
    PL_TRY_ASSIGN(auto pads, convAttrInts(node.attrs, "pads", 4, 0, 0, op));
    PL_TRY_ASSIGN(auto dilations, convAttrInts(node.attrs, "dilations", 2, 1, 1, op));
    PoolParams p;
    p.batch = x[0];
    p.channels = x[1];
    p.inH = x[2];
    p.inW = x[3];
    p.kernelH = kernel[0];
    p.kernelW = kernel[1];
    p.strideH = strides[0];
    p.strideW = strides[1];
    p.padTop = pads[0];
    p.padLeft = pads[1];
    p.padBottom = pads[2];
    p.padRight = pads[3];
    p.dilationH = dilations[0];
    p.dilationW = dilations[1];
    p.ceilMode = node.attrs.getInt("ceil_mode", 0) != 0;
    p.countIncludePad = node.attrs.getInt("count_include_pad", 0) != 0;
    p.outH = slidingOutputSize(p.inH, p.kernelH, p.strideH, p.dilationH, p.padTop, p.padBottom,
                               p.ceilMode);
    p.outW = slidingOutputSize(p.inW, p.kernelW, p.strideW, p.dilationW, p.padLeft, p.padRight,
                               p.ceilMode);
    if (p.outH < 1 || p.outW < 1) {
        return makeError(ErrorCode::ShapeMismatch,
                         std::string(op) + " window " + shapeToString(kernel) + " (dilations " +
                             shapeToString(dilations) + ") does not fit the padded input " +
                             std::to_string(p.inH + p.padTop + p.padBottom) + "x" +
                             std::to_string(p.inW + p.padLeft + p.padRight));
    }
    return p;
}

Status inferPool(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    const std::string_view op = opName(node.op);
    if (in.size() != 1 || !in[0].present() || out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(op) + " takes one input and has one output");
    }
    if (in[0].dtype != DataType::Float32) {
        return makeError(ErrorCode::Unsupported, std::string(op) + " supports float32 only, got " +
                                                     std::string(dataTypeName(in[0].dtype)));
    }
    PL_TRY_ASSIGN(PoolParams p, poolParams(node, in[0].shape, op));
    out[0].dtype = DataType::Float32;
    out[0].shape = {p.batch, p.channels, p.outH, p.outW};
    return {};
}

Result<OnnxImport> importPool(const OnnxNodeIn& node, bool average) {
    const std::string op(node.opType);
    if (node.inputs.size() != 1 || !node.inputs[0].present()) {
        return makeError(ErrorCode::InvalidArgument, op + " takes one input");
    }
    if (node.outputCount > 1) {
        return makeError(ErrorCode::Unsupported, op + "'s Indices output is not supported");
    }
    const Shape& x = node.inputs[0].shape;
    if (x.size() != 4) {
        return makeError(ErrorCode::Unsupported, "only 2-D pooling is supported (input has rank " +
                                                     std::to_string(x.size()) + ")");
    }
    const Attributes& a = *node.attrs;
    if (!a.has("kernel_shape")) {
        return makeError(ErrorCode::InvalidArgument, op + " needs kernel_shape");
    }
    PL_TRY_ASSIGN(auto kernel, onnxSpatialInts(a, "kernel_shape", 2, 1, op));
    PL_TRY_ASSIGN(auto strides, onnxSpatialInts(a, "strides", 2, 1, op));
    PL_TRY_ASSIGN(auto dilations, onnxSpatialInts(a, "dilations", 2, 1, op));
    PL_TRY_ASSIGN(auto pads, onnxResolveAutoPad(a, x[2], x[3], kernel, strides, dilations, op));
    OnnxImport result;
    result.attrs.set("kernel_shape", kernel);
    result.attrs.set("strides", strides);
    result.attrs.set("pads", pads);
    result.attrs.set("dilations", dilations);
    result.attrs.set("ceil_mode", a.getInt("ceil_mode", 0) != 0 ? int64_t(1) : int64_t(0));
    if (average) {
        result.attrs.set("count_include_pad",
                         a.getInt("count_include_pad", 0) != 0 ? int64_t(1) : int64_t(0));
    }
    result.inputs = {0};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportPool(const Node& node, const Graph& graph,
                                            std::string_view opType, bool average) {
    if (node.inputs.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, std::string(opType) + " takes one input");
    }
    PL_TRY_ASSIGN(PoolParams p, poolParams(node, graph.value(node.inputs[0]).shape, opType));
    OnnxNodeOut out;
    out.opType = std::string(opType);
    out.attrs.set("kernel_shape", std::vector<int64_t>{p.kernelH, p.kernelW});
    out.attrs.set("strides", std::vector<int64_t>{p.strideH, p.strideW});
    out.attrs.set("pads", std::vector<int64_t>{p.padTop, p.padLeft, p.padBottom, p.padRight});
    out.attrs.set("ceil_mode", int64_t(p.ceilMode ? 1 : 0));
    if (average) {
        // AveragePool gained dilations only in opset 19; at opset 13 they must be 1.
        if (p.dilationH != 1 || p.dilationW != 1) {
            return makeError(ErrorCode::Unsupported,
                             "AveragePool with dilations needs ONNX opset 19; the export writes "
                             "opset " +
                                 std::to_string(kOnnxExportOpset));
        }
        out.attrs.set("count_include_pad", int64_t(p.countIncludePad ? 1 : 0));
    } else {
        out.attrs.set("dilations", std::vector<int64_t>{p.dilationH, p.dilationW});
    }
    out.inputs = {{OnnxOperand::Kind::IrInput, 0, {}}};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

// ---- MaxPool ----

namespace {

// y[n][c][oh][ow] = max over kh < kernelH, kw < kernelW of
//     x[n][c][oh*strideH - padTop + kh*dilationH][ow*strideW - padLeft + kw*dilationW]
// where positions outside the input are -inf (so padding never wins; a window that sees
// only padding gives -inf).
Status referenceMaxPool(const Node& node, std::span<const Tensor* const> in,
                        std::span<Tensor* const> out) {
    PL_TRY_ASSIGN(PoolParams p, poolParams(node, in[0]->shape(), "MaxPool"));
    const float* x = in[0]->data<float>();
    float* y = out[0]->data<float>();
    for (int64_t nc = 0; nc < p.batch * p.channels; ++nc) {
        const float* plane = x + nc * p.inH * p.inW;
        for (int64_t oh = 0; oh < p.outH; ++oh) {
            for (int64_t ow = 0; ow < p.outW; ++ow) {
                float best = -std::numeric_limits<float>::infinity();
                for (int64_t kh = 0; kh < p.kernelH; ++kh) {
                    const int64_t ih = oh * p.strideH - p.padTop + kh * p.dilationH;
                    if (ih < 0 || ih >= p.inH) continue;
                    for (int64_t kw = 0; kw < p.kernelW; ++kw) {
                        const int64_t iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
                        if (iw < 0 || iw >= p.inW) continue;
                        best = std::max(best, plane[ih * p.inW + iw]);
                    }
                }
                y[(nc * p.outH + oh) * p.outW + ow] = best;
            }
        }
    }
    return {};
}

Result<OnnxImport> importMaxPool(const OnnxNodeIn& node) {
    return importPool(node, false);
}

Result<std::vector<OnnxNodeOut>> exportMaxPool(const Node& node, const Graph& graph) {
    return exportPool(node, graph, "MaxPool", false);
}

}  // namespace

const OpDef kOpDefMaxPool = {OpKind::MaxPool, "MaxPool",     inferPool, referenceMaxPool,
                             importMaxPool,   exportMaxPool, {}};

}  // namespace prunelab::engine
