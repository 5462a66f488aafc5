// HardSigmoid: placeholder until its shape inference, reference kernel and ONNX mapping land.
#include "engine/ops/op.h"

namespace prunelab::engine {

const OpDef kOpDefHardSigmoid = {OpKind::HardSigmoid, "HardSigmoid"};

}  // namespace prunelab::engine
