// Drawing a task's result on the picture it came from (boxes, keypoints, text quads, labels,
// masks), for `prunelab-cli run --draw`, the headless demo and the live lanes (the Live tab
// shows their frames).
#pragma once

#include "engine/io/image.h"
#include "engine/tasks/catalog.h"

namespace prunelab::engine {

// Faces and text: boxes (quads for text) with scores, face keypoints as dots. Classification:
// the top labels written in the top-left corner. Segmentation: the background dimmed, the
// person outlined and the share of the picture that is person written in the bottom-left
// corner.
// Super-resolution / denoise: the output image itself. The input is not modified.
Image drawResult(const Image& picture, const TaskResult& result);

}  // namespace prunelab::engine
