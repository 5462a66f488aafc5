// Drawing a task's result on the picture it came from (boxes, keypoints, text quads, labels),
// for `prunelab-cli run --draw` and the headless demo. The GUI draws its own overlays.
#pragma once

#include "engine/io/image.h"
#include "engine/tasks/catalog.h"

namespace prunelab::engine {

// Faces and text: boxes (quads for text) with scores, face keypoints as dots. Classification:
// the top labels written in the top-left corner. Super-resolution / denoise: the output image
// itself. The input is not modified.
Image drawResult(const Image& picture, const TaskResult& result);

}  // namespace prunelab::engine
