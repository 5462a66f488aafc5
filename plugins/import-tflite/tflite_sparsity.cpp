// TFLite's sparse tensor storage (a variant of the TACO format) decoded to a dense tensor with
// zeros, so a model pruned by its author (face_detection_full_range_sparse) imports as pruned
// layers. Every size, permutation, segment and index is checked: the metadata is untrusted.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "plugins/import-tflite/tflite_internal.h"

namespace prunelab::tflite::internal {

using engine::ErrorCode;
using engine::makeError;
using engine::Result;
using engine::Status;

namespace {

// A sparse dimension's segments or indices, whichever integer width the file chose.
Result<std::vector<int64_t>> indexVector(::tflite::SparseIndexVector type, const void* table,
                                         const std::string& what) {
    std::vector<int64_t> out;
    auto copy = [&](const auto* vec) -> bool {
        if (vec == nullptr || vec->values() == nullptr) return false;
        out.assign(vec->values()->begin(), vec->values()->end());
        return true;
    };
    bool ok = false;
    switch (type) {
        case ::tflite::SparseIndexVector::Int32Vector:
            ok = copy(static_cast<const ::tflite::Int32Vector*>(table));
            break;
        case ::tflite::SparseIndexVector::Uint16Vector:
            ok = copy(static_cast<const ::tflite::Uint16Vector*>(table));
            break;
        case ::tflite::SparseIndexVector::Uint8Vector:
            ok = copy(static_cast<const ::tflite::Uint8Vector*>(table));
            break;
        default:
            break;
    }
    if (!ok) return makeError(ErrorCode::Corrupt, what + " is missing");
    return out;
}

}  // namespace

// The traversal visits levels 0..n+k-1 in `traversal_order`; each level is DENSE (every
// coordinate 0..dense_size-1) or SPARSE_CSR (the coordinates array_indices[segments[p] ..
// segments[p+1]) for the parent position p). A stored value's position in the last level is
// its index in the stored data. Block dimension n+b (block_map[b] = original dim o) holds the
// offset inside a block, so o's coordinate is outer * blockSize + inner.
Result<std::vector<uint8_t>> densify(const ::tflite::SparsityParameters& sparsity,
                                     const std::vector<int64_t>& shape, const uint8_t* stored,
                                     size_t storedBytes, size_t elementSize) {
    const auto n = static_cast<int64_t>(shape.size());
    if (sparsity.traversal_order() == nullptr || sparsity.dim_metadata() == nullptr) {
        return makeError(ErrorCode::Corrupt, "traversal_order and dim_metadata are required");
    }
    const std::vector<int64_t> order(sparsity.traversal_order()->begin(),
                                     sparsity.traversal_order()->end());
    std::vector<int64_t> blockMap;
    if (sparsity.block_map() != nullptr) {
        blockMap.assign(sparsity.block_map()->begin(), sparsity.block_map()->end());
    }
    const auto k = static_cast<int64_t>(blockMap.size());
    const int64_t levels = n + k;
    if (n == 0 || k > n || static_cast<int64_t>(order.size()) != levels ||
        static_cast<int64_t>(sparsity.dim_metadata()->size()) != levels) {
        return makeError(ErrorCode::Corrupt,
                         "a rank-" + std::to_string(n) + " tensor with " + std::to_string(k) +
                             " block dims needs " + std::to_string(levels) +
                             " traversal_order and dim_metadata entries, the file has " +
                             std::to_string(order.size()) + " and " +
                             std::to_string(sparsity.dim_metadata()->size()));
    }
    // The first n levels are a permutation of 0..n-1, the last k one of n..n+k-1.
    std::vector<bool> seen(static_cast<size_t>(levels), false);
    for (int64_t l = 0; l < levels; ++l) {
        const int64_t d = order[static_cast<size_t>(l)];
        const bool inRange = l < n ? (d >= 0 && d < n) : (d >= n && d < levels);
        if (!inRange || seen[static_cast<size_t>(d)]) {
            return makeError(ErrorCode::Corrupt, "traversal_order " + engine::shapeToString(order) +
                                                     " is not a valid permutation");
        }
        seen[static_cast<size_t>(d)] = true;
    }
    // Size of each expanded dimension, from the dense levels' dense_size.
    std::vector<int64_t> blockSize(static_cast<size_t>(n), 1);
    std::vector<int64_t> blockOf(static_cast<size_t>(n), -1);
    for (int64_t b = 0; b < k; ++b) {
        const int64_t o = blockMap[static_cast<size_t>(b)];
        if (o < 0 || o >= n || blockOf[static_cast<size_t>(o)] >= 0) {
            return makeError(ErrorCode::Corrupt,
                             "block_map " + engine::shapeToString(blockMap) + " is not valid");
        }
        blockOf[static_cast<size_t>(o)] = b;
    }
    std::vector<const ::tflite::DimensionMetadata*> meta(static_cast<size_t>(levels));
    std::vector<int64_t> levelOf(static_cast<size_t>(levels));  // expanded dim -> level
    for (int64_t l = 0; l < levels; ++l) {
        meta[static_cast<size_t>(l)] =
            sparsity.dim_metadata()->Get(static_cast<flatbuffers::uoffset_t>(l));
        if (meta[static_cast<size_t>(l)] == nullptr) {
            return makeError(ErrorCode::Corrupt,
                             "dim_metadata " + std::to_string(l) + " is missing");
        }
        levelOf[static_cast<size_t>(order[static_cast<size_t>(l)])] = l;
    }
    for (int64_t b = 0; b < k; ++b) {
        const auto* m = meta[static_cast<size_t>(levelOf[static_cast<size_t>(n + b)])];
        const int64_t o = blockMap[static_cast<size_t>(b)];
        if (m->format() != ::tflite::DimensionType::DENSE || m->dense_size() < 1 ||
            shape[static_cast<size_t>(o)] % m->dense_size() != 0) {
            return makeError(ErrorCode::Corrupt,
                             "block dimension " + std::to_string(n + b) +
                                 " must be dense with a size dividing dim " + std::to_string(o) +
                                 " (" + std::to_string(shape[static_cast<size_t>(o)]) + ")");
        }
        blockSize[static_cast<size_t>(o)] = m->dense_size();
    }
    std::vector<int64_t> expanded(static_cast<size_t>(levels));
    for (int64_t d = 0; d < levels; ++d) {
        expanded[static_cast<size_t>(d)] =
            d < n ? shape[static_cast<size_t>(d)] / blockSize[static_cast<size_t>(d)]
                  : blockSize[static_cast<size_t>(blockMap[static_cast<size_t>(d - n)])];
    }

    // Walk level by level: positions[l] = for each position at level l, its coordinates.
    // Positions are kept as (parent position, coordinate) pairs, so memory is bounded by the
    // dense size (checked) plus the stored indices.
    int64_t denseElements = 1;
    for (int64_t d : shape) denseElements *= d;
    // The walk keeps two int64 per position; a small file must not claim a huge dense tensor.
    constexpr int64_t kMaxSparseElements = int64_t(1) << 24;
    if (denseElements > kMaxSparseElements) {
        return makeError(ErrorCode::Unsupported,
                         "a sparse tensor of shape " + engine::shapeToString(shape) +
                             " is over the 16M-element limit for sparse weights");
    }
    std::vector<std::vector<int64_t>> coordinate(static_cast<size_t>(levels));
    std::vector<std::vector<int64_t>> parent(static_cast<size_t>(levels));
    int64_t count = 1;  // positions at the level above (the root has one)
    for (int64_t l = 0; l < levels; ++l) {
        const auto* m = meta[static_cast<size_t>(l)];
        const int64_t size = expanded[static_cast<size_t>(order[static_cast<size_t>(l)])];
        const std::string where = "dim_metadata " + std::to_string(l);
        auto& coord = coordinate[static_cast<size_t>(l)];
        auto& par = parent[static_cast<size_t>(l)];
        if (m->format() == ::tflite::DimensionType::DENSE) {
            if (m->dense_size() != size) {
                return makeError(ErrorCode::Corrupt, where + ": dense_size " +
                                                         std::to_string(m->dense_size()) +
                                                         " does not match the dimension's size " +
                                                         std::to_string(size));
            }
            if (count > denseElements / std::max<int64_t>(size, 1)) {
                return makeError(ErrorCode::Corrupt, where + ": more positions than elements");
            }
            coord.reserve(static_cast<size_t>(count * size));
            for (int64_t p = 0; p < count; ++p) {
                for (int64_t i = 0; i < size; ++i) {
                    coord.push_back(i);
                    par.push_back(p);
                }
            }
        } else if (m->format() == ::tflite::DimensionType::SPARSE_CSR) {
            PL_TRY_ASSIGN(std::vector<int64_t> segments,
                          indexVector(m->array_segments_type(), m->array_segments(),
                                      where + " array_segments"));
            PL_TRY_ASSIGN(
                std::vector<int64_t> indices,
                indexVector(m->array_indices_type(), m->array_indices(), where + " array_indices"));
            if (static_cast<int64_t>(segments.size()) != count + 1 || segments.front() != 0 ||
                segments.back() != static_cast<int64_t>(indices.size())) {
                return makeError(ErrorCode::Corrupt,
                                 where + ": " + std::to_string(segments.size()) +
                                     " array_segments for " + std::to_string(count) +
                                     " parent positions (want count + 1, from 0 to the " +
                                     std::to_string(indices.size()) + " indices)");
            }
            for (int64_t p = 0; p < count; ++p) {
                const int64_t begin = segments[static_cast<size_t>(p)];
                const int64_t end = segments[static_cast<size_t>(p + 1)];
                if (end < begin || end - begin > size) {
                    return makeError(ErrorCode::Corrupt,
                                     where +
                                         ": array_segments decrease or exceed the "
                                         "dimension's size at position " +
                                         std::to_string(p));
                }
                for (int64_t j = begin; j < end; ++j) {
                    const int64_t i = indices[static_cast<size_t>(j)];
                    if (i < 0 || i >= size ||
                        (j > begin && i <= indices[static_cast<size_t>(j - 1)])) {
                        return makeError(ErrorCode::Corrupt,
                                         where + ": array_indices[" + std::to_string(j) +
                                             "] = " + std::to_string(i) +
                                             " is out of range or not increasing (size " +
                                             std::to_string(size) + ")");
                    }
                    coord.push_back(i);
                    par.push_back(p);
                }
            }
        } else {
            return makeError(ErrorCode::Corrupt, where + ": unknown format");
        }
        count = static_cast<int64_t>(coord.size());
    }
    if (static_cast<uint64_t>(count) * elementSize != storedBytes) {
        return makeError(ErrorCode::Corrupt, "the metadata addresses " + std::to_string(count) +
                                                 " stored values, the buffer holds " +
                                                 std::to_string(storedBytes) + " bytes");
    }
    // Scatter: walk each stored value's chain of parents up to the root.
    std::vector<int64_t> strides(static_cast<size_t>(n), 1);
    for (int64_t d = n - 2; d >= 0; --d) {
        strides[static_cast<size_t>(d)] =
            strides[static_cast<size_t>(d + 1)] * shape[static_cast<size_t>(d + 1)];
    }
    std::vector<uint8_t> dense(static_cast<size_t>(denseElements) * elementSize, 0);
    std::vector<int64_t> expandedCoord(static_cast<size_t>(levels));
    std::vector<bool> written(static_cast<size_t>(denseElements), false);
    for (int64_t v = 0; v < count; ++v) {
        int64_t p = v;
        for (int64_t l = levels - 1; l >= 0; --l) {
            expandedCoord[static_cast<size_t>(order[static_cast<size_t>(l)])] =
                coordinate[static_cast<size_t>(l)][static_cast<size_t>(p)];
            p = parent[static_cast<size_t>(l)][static_cast<size_t>(p)];
        }
        int64_t offset = 0;
        for (int64_t d = 0; d < n; ++d) {
            int64_t c = expandedCoord[static_cast<size_t>(d)];
            if (blockOf[static_cast<size_t>(d)] >= 0) {
                c = c * blockSize[static_cast<size_t>(d)] +
                    expandedCoord[static_cast<size_t>(n + blockOf[static_cast<size_t>(d)])];
            }
            offset += c * strides[static_cast<size_t>(d)];
        }
        if (written[static_cast<size_t>(offset)]) {
            return makeError(ErrorCode::Corrupt, "two stored values land on the same element");
        }
        written[static_cast<size_t>(offset)] = true;
        std::memcpy(dense.data() + static_cast<size_t>(offset) * elementSize,
                    stored + static_cast<size_t>(v) * elementSize, elementSize);
    }
    return dense;
}

}  // namespace prunelab::tflite::internal
