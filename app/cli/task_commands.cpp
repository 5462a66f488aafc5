// The catalog from the command line: list the bundled models, and run one on a picture with
// its own pre- and post-processing (engine/tasks), printing and drawing what it found.
#include "app/cli/task_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "engine/onnx/onnx_inputs.h"
#include "engine/runtime/backend_list.h"
#include "engine/tasks/draw.h"
#include "plugins/model-files/model_files.h"

namespace prunelab::cli {

using namespace prunelab::engine;

namespace {

const char* formatName(ModelFormat f) {
    switch (f) {
        case ModelFormat::Onnx:
            return "onnx";
        case ModelFormat::Ncnn:
            return "ncnn";
        case ModelFormat::Waifu2xJson:
            return "waifu2x";
        case ModelFormat::Tflite:
            return "tflite";
        case ModelFormat::Tfjs:
            return "tfjs";
    }
    return "?";
}

bool filesPresent(const CatalogEntry& e) {
    for (const std::string& f : e.files) {
        if (!std::filesystem::exists(assetCacheDir() + "/" + f)) return false;
    }
    return true;
}

std::string sizeText(const CatalogEntry& e) {
    if (e.width > 0) return std::to_string(e.width) + "x" + std::to_string(e.height);
    return e.maxSide > 0 ? "any (<= " + std::to_string(e.maxSide) + ")" : "any";
}

}  // namespace

int cmdCatalog(const std::string& id) {
    auto catalog = bundledCatalog();
    if (!catalog.ok()) return fail(catalog.error());
    if (!id.empty()) {
        const CatalogEntry* e = (*catalog)->find(id);
        if (!e) return fail(makeError(ErrorCode::NotFound, "no catalog model '" + id + "'"));
        std::printf(
            "id          %s\nname        %s\ntask        %s\nfor a class %s\n"
            "research    %s\nformat      %s\ninput       %s, %s\nlicence     %s\n"
            "source      %s\n",
            e->id.c_str(), e->name.c_str(), taskName(e->task), e->kids.c_str(), e->research.c_str(),
            formatName(e->format), sizeText(*e).c_str(), e->pre.norm.bgr ? "BGR" : "RGB",
            e->licence.c_str(), e->source.c_str());
        for (const std::string& f : e->files) {
            std::string p = assetCacheDir() + "/" + f;
            std::printf("file        %s%s\n", p.c_str(),
                        std::filesystem::exists(p) ? "" : "  (missing: run ./prunelab setup)");
        }
        return 0;
    }
    std::printf("%-20s %-17s %-8s %-14s %-8s %s\n", "id", "task", "format", "input", "files",
                "name");
    for (const CatalogEntry& e : (*catalog)->entries) {
        std::printf("%-20s %-17s %-8s %-14s %-8s %s\n", e.id.c_str(), taskName(e.task),
                    formatName(e.format), sizeText(e).c_str(),
                    filesPresent(e) ? "ready" : "missing", e.name.c_str());
    }
    std::printf("\nRun one: prunelab-cli run ID [--input PICTURE] [--draw OUT.png]\n");
    return 0;
}

int cmdRunTask(const TaskRunRequest& request) {
    auto entry = resolveEntry(request.model);
    if (!entry.ok()) return fail(entry.error());
    ModelRequest modelRequest = request.model;
    // The model may record its catalog id (a pruned copy); peek by loading once at any size.
    std::optional<CatalogEntry> e = *entry;
    if (!e) {
        auto probe = loadModel(modelRequest);
        if (!probe.ok()) return fail(probe.error());
        e = probe->entry;
    }
    if (!e) {
        return fail(makeError(ErrorCode::InvalidArgument,
                              "a plain model file needs --output-dir (raw outputs as .npy) or "
                              "--as ID to be decoded like a catalog model (prunelab-cli catalog "
                              "lists them)",
                              request.model.path));
    }
    std::string picturePath = request.picture;
    if (picturePath.empty()) {
        if (e->sample.empty()) {
            return fail(makeError(ErrorCode::InvalidArgument,
                                  "model '" + e->id + "' has no sample picture: give --input"));
        }
        picturePath = assetCacheDir() + "/" + e->sample;
    }
    auto picture = readImage(picturePath);
    if (!picture.ok()) return fail(picture.error());

    // An ONNX file fixed at one size (e.g. a pruned copy exported at 320x240) takes the
    // picture fitted to that size; everything else is bound to the picture's own size.
    std::string ext = std::filesystem::path(modelRequest.path).extension().string();
    if (std::filesystem::exists(modelRequest.path) && (ext == ".onnx" || ext == ".plab")) {
        auto declared = readOnnxInputs(modelRequest.path);
        if (!declared.ok()) return fail(declared.error());
        if (declared->size() == 1) {
            const Shape& s = (*declared)[0].shape;
            auto layout = guessImageLayout(s);
            bool fixed = std::all_of(s.begin(), s.end(), [](int64_t d) { return d > 0; });
            if (fixed && layout.ok()) {
                bool nchw = *layout == ImageLayout::NCHW;
                e->height = static_cast<int>(nchw ? s[2] : s[1]);
                e->width = static_cast<int>(nchw ? s[3] : s[2]);
            }
        }
    }
    InputSize size = inputSizeFor(*e, picture->width, picture->height);
    modelRequest.width = size.width, modelRequest.height = size.height;
    auto model = loadModel(modelRequest);
    if (!model.ok()) return fail(model.error());
    if (model->graph.inputs.size() != 1) {
        return fail(
            makeError(ErrorCode::Unsupported, "catalog tasks take one image input", model->path));
    }
    PrepareOptions options;
    options.threads = request.threads;
    auto exec =
        (request.backend ? *request.backend : defaultBackend()).prepare(model->graph, options);
    if (!exec.ok()) return fail(exec.error());
    const Shape& inputShape = model->graph.value(model->graph.inputs[0]).shape;
    RunModel run = [&](std::span<const Tensor> in) { return (*exec)->run(in); };

    auto start = std::chrono::steady_clock::now();
    TaskInput used;
    auto result = runTask(*e, inputShape, run, *picture, &used);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!result.ok()) return fail(result.error().within(model->path));

