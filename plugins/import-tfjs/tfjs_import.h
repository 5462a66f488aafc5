// TensorFlow.js importer: a model.json ("graph-model" or "layers-model") with its weights
// manifest and binary shards into the engine's canonical IR, so models published for the web
// can be pruned and compiled like any other. Thread-safe: no shared state. Never throws; every
// error names the file and the node, layer or weight.
#pragma once

#include <cstdint>
#include <string>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::tfjs {

// Reads `modelJsonPath` and the shards its weightsManifest lists (paths relative to its folder).
// Inputs keep the layout the model declares (NHWC for images): a dim the model leaves open is
// bound to 1 for the batch, `height` and `width` for the spatial dims (both must then be >= 1).
// Internally 4-D activations are converted to the IR's NCHW once, and converted back only where
// an op or a graph output needs NHWC. Outputs: the model's signature outputs when it has one,
// else the tensors nobody reads (graph models) or the model's output layers (layers models);
// each output value is named as tfjs names it ("Identity_1", "dense/Softmax").
// Weights: float32, int32 and bool, float16 and uint8/uint16 quantisation dequantised to float32.
// Refused: a duplicate weight name (tfjs silently keeps the last), a shard shorter than its
// manifest, a shard path outside the model's folder ("../x", absolute, or a symlink that leads
// out), an unknown op or layer (named), a bad dtype or shape in the manifest.
// Errors: Io (unreadable file), Corrupt (malformed JSON, manifest or shard), Unsupported (op,
// layer or attribute), NotFound (an input or weight no one provides), ShapeMismatch.
engine::Result<engine::Graph> importTfjs(const std::string& modelJsonPath, int64_t height,
                                         int64_t width);

// True when `jsonText` looks like a tfjs model.json (it has "modelTopology" or
// "weightsManifest" at the top level, or "format" naming a tfjs model), so the ".json" loader
// can tell it from a waifu2x model. Cheap: only the top-level keys are looked at.
bool looksLikeTfjsModel(const std::string& jsonText);

}  // namespace prunelab::tfjs
