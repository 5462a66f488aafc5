// The headless demo (what `./prunelab run` shows without a display): PruneLab's own runtime
// runs BlazeFace on the bundled photos next to ONNX Runtime, and shows that the answers agree
// and how long each took. (Face boxes need the catalog's pre/post-processing: a later issue.)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "app/cli/model_loader.h"
#include "engine/io/image.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "plugins/refrt/ort_runner.h"

namespace prunelab::cli {

using namespace prunelab::engine;

namespace {

// Median of `n` timed calls of `f`, in milliseconds; the last result is kept in `out`.
template <class F>
double medianMs(int n, F&& f) {
    std::vector<double> t;
    for (int i = 0; i < n; ++i) {
        auto start = std::chrono::steady_clock::now();
        f();
        t.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Largest difference relative to the reference output's range, over all outputs.
double relativeDiff(const std::vector<Tensor>& ours, const std::vector<Tensor>& ref) {
    double worst = 0;
    for (size_t i = 0; i < ours.size() && i < ref.size(); ++i) {
        std::vector<float> a = ours[i].toFloatVector(), b = ref[i].toFloatVector();
        if (a.size() != b.size() || b.empty()) return INFINITY;
        auto [lo, hi] = std::minmax_element(b.begin(), b.end());
        double range = std::max(1e-12, static_cast<double>(*hi - *lo));
        for (size_t k = 0; k < a.size(); ++k)
            worst = std::max(worst, std::fabs(a[k] - b[k]) / range);
    }
    return worst;
}

}  // namespace

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
    auto exec = cpu::CpuExecutor::create(model->graph, {1});
    if (!exec.ok()) {
        std::fprintf(stderr, "prunelab demo: %s\n", exec.error().toString().c_str());
        return 1;
    }
    auto ort = refrt::OrtRunner::load(request.path, 1);
    std::printf(
        "PruneLab headless demo: BlazeFace (69 convolutions, 256x256) on the bundled photos,\n"
        "run by PruneLab's own CPU runtime and by ONNX Runtime, one thread each.\n\n");
    std::printf("  %-12s %14s %14s %26s\n", "photo", "PruneLab ms", "ORT ms", "largest difference");
    const Shape& inputShape = model->graph.value(model->graph.inputs[0]).shape;
    ImageToTensor norm;  // BlazeFace (MediaPipe) takes pixels in [-1, 1]
    for (int c = 0; c < 3; ++c) norm.mean[c] = 0.5f, norm.std[c] = 0.5f;
    for (const char* photo : {"person.jpg", "horses.jpg", "dog.jpg", "giraffe.jpg", "kite.jpg"}) {
        auto input = loadImageAsInput(cache + "/photos/" + photo, inputShape, norm);
        if (!input.ok()) {
            std::printf("  %-12s skipped: %s\n", photo, input.error().toString().c_str());
            continue;
        }
        std::span<const Tensor> in(&*input, 1);
        Result<std::vector<Tensor>> ours = makeError(ErrorCode::Internal, "not run");
        double oursMs = medianMs(9, [&] { ours = (*exec)->run(in); });
        if (!ours.ok()) {
            std::printf("  %-12s failed: %s\n", photo, ours.error().toString().c_str());
            continue;
        }
        if (!ort.ok()) {
            std::printf("  %-12s %14.2f %14s   (%s)\n", photo, oursMs, "n/a",
                        ort.error().toString().c_str());
            continue;
        }
        Result<std::vector<Tensor>> theirs = makeError(ErrorCode::Internal, "not run");
        double ortMs = medianMs(9, [&] { theirs = (*ort)->run(in); });
        if (!theirs.ok()) {
            std::printf("  %-12s %14.2f   ORT failed: %s\n", photo, oursMs,
                        theirs.error().toString().c_str());
            continue;
        }
        std::printf("  %-12s %14.2f %14.2f %20.1e of range\n", photo, oursMs, ortMs,
                    relativeDiff(*ours, *theirs));
    }
    std::printf("\nWith a display, ./prunelab run opens the workbench instead.\n");
    return 0;
}

}  // namespace prunelab::cli