    std::printf("%s (%s) on %s %dx%d, input %s, %.1f ms\n", e->name.c_str(), e->id.c_str(),
                picturePath.c_str(), picture->width, picture->height,
                shapeToString(inputShape).c_str(), ms);
    switch (result->task) {
        case Task::FaceDetection:
        case Task::TextDetection:
            std::printf("%zu %s found\n", result->detections.size(),
                        result->task == Task::FaceDetection ? "face(s)" : "text box(es)");
            for (const Detection& d : result->detections) {
                std::printf("  score %.2f  box x %.0f..%.0f  y %.0f..%.0f\n", d.score, d.x0, d.x1,
                            d.y0, d.y1);
            }
            break;
        case Task::SuperResolution:
        case Task::Denoise:
            std::printf("output picture %dx%d (from %dx%d)\n", result->image.width,
                        result->image.height, used.picture.width, used.picture.height);
            break;
        case Task::Classification:
            for (const ClassScore& c : result->classes) {
                std::printf("  %5.1f%%  %s\n", 100.0 * c.probability, c.label.c_str());
            }
            break;
        case Task::Segmentation:
            std::printf("person mask %dx%d: %.1f%% of the picture (probability >= %.2f)\n",
                        result->mask.width, result->mask.height, 100.0 * result->mask.coverage,
                        result->mask.threshold);
            break;
    }
    if (!request.drawPath.empty()) {
        Status st = writeImage(request.drawPath, drawResult(*picture, *result));
        if (!st.ok()) return fail(st.error());
        std::printf("wrote %s\n", request.drawPath.c_str());
    }
    return 0;
}

}  // namespace prunelab::cli
