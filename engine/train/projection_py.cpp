// The embedded prunelab_projection.py (see projection_py.h); the header is generated.
#include "engine/train/projection_py.h"

#include "prunelab_projection_py.h"

namespace prunelab::engine::train {

std::string_view prunelabProjectionPy() {
    return kPrunelabProjectionPy;
}

}  // namespace prunelab::engine::train
