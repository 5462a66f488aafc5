// NumPy .npy files (format 1.0/2.0, little-endian, C order) <-> Tensor: how the CLI takes
// inputs and writes outputs, so results can be checked with any NumPy.
#pragma once

#include <string>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {

// Reads float32/float64/int64/int32/int8/uint8/bool arrays; float64 stays float64.
Result<Tensor> readNpy(const std::string& path);
Status writeNpy(const std::string& path, const Tensor& tensor);

}  // namespace prunelab::engine
