// LeakyRelu: placeholder until its shape inference, reference kernel and ONNX mapping land.
#include "engine/ops/op.h"

namespace prunelab::engine {

const OpDef kOpDefLeakyRelu = {OpKind::LeakyRelu, "LeakyRelu"};

}  // namespace prunelab::engine
