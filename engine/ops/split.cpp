// Split: placeholder until its shape inference, reference kernel and ONNX mapping land.
#include "engine/ops/op.h"

namespace prunelab::engine {

const OpDef kOpDefSplit = {OpKind::Split, "Split"};

}  // namespace prunelab::engine
