// MatMul: numpy-style matrix product. 1-D operands are promoted (A to a row, B to a column)
// and the added dim removed again; leading batch dims broadcast. Shape inference, the
// reference kernel and the ONNX mapping.
#include <algorithm>

#include "engine/ops/op.h"

namespace prunelab::engine {

namespace {

// Both operands as [batch..., rows, cols], the broadcast batch, and the output shape.
struct MatMulShape {
    Shape aBatch, bBatch, batch;
    int64_t m = 0, k = 0, n = 0;
    Shape out;
};

Result<MatMulShape> matMulShape(const Shape& aIn, const Shape& bIn) {
    if (aIn.empty() || bIn.empty()) {
        return makeError(ErrorCode::ShapeMismatch, "MatMul operands need rank >= 1, got " +
                                                       shapeToString(aIn) + " and " +
                                                       shapeToString(bIn));
    }
    Shape a = aIn, b = bIn;
    if (a.size() == 1) a.insert(a.begin(), 1);  // [K] -> [1, K]
    if (b.size() == 1) b.push_back(1);          // [K] -> [K, 1]
    MatMulShape s;
    s.m = a[a.size() - 2];
    s.k = a.back();
    s.n = b.back();
    if (b[b.size() - 2] != s.k) {
        return makeError(ErrorCode::ShapeMismatch, "A " + shapeToString(aIn) + " has " +
                                                       std::to_string(s.k) + " columns but B " +
                                                       shapeToString(bIn) + " has " +
                                                       std::to_string(b[b.size() - 2]) + " rows");
    }
    s.aBatch.assign(a.begin(), a.end() - 2);
    s.bBatch.assign(b.begin(), b.end() - 2);
    // Broadcast the batch dims from the right.
    const size_t rank = std::max(s.aBatch.size(), s.bBatch.size());
    s.batch.assign(rank, 1);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i < s.aBatch.size() ? s.aBatch[s.aBatch.size() - 1 - i] : 1;
        const int64_t db = i < s.bBatch.size() ? s.bBatch[s.bBatch.size() - 1 - i] : 1;
        if (da != db && da != 1 && db != 1) {
            return makeError(ErrorCode::ShapeMismatch,
                             "MatMul batch dims of " + shapeToString(aIn) + " and " +
                                 shapeToString(bIn) + " do not broadcast");
        }
        s.batch[rank - 1 - i] = da == 1 ? db : da;
    }
    s.out = s.batch;
    if (aIn.size() > 1) s.out.push_back(s.m);
    if (bIn.size() > 1) s.out.push_back(s.n);
    return s;
}

// Flat index of batch element `flat` (of the broadcast `batch`) inside an operand whose own
// batch dims are `operand` (right-aligned; size-1 dims repeat).
int64_t batchOffset(const Shape& batch, const Shape& operand, int64_t flat) {
    int64_t offset = 0, stride = 1;
    for (size_t i = 0; i < batch.size(); ++i) {
        const size_t axis = batch.size() - 1 - i;
        const int64_t index = flat % batch[axis];
        flat /= batch[axis];
        if (i < operand.size()) {
            const int64_t dim = operand[operand.size() - 1 - i];
            offset += (dim == 1 ? 0 : index) * stride;
            stride *= dim;
        }
    }
    return offset;
}

Status inferMatMul(const Node&, std::span<const TensorInfo> in, std::span<TensorInfo> out) {
    if (in.size() != 2 || !in[0].present() || !in[1].present() || out.size() != 1) {
        return makeError(ErrorCode::InvalidArgument, "MatMul takes A and B and has one output");
    }
    for (const TensorInfo& t : in) {
        if (t.dtype != DataType::Float32) {
            return makeError(ErrorCode::Unsupported, "MatMul supports float32 only, got " +
                                                         std::string(dataTypeName(t.dtype)));
        }
    }
    PL_TRY_ASSIGN(MatMulShape s, matMulShape(in[0].shape, in[1].shape));
    out[0].dtype = DataType::Float32;
    out[0].shape = s.out;
    return {};
}

// For every broadcast batch index b:
//   Y[b][m][n] = sum_k A[b][m][k] * B[b][k][n]
// where a 1-D A is the row [1][K] and a 1-D B the column [K][1] (that dim is then dropped),
// and a batch dim of size 1 (or missing) in one operand repeats. Sums run in double.
Status referenceMatMul(const Node&, std::span<const Tensor* const> in,
                       std::span<Tensor* const> out) {
    PL_TRY_ASSIGN(MatMulShape s, matMulShape(in[0]->shape(), in[1]->shape()));
    const float* a = in[0]->data<float>();
    const float* b = in[1]->data<float>();
    float* y = out[0]->data<float>();
    int64_t batches = 1;
    for (int64_t d : s.batch) batches *= d;

    for (int64_t batch = 0; batch < batches; ++batch) {
        const float* aMat = a + batchOffset(s.batch, s.aBatch, batch) * s.m * s.k;
        const float* bMat = b + batchOffset(s.batch, s.bBatch, batch) * s.k * s.n;
        float* yMat = y + batch * s.m * s.n;
        for (int64_t m = 0; m < s.m; ++m) {
            for (int64_t n = 0; n < s.n; ++n) {
                double sum = 0.0;
                for (int64_t k = 0; k < s.k; ++k) {
                    sum += static_cast<double>(aMat[m * s.k + k]) * bMat[k * s.n + n];
                }
                yMat[m * s.n + n] = static_cast<float>(sum);
            }
        }
    }
    return {};
}

Result<OnnxImport> importMatMul(const OnnxNodeIn& node) {
    if (node.inputs.size() != 2) {
        return makeError(ErrorCode::InvalidArgument, "MatMul needs inputs A and B");
    }
    OnnxImport result;
    result.inputs = {0, 1};
    return result;
}

Result<std::vector<OnnxNodeOut>> exportMatMul(const Node&, const Graph&) {
    OnnxNodeOut out;
    out.opType = "MatMul";
    out.inputs = {{OnnxOperand::Kind::IrInput, 0, {}}, {OnnxOperand::Kind::IrInput, 1, {}}};
    return std::vector<OnnxNodeOut>{std::move(out)};
}

}  // namespace

const OpDef kOpDefMatMul = {OpKind::MatMul, "MatMul",     inferMatMul, referenceMatMul,
                            importMatMul,   exportMatMul, {}};

}  // namespace prunelab::engine
