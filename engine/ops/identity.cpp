// Identity: placeholder until its shape inference, reference kernel and ONNX mapping land.
#include "engine/ops/op.h"

namespace prunelab::engine {

const OpDef kOpDefIdentity = {OpKind::Identity, "Identity"};

}  // namespace prunelab::engine
