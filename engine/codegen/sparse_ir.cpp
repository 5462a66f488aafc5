// Names of the sparse IR's enums, for dumps, decisions and generated code's comments.
#include "engine/codegen/sparse_ir.h"

namespace prunelab::engine::codegen {

const char* kernelKindName(KernelKind kind) {
    switch (kind) {
        case KernelKind::Dense:
            return "dense";
        case KernelKind::Pattern:
            return "pattern";
        case KernelKind::TileWise:
            return "tile-wise";
        case KernelKind::Csr:
            return "csr";
    }
    return "unknown";
}

}  // namespace prunelab::engine::codegen
