// prunelab-cli live: the dense and the compiled pruned model on live frames, side by side.
#pragma once

#include <string>

#include "app/cli/cli.h"

namespace prunelab::cli {

struct LiveRequest {
    ModelRequest model;  // the dense model (a catalog id, or a file with --as)
    // A preset name, a plan .json, or a pruned .plab / .onnx; empty: the catalog's bundled
    // pruned-and-retrained demo, else patdnn-8 (not retrained).
    std::string pruned;
    std::string source = "vtest.avi";
    std::string cameraSize;  // WxH a camera captures at; empty: its own
    int frames = 60;
    int threads = 1;
    std::string backend = "cpu";         // where both PruneLab lanes run (backend_list.inc)
    std::string reference = "prunelab";  // lane A: prunelab (dense) or ort
    std::string recordPath, csvPath;
    bool generic = false;    // generic sparse kernels instead of generated ones
    bool noMeasure = false;  // keep every sparse layer, even where measured slower
};

int cmdLive(const LiveRequest& request);

}  // namespace prunelab::cli
