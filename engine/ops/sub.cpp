// Sub: placeholder until its shape inference, reference kernel and ONNX mapping land.
#include "engine/ops/op.h"

namespace prunelab::engine {

const OpDef kOpDefSub = {OpKind::Sub, "Sub"};

}  // namespace prunelab::engine
