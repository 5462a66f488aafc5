// The headless demo (what `./prunelab run` shows without a display): BlazeFace looks for faces
// in the bundled photos and says how sure it is and how long it took.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "app/cli/model_loader.h"
#include "engine/io/image.h"
#include "engine/runtime/cpu/cpu_executor.h"

namespace prunelab::cli {

using namespace prunelab::engine;

int runHeadlessDemo() {
    const std::string cache = assetCacheDir();
    ModelRequest request;
    request.path = cache + "/models/blazeface/face_detection_back_256x256_barracuda.onnx";
    auto model = loadModel(request);
    if (!model.ok()) {
        std::fprintf(stderr, "prunelab demo: %s\n(run ./prunelab setup to fetch the models)\n",
                     model.error().toString().c_str());
        return 1;
    }
    auto exec = cpu::CpuExecutor::create(model->graph);
    if (!exec.ok()) {
        std::fprintf(stderr, "prunelab demo: %s\n", exec.error().toString().c_str());
        return 1;
    }
    std::printf("PruneLab headless demo: BlazeFace (back camera, 256x256) looks for faces.\n\n");
    const Shape& inputShape = model->graph.value(model->graph.inputs[0]).shape;
    for (const char* photo : {"person.jpg", "horses.jpg", "dog.jpg", "giraffe.jpg", "kite.jpg"}) {
        std::string path = cache + "/photos/" + photo;
        ImageToTensor norm;  // BlazeFace (MediaPipe) wants pixels in [-1, 1]
        for (int c = 0; c < 3; ++c) norm.mean[c] = 0.5f, norm.std[c] = 0.5f;
        auto input = loadImageAsInput(path, inputShape, norm);
        if (!input.ok()) {
            std::printf("  %-12s skipped: %s\n", photo, input.error().toString().c_str());
            continue;
        }
        auto start = std::chrono::steady_clock::now();
        auto outputs = (*exec)->run(std::span<const Tensor>(&*input, 1));
        double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (!outputs.ok()) {
            std::printf("  %-12s failed: %s\n", photo, outputs.error().toString().c_str());
            continue;
        }
        // Outputs 0 and 1 hold one face score (a logit) per anchor box.
        float best = -1e30f;
        int sure = 0;
        for (int o = 0; o < 2 && o < static_cast<int>(outputs->size()); ++o) {
            for (float logit : (*outputs)[static_cast<size_t>(o)].span<float>()) {
                float p = 1.0f / (1.0f + std::exp(-logit));
                best = std::max(best, p);
                sure += p > 0.75f;
            }
        }
        std::printf("  %-12s best face score %5.1f%%  (%3d anchor boxes over 75%%)  %6.2f ms\n",
                    photo, 100.0f * best, sure, ms);
    }
    std::printf("\nWith a display, ./prunelab run opens the workbench instead.\n");
    return 0;
}

}  // namespace prunelab::cli
