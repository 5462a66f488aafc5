// GlobalAveragePool: placeholder until its shape inference, reference kernel and ONNX mapping land.
#include "engine/ops/op.h"

namespace prunelab::engine {

const OpDef kOpDefGlobalAveragePool = {OpKind::GlobalAveragePool, "GlobalAveragePool"};

}  // namespace prunelab::engine
