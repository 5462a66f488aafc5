// OpKind: the enum of IR ops, generated from op_list.inc. Kept apart from op.h so the IR
// headers can name ops without pulling in the op contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace prunelab::engine {

enum class OpKind : uint16_t {
#define PL_OP(kind) kind,
#include "engine/ir/op_list.inc"
#undef PL_OP
};

inline constexpr int kOpCount = 0
#define PL_OP(kind) +1
#include "engine/ir/op_list.inc"
#undef PL_OP
    ;

std::string_view opName(OpKind op);                       // "Conv"
std::optional<OpKind> opFromName(std::string_view name);  // IR names (= ONNX names) only

}  // namespace prunelab::engine
