// The op names, from the one op list (op_list.inc): what describeNode and the importers print.
#include "engine/ir/op_kind.h"

#include <array>

namespace prunelab::engine {

namespace {

constexpr std::array<std::string_view, kOpCount> kNames = {
#define PL_OP(kind) #kind,
#include "engine/ir/op_list.inc"
#undef PL_OP
};

}  // namespace

std::string_view opName(OpKind op) {
    auto i = static_cast<size_t>(op);
    return i < kNames.size() ? kNames[i] : std::string_view("?");
}

std::optional<OpKind> opFromName(std::string_view name) {
    for (size_t i = 0; i < kNames.size(); ++i) {
        if (kNames[i] == name) return static_cast<OpKind>(i);
    }
    return std::nullopt;
}

}  // namespace prunelab::engine
