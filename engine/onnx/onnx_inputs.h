// A quick look at an ONNX file's declared inputs (names, dtypes, dims with -1 for dynamic),
// before import: callers use it to decide how to bind dynamic dims (e.g. the CLI's --size).
#pragma once

#include <string>
#include <vector>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {

struct OnnxDeclaredInput {
    std::string name;
    DataType dtype = DataType::Undefined;
    Shape shape;  // -1 for a dynamic dim
};

// Graph inputs that are not initializers, in file order.
Result<std::vector<OnnxDeclaredInput>> readOnnxInputs(const std::string& path);

// Binds an image size into a declared input shape: a 4-D input's spatial dims (layout guessed
// from which dim is 1 or 3 channels) become height x width; a dynamic leading dim becomes 1.
// Dims already fixed in the file are kept when height/width are 0.
Shape bindImageSize(const Shape& declared, int64_t height, int64_t width);

}  // namespace prunelab::engine
