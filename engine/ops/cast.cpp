// Cast: converts X element by element to the dtype in `to` (an engine DataType as int64),
// between float32, float64, int64, int32, int8, uint8 and bool.
#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/ops/elementwise.h"
#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

bool castable(DataType t) {
    switch (t) {
        case DataType::Float32:
        case DataType::Float64:
        case DataType::Int64:
        case DataType::Int32:
        case DataType::Int8:
        case DataType::UInt8:
        case DataType::Bool:
            return true;
        default:
            return false;
    }
}

Status infer(const Node& node, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    PL_TRY(expectInputs("Cast", in, 1, 1));
    const int64_t to = node.attrs.getInt("to", -1);
    const DataType target = static_cast<DataType>(to);
    if (to < 0 || to > static_cast<int64_t>(DataType::Bool) || !castable(target)) {
        return makeError(ErrorCode::Unsupported,
                         "Cast to type " + std::to_string(to) + " is not supported");
    }
    if (!castable(in[0].dtype)) {
        return makeError(ErrorCode::Unsupported, "Cast from " + dtypeText(in[0].dtype));
    }
    out[0].dtype = target;
    out[0].shape = in[0].shape;
    return {};
}

// One element. To bool: x != 0. From a float to an integer: truncation toward zero, as in
// C++ and ONNX Runtime; NaN and values outside the target's range saturate, because the
// plain C++ conversion would be undefined behaviour there. Between integers: two's
// complement wrap-around (C++20 defines it).
template <class Dst, class Src>
Dst convert(Src x) {
    if constexpr (std::is_same_v<Dst, bool>) {
        return x != Src(0);
    } else if constexpr (std::is_floating_point_v<Src> && std::is_integral_v<Dst>) {
        if (std::isnan(x)) return Dst(0);
        constexpr double lo = static_cast<double>(std::numeric_limits<Dst>::min());
        constexpr double hi = static_cast<double>(std::numeric_limits<Dst>::max());
        const double t = std::trunc(static_cast<double>(x));
        if (t <= lo) return std::numeric_limits<Dst>::min();
        if (t >= hi) return std::numeric_limits<Dst>::max();
        return static_cast<Dst>(t);
    } else {
        return static_cast<Dst>(x);
    }
}

// Bool tensors hold one byte, 0 or 1; read and write them through uint8_t storage.
template <class T>
struct Storage {
    using type = T;
};
template <>
struct Storage<bool> {
    using type = uint8_t;
};

template <class Dst, class Src>
void castLoop(const Tensor& x, Tensor& y) {
    const auto* src = x.data<typename Storage<Src>::type>();
    auto* dst = y.data<typename Storage<Dst>::type>();
    for (int64_t i = 0; i < x.elements(); ++i) {
        const Src value = static_cast<Src>(src[i]);
        dst[i] = static_cast<typename Storage<Dst>::type>(convert<Dst>(value));
    }
}

template <class Src>
Status castFrom(const Tensor& x, Tensor& y) {
    switch (y.dtype()) {
        case DataType::Float32:
            castLoop<float, Src>(x, y);
            break;
        case DataType::Float64:
            castLoop<double, Src>(x, y);
            break;
        case DataType::Int64:
            castLoop<int64_t, Src>(x, y);
            break;
        case DataType::Int32:
            castLoop<int32_t, Src>(x, y);
            break;
        case DataType::Int8:
            castLoop<int8_t, Src>(x, y);
            break;
        case DataType::UInt8:
            castLoop<uint8_t, Src>(x, y);
            break;
        case DataType::Bool:
            castLoop<bool, Src>(x, y);
            break;
        default:
            return makeError(ErrorCode::Unsupported, "Cast to " + dtypeText(y.dtype()));
    }
    return {};
}

// Y[i] = convert<to>(X[i]); see convert() for the rules.
Status reference(const Node&, std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    const Tensor& x = *in[0];
    Tensor& y = *out[0];
    switch (x.dtype()) {
        case DataType::Float32:
            return castFrom<float>(x, y);
        case DataType::Float64:
            return castFrom<double>(x, y);
        case DataType::Int64:
            return castFrom<int64_t>(x, y);
        case DataType::Int32:
            return castFrom<int32_t>(x, y);
        case DataType::Int8:
            return castFrom<int8_t>(x, y);
        case DataType::UInt8:
            return castFrom<uint8_t>(x, y);
        case DataType::Bool:
            return castFrom<bool>(x, y);
        default:
            return makeError(ErrorCode::Unsupported, "Cast from " + dtypeText(x.dtype()));
    }
}

// ONNX TensorProto.DataType values.
constexpr int64_t kOnnxFloat = 1;
constexpr int64_t kOnnxUInt8 = 2;
constexpr int64_t kOnnxInt8 = 3;
constexpr int64_t kOnnxInt32 = 6;
constexpr int64_t kOnnxInt64 = 7;
constexpr int64_t kOnnxBool = 9;
constexpr int64_t kOnnxFloat16 = 10;
constexpr int64_t kOnnxDouble = 11;

Result<DataType> fromOnnxType(int64_t onnx) {
    switch (onnx) {
        case kOnnxFloat:
            return DataType::Float32;
        case kOnnxUInt8:
            return DataType::UInt8;
        case kOnnxInt8:
            return DataType::Int8;
        case kOnnxInt32:
            return DataType::Int32;
        case kOnnxInt64:
            return DataType::Int64;
        case kOnnxBool:
            return DataType::Bool;
        // The engine computes in float32 and the importers widen float16 tensors to float32,
        // so a cast to float16 stays float32 (its rounding is not simulated).
        case kOnnxFloat16:
            return DataType::Float32;
        case kOnnxDouble:
            return DataType::Float64;
        default:
            return makeError(ErrorCode::Unsupported,
                             "Cast to ONNX type " + std::to_string(onnx) + " is not supported");
    }
}

Result<int64_t> toOnnxType(DataType type) {
    switch (type) {
        case DataType::Float32:
            return kOnnxFloat;
        case DataType::UInt8:
            return kOnnxUInt8;
        case DataType::Int8:
            return kOnnxInt8;
        case DataType::Int32:
            return kOnnxInt32;
        case DataType::Int64:
            return kOnnxInt64;
        case DataType::Bool:
            return kOnnxBool;
        case DataType::Float64:
            return kOnnxDouble;
        default:
            return makeError(ErrorCode::Unsupported,
                             "Cast to " + dtypeText(type) + " cannot be exported");
    }
}

Result<OnnxImport> importOnnx(const OnnxNodeIn& node) {
    PL_TRY_ASSIGN(OnnxImport result, importFirstInput(node));
    if (!onnxAttrs(node).has("to")) {
        return makeError(ErrorCode::InvalidArgument, "Cast needs a `to` attribute");
    }
    PL_TRY_ASSIGN(DataType to, fromOnnxType(onnxAttrs(node).getInt("to")));
    result.attrs.set("to", static_cast<int64_t>(to));
    return result;
}

Result<std::vector<OnnxNodeOut>> exportOnnx(const Node& node, const Graph&) {
    PL_TRY_ASSIGN(int64_t to, toOnnxType(static_cast<DataType>(node.attrs.getInt("to", 0))));
    OnnxNodeOut cast;
    cast.opType = "Cast";
    cast.attrs.set("to", to);
    cast.inputs = {irOperand(0)};
    return std::vector<OnnxNodeOut>{cast};
}

}  // namespace

const OpDef kOpDefCast = {OpKind::Cast, "Cast", infer, reference, importOnnx, exportOnnx, {}};

}  // namespace prunelab::engine
