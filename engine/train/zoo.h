// Small models the trainer creates from scratch for labs: LeNet-5 and a small VGG-style net for
// 28x28 grey inputs (Fashion-MNIST, MNIST). Plain IR graphs, exportable like any other model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::engine::train {

// LeNet-5 (LeCun et al. 1998, modernised: ReLU and max-pool): conv 5x5 6 (pad 2) -> pool ->
// conv 5x5 16 -> pool -> fc 120 -> fc 84 -> fc 10. Input "image" [1, 1, 28, 28], output
// "logits" [1, 10]. 61.7K weights.
Result<Graph> buildLenet5(uint32_t seed);

// vgg-small: 6 conv 3x3 layers with BatchNormalization and ReLU (32, 32, pool, 64, 64, pool,
// 128, 128, pool), global average pool, fc 10. Input "image" [1, 1, 28, 28], output "logits".
// BatchNormalization stays a node (trained with batch statistics; the importer folds it into
// the conv when the exported model is read back).
Result<Graph> buildVggSmall(uint32_t seed);

// "lenet5" | "vgg-small"; NotFound lists the names.
Result<Graph> buildArch(const std::string& name, uint32_t seed);
std::vector<std::string> archNames();

}  // namespace prunelab::engine::train
