// Checks shared by the export and real-model tests: onnx's checker on exported bytes, and the
// round trip export -> import -> bit-identical reference outputs.
#pragma once

#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace prunelab::engine::testing {

// Runs onnx's strict checker (check_model) on serialised model bytes; a gtest failure names
// the checker's message.
void expectPassesOnnxChecker(const std::string& bytes);

// Exports `graph`, checks the file, imports it again and compares: the same ops in the same
// order, and reference outputs on `inputs` identical bit for bit.
void expectRoundTripIdentical(const Graph& graph, const std::vector<Tensor>& inputs);

}  // namespace prunelab::engine::testing
