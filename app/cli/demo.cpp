// The headless demo (what `./prunelab run` shows without a display): three catalog models on
// their sample pictures (face finder, text finder, zoom and enhance), each run by PruneLab's own
// CPU runtime and by ONNX Runtime on the same input: what they found, whether they agree, how
// long each took, and the pictures drawn into a folder to open afterwards.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "app/cli/cli.h"
#include "engine/io/image.h"
#include "engine/onnx/onnx_import.h"
#include "engine/runtime/backend_list.h"
#include "engine/tasks/draw.h"
#include "engine/tasks/image_output.h"
#include "plugins/refrt/ort_runner.h"

namespace prunelab::cli {

using namespace prunelab::engine;

namespace {

// Median of `n` timed calls of `f`, in milliseconds.
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

std::string summary(const TaskResult& r) {
    char text[96];
    switch (r.task) {
        case Task::FaceDetection:
            std::snprintf(text, sizeof text, "%zu face(s)", r.detections.size());
            break;
        case Task::TextDetection:
            std::snprintf(text, sizeof text, "%zu line(s) of text", r.detections.size());
            break;
        case Task::SuperResolution:
        case Task::Denoise:
            std::snprintf(text, sizeof text, "a %dx%d picture", r.image.width, r.image.height);
            break;
        case Task::Classification:
            std::snprintf(text, sizeof text, "%s",
                          r.classes.empty() ? "no class" : r.classes[0].label.c_str());
            break;
        case Task::Segmentation:
            std::snprintf(text, sizeof text, "person on %.0f%%", 100.0 * r.mask.coverage);
            break;
    }
    return text;
}

// Whether two runtimes found the same thing: boxes within 2 pixels, pictures within 1 dB of
// identical (45 dB: invisible), the same top class, the same share of person.
bool sameResult(const TaskResult& a, const TaskResult& b) {
    if (a.detections.size() != b.detections.size()) return false;
    for (size_t i = 0; i < a.detections.size(); ++i) {
        const Detection &p = a.detections[i], &q = b.detections[i];
        if (std::max({std::fabs(p.x0 - q.x0), std::fabs(p.y0 - q.y0), std::fabs(p.x1 - q.x1),
                      std::fabs(p.y1 - q.y1)}) > 2.0f)
            return false;
    }
    if (!a.image.empty()) {
        auto db = psnr(a.image, b.image);
        if (!db.ok() || *db < 45.0) return false;
    }
    // Masks: the person's share within half a percent of the picture.
    if (std::fabs(a.mask.coverage - b.mask.coverage) > 0.005) return false;
    return a.classes.empty() || (a.classes[0].index == b.classes[0].index);
}

// One catalog model on its sample picture: PruneLab and ONNX Runtime, one thread each.
void demoOne(const char* id, const std::string& outDir) {
    ModelRequest request;
    request.path = id;
    auto entry = resolveEntry(request);
    if (!entry.ok() || !*entry) {
        std::printf("  %-16s skipped: %s\n", id,
                    entry.ok() ? "not in the catalog" : entry.error().toString().c_str());
        return;
    }
    const CatalogEntry& e = **entry;
    auto picture = readImage(assetCacheDir() + "/" + e.sample);
    if (!picture.ok()) {
        std::printf("  %-16s skipped: %s\n", id, picture.error().toString().c_str());
        return;
    }
    InputSize size = inputSizeFor(e, picture->width, picture->height);
    request.width = size.width, request.height = size.height;
    auto model = loadModel(request);
    if (!model.ok()) {
        std::printf("  %-16s skipped: %s\n", id, model.error().toString().c_str());
        return;
    }
    PrepareOptions options;
    options.threads = 1;
    auto exec = defaultBackend().prepare(model->graph, options);
    if (!exec.ok()) {
        std::printf("  %-16s skipped: %s\n", id, exec.error().toString().c_str());
        return;
    }
    // ONNX Runtime runs the very graph PruneLab runs, exported (ncnn models have no ONNX file).
    auto bytes = exportOnnxBytes(model->graph);
    auto ort = bytes.ok() ? refrt::OrtRunner::loadBytes(*bytes, id, 1)
                          : Result<std::unique_ptr<refrt::OrtRunner>>(bytes.error());
    const Shape& shape = model->graph.value(model->graph.inputs[0]).shape;
    RunModel ours = [&](std::span<const Tensor> in) { return (*exec)->run(in); };

    Result<TaskResult> mine = makeError(ErrorCode::Internal, "not run");
    double oursMs = medianMs(3, [&] { mine = runTask(e, shape, ours, *picture); });
    if (!mine.ok()) {
        std::printf("  %-16s failed: %s\n", id, mine.error().toString().c_str());
        return;
    }
    std::string drawn = outDir + "/" + id + ".png";
    Status written = writeImage(drawn, drawResult(*picture, *mine));
    std::string theirs = "ONNX Runtime n/a";
    char ortText[64] = "n/a";
    if (ort.ok()) {
        RunModel ref = [&](std::span<const Tensor> in) { return (*ort)->run(in); };
        Result<TaskResult> other = makeError(ErrorCode::Internal, "not run");
        double ortMs = medianMs(3, [&] { other = runTask(e, shape, ref, *picture); });
        std::snprintf(ortText, sizeof ortText, "%.1f", ortMs);
        theirs =
            other.ok() ? (sameResult(*mine, *other) ? "same" : "DIFFERENT") : "ONNX Runtime failed";
    }
    std::printf("  %-16s %-24s %12.1f %10s   %-9s %s\n", id, summary(*mine).c_str(), oursMs,
                ortText, theirs.c_str(), written.ok() ? drawn.c_str() : "(could not write)");
}

}  // namespace

int runHeadlessDemo() {
    const char* runtimeDir = std::getenv("XDG_RUNTIME_DIR");
    std::string outDir =
        std::string(runtimeDir && *runtimeDir ? runtimeDir : "/tmp") + "/prunelab-demo";
    std::error_code ec;
    std::filesystem::create_directories(outDir, ec);
    auto catalog = bundledCatalog();
    if (!catalog.ok()) {
        std::fprintf(stderr, "prunelab demo: %s\n", catalog.error().toString().c_str());
        return 1;
    }
    std::printf(
        "PruneLab headless demo: three bundled models on their sample pictures, run by\n"
        "PruneLab's own CPU runtime and by ONNX Runtime on the same input, one thread each.\n\n");
    std::printf("  %-16s %-24s %12s %10s   %-9s %s\n", "model", "found", "PruneLab ms", "ORT ms",
                "agree?", "drawn");
    for (const char* id : {"face-back", "text-finder", "zoom-x2"}) demoOne(id, outDir);
    std::printf(
        "\nOpen the pictures in %s. With a display, ./prunelab run opens the workbench.\n"
        "Try others: prunelab-cli catalog, then prunelab-cli run ID --draw OUT.png\n",
        outDir.c_str());
    return 0;
}

}  // namespace prunelab::cli
