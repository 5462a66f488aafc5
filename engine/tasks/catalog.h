// The model catalog (assets/catalog.json): what each bundled model is for, in words for a class
// and for a researcher, where its files are in the asset cache, how a picture becomes its input
// and how its outputs become something to draw. The engine reads and applies it; loading the
// model file itself is the caller's (the importers are plugins).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/image.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"
#include "engine/tasks/classification.h"
#include "engine/tasks/detection.h"
#include "engine/tasks/face_detection.h"
#include "engine/tasks/preprocess.h"
#include "engine/tasks/segmentation.h"
#include "engine/tasks/text_detection.h"

namespace prunelab::engine {

enum class Task {
    FaceDetection,
    SuperResolution,
    Denoise,
    TextDetection,
    Classification,
    Segmentation,
};

// "face-detection", "super-resolution", "denoise", "text-detection", "classification",
// "segmentation".
const char* taskName(Task task);

enum class ModelFormat { Onnx, Ncnn, Waifu2xJson, Tflite, Tfjs };  // Tfjs: model.json + shards

// A pruned and retrained version of a catalog model that ships with PruneLab (assets/demo/), so
// a class sees a pruned model that still works without waiting for training. Made by the
// command in `madeBy`; plugins/model-files/demo_models.h loads it.
struct CatalogDemo {
    std::string file;    // relative to the catalog's folder, e.g. "demo/zoom-x2.plab"
    std::string sha256;  // of the file, checked before it is read
    std::string plan;    // the plan in a researcher's words
    std::string words;   // the same for a class, e.g. "8 times fewer sums, retrained"
    std::string madeBy;  // the command that makes it again
};

struct CatalogEntry {
    std::string id;        // stable, lowercase, e.g. "face-back"
    std::string name;      // friendly, e.g. "Face finder"
    std::string kids;      // one line for a K-12 class
    std::string research;  // one line for a researcher (architecture, size, MACs)
    Task task = Task::Classification;
    ModelFormat format = ModelFormat::Onnx;
    std::vector<std::string> files;  // relative to the asset cache; ncnn: .param then .bin
    std::string sample;              // a picture in the cache to show it on
    std::string licence, source;
    std::optional<CatalogDemo> demo;  // the bundled pruned-and-retrained model, if any

    // Input: a fixed W x H, or 0 x 0 when the model takes the picture's own size (rounded up to
    // `multipleOf`, and shrunk so its longer side is at most `maxSide` when that is set).
    int width = 0, height = 0;
    int multipleOf = 1;
    int maxSide = 0;
    Preprocess pre;

    // Outputs.
    BlazeFaceOptions face;
    TextDetectionOptions text;
    int scale = 1;  // super-resolution: output size / picture size
    std::vector<std::string> labels;
    bool softmax = false;  // classification: the output is logits
    size_t topK = 5;
    SegmentationOptions segmentation;
};

struct Catalog {
    std::vector<CatalogEntry> entries;
    const CatalogEntry* find(std::string_view id) const;
};

// Parses and validates the catalog JSON. Errors name `where` (the file) and the JSON path, e.g.
// "catalog.json: $.models[2].input.mean: needs 3 numbers".
Result<Catalog> parseCatalog(std::string_view json, const std::string& where);
Result<Catalog> loadCatalog(const std::string& path);

// The W x H the model must be bound to for a picture of `imageWidth` x `imageHeight`: the fixed
// size, or the picture's own (after pre-upscale and border, within maxSide, rounded up to
// multipleOf).
struct InputSize {
    int width = 0, height = 0;
};
InputSize inputSizeFor(const CatalogEntry& entry, int imageWidth, int imageHeight);

// A picture made ready for the model: shrunk first when it is larger than `maxSide` (so big
// frames do not make super-resolution crawl), then imageToInput per the entry.
struct TaskInput {
    Tensor tensor;         // exactly the model's input shape
    InputMapping mapping;  // input pixels -> the original picture's pixels
    Image picture;         // the picture at the size the model works on (the "before" image)
};
Result<TaskInput> prepareInput(const CatalogEntry& entry, const Image& picture,
                               const Shape& inputShape);

// What one run of a catalog model found, in the picture's pixels.
struct TaskResult {
    Task task = Task::Classification;
    std::vector<Detection> detections;  // faces or text boxes
    Image image;                        // super-resolution / denoise output
    std::vector<ClassScore> classes;    // classification, best first
    SegmentationMask mask;              // segmentation: one probability per picture pixel
};

// Decodes the model's outputs per the entry; `mapping` is what imageToInput returned.
Result<TaskResult> decodeOutputs(const CatalogEntry& entry, std::span<const Tensor> outputs,
                                 const InputMapping& mapping);

// Any runtime (PruneLab's CPU executor, ONNX Runtime, a compiled sparse model): inputs in,
// outputs out, in the graph's order.
using RunModel = std::function<Result<std::vector<Tensor>>(std::span<const Tensor>)>;

// One picture through a model: prepareInput, run, decodeOutputs. `inputShape` is the model's
// (single) image input, bound for this picture (inputSizeFor). `used`, when given, receives
// the prepared input (the "before" picture for image-to-image tasks).
Result<TaskResult> runTask(const CatalogEntry& entry, const Shape& inputShape, const RunModel& run,
                           const Image& picture, TaskInput* used = nullptr);

}  // namespace prunelab::engine
