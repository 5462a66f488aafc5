// waifu2x JSON importer: the torch7-style list of conv layers (vgg_7 scale2.0x, noise0..3) into
// the engine's IR, validating every count and size so a bad file gives an error, not a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::plugins {

// Reads a waifu2x model JSON (an array of nn.SpatialConvolution(MM) layers with nInputPlane,
// nOutputPlane, kW, kH, dW, dH, optional padW/padH, weight[out][in][kH][kW], bias[out] and, on
// the first layer, model_config {arch_name, scale_factor, channels, offset}) and returns a
// verified graph: input "input" float32 NCHW [1, channels, height, width], each layer a Conv
// followed by LeakyRelu(alpha 0.1) except the last, output "output".
//
// Pre- and post-processing are the caller's (they are not in the file):
//  - input: RGB in [0, 1] (pixel / 255), no mean or std;
//  - vgg_7 has no padding, so the output is `offset` (7) pixels smaller on every side:
//    [1, 3, height - 14, width - 14]. Pad the image by 7 px per side (waifu2x replicates the
//    border) to keep its size;
//  - scale2.0x does not upscale itself: upscale the image 2x with nearest-neighbour first,
//    then pad and run it; noise0..3 run on the image at its own size;
//  - output: clamp to [0, 1] and multiply by 255.
// The metadata keeps waifu2x.arch_name, waifu2x.scale_factor and waifu2x.offset from the file.
//
// Errors: NotFound/Io when the file cannot be read; Corrupt for bad JSON (truncated, not an
// array, missing keys, nested weight sizes, bias length, planes that do not chain from one layer
// to the next, non-finite numbers); Unsupported for layer classes other than convolutions;
// InvalidArgument when height x width is smaller than the model's receptive field. Contexts
// name the file and the layer index. Never throws.
engine::Result<engine::Graph> importWaifu2xJson(const std::string& path, int64_t height,
                                                int64_t width);
// The same from the file's text (the fuzzer's entry point); `name` stands for the path in errors.
engine::Result<engine::Graph> importWaifu2xJsonText(std::string_view text, const std::string& name,
                                                    int64_t height, int64_t width);

}  // namespace prunelab::plugins
