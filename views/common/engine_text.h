// Engine values as text a person reads in the workbench: errors (with the file or layer they
// name), shapes and large counts. Every view reports engine errors through here.
#pragma once

#include <QString>

#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::views {

// "model.onnx: node 'conv1' (Conv): initializer has 12 bytes, expected 36".
QString errorText(const engine::Error& error);
// "1x3x128x128"; "scalar" for rank 0.
QString shapeText(const engine::Shape& shape);
// 1234567 -> "1.23 M", 1234 -> "1.23 k", 12 -> "12": table cells stay narrow.
QString countText(int64_t count);

}  // namespace prunelab::views
