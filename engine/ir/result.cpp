// Error formatting.
#include "engine/ir/result.h"

namespace prunelab::engine {

const char* errorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::InvalidArgument:
            return "invalid argument";
        case ErrorCode::NotFound:
            return "not found";
        case ErrorCode::Unsupported:
            return "unsupported";
        case ErrorCode::Corrupt:
            return "corrupt";
        case ErrorCode::ShapeMismatch:
            return "shape mismatch";
        case ErrorCode::OutOfRange:
            return "out of range";
        case ErrorCode::Io:
            return "I/O error";
        case ErrorCode::Cancelled:
            return "cancelled";
        case ErrorCode::Internal:
            return "internal error";
    }
    return "error";
}

std::string Error::toString() const {
    return context.empty() ? message : context + ": " + message;
}

Error Error::within(const std::string& where) const {
    Error e = *this;
    e.context = context.empty() ? where : where + ": " + context;
    return e;
}

}  // namespace prunelab::engine
