// prunelab-bench (`./prunelab bench`): dense latency of PruneLab vs ONNX Runtime and OpenCV DNN
// on BlazeFace back, PP-OCRv4 det at 640x640, Real-ESRGAN and waifu2x on a 320x240 picture and
// our own VGG-style model, at 1 and 2 threads. All three run interleaved in this one process;
// the ratios are what we report, not the times.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/ops/builder.h"
#include "engine/ir/layer_view.h"
#include "engine/onnx/onnx_import.h"
#include "engine/onnx/onnx_inputs.h"
#include "engine/tasks/preprocess.h"
#include "plugins/import-ncnn/ncnn_import.h"
#include "plugins/import-waifu2x/waifu2x_import.h"
#include "plugins/refrt/compare.h"

using namespace prunelab::engine;
using prunelab::refrt::LaneStats;

namespace {

struct BenchModel {
    std::string name;
    std::string path;  // ONNX file the reference runtimes load
    Graph graph;
    std::vector<Tensor> inputs;
};

std::string cacheDir() {
    const char* env = std::getenv("XDG_CACHE_HOME");
    if (env && *env) return std::string(env) + "/prunelab";
    const char* home = std::getenv("HOME");
    return home ? std::string(home) + "/.cache/prunelab" : std::string(PRUNELAB_CACHE_DIR);
}

Result<BenchModel> loadFile(const std::string& name, const std::string& path, int64_t h, int64_t w,
                            const std::string& photo) {
    BenchModel m;
    m.name = name;
    m.path = path;
    PL_TRY_ASSIGN(auto declared, readOnnxInputs(path));
    OnnxImportOptions options;
    for (const auto& in : declared) options.inputShapes[in.name] = bindImageSize(in.shape, h, w);
    PL_TRY_ASSIGN(m.graph, importOnnxFile(path, options));
    ImageToTensor norm;
    for (int c = 0; c < 3; ++c) norm.mean[c] = 0.5f, norm.std[c] = 0.5f;
    for (ValueId id : m.graph.inputs) {
        PL_TRY_ASSIGN(Tensor t, loadImageAsInput(photo, m.graph.value(id).shape, norm));
        m.inputs.push_back(std::move(t));
    }
    return m;
}

// Our own model: a plain VGG-style stack of 3x3 convs, the shape pattern pruning targets.
Result<BenchModel> vggStyle(const std::string& photo, const std::string& dir) {
    GraphBuilder b("vgg_style_160");
    ValueId x = b.input("image", {1, 3, 160, 160});
    for (int64_t channels : {32, 64, 128}) {
        x = b.relu(b.conv(x, channels, 3));
        x = b.relu(b.conv(x, channels, 3));
        x = b.maxPool(x, 2, 2);
    }
    x = b.gemm(b.flatten(b.globalAveragePool(x)), 10);
    b.output(x);
    BenchModel m;
    m.name = "vgg_style_160 (own)";
    PL_TRY_ASSIGN(m.graph, b.finish());
    m.path = dir + "/vgg_style_160.onnx";
    PL_TRY(exportOnnxFile(m.graph, m.path));
    PL_TRY_ASSIGN(Tensor t, loadImageAsInput(photo, m.graph.value(m.graph.inputs[0]).shape));
    m.inputs.push_back(std::move(t));
    return m;
}

// A model PruneLab imported from a non-ONNX format: exported with the engine's own exporter so
// ONNX Runtime and OpenCV DNN run the very same graph. The input is the photo shrunk to
// 320 x 240 and pre-processed as the model expects (RGB in [0, 1]).
Result<BenchModel> fromImported(const std::string& name, Result<Graph> graph,
                                const std::string& onnxPath, const std::string& photo,
                                const Preprocess& pre) {
    if (!graph.ok()) return graph.error();
    BenchModel m;
    m.name = name;
    m.graph = std::move(*graph);
    m.path = onnxPath;
    PL_TRY(exportOnnxFile(m.graph, m.path));
    PL_TRY_ASSIGN(Image image, readImage(photo));
    image = resizeImage(image, 320, 240, Interpolation::Area);
    PL_TRY_ASSIGN(Tensor t, imageToInput(image, m.graph.value(m.graph.inputs[0]).shape, pre));
    m.inputs.push_back(std::move(t));
    return m;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 30;
    std::vector<int> threadCounts = {1, 2};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc)
            runs = std::atoi(argv[++i]);
        else if (a == "--threads" && i + 1 < argc)
            threadCounts = {std::atoi(argv[++i])};
        else {
            std::fprintf(stderr, "usage: prunelab-bench [--runs N] [--threads N]\n");
            return 2;
        }
    }
    const std::string cache = cacheDir();
    const std::string photo = cache + "/photos/person.jpg";
    const std::string tmp = std::filesystem::temp_directory_path() / "prunelab-bench";
    std::filesystem::create_directories(tmp);

    std::vector<Result<BenchModel>> models;
    models.push_back(loadFile(
        "BlazeFace back 256",
        cache + "/models/blazeface/face_detection_back_256x256_barracuda.onnx", 0, 0, photo));
    models.push_back(loadFile("PP-OCRv4 det 640x640",
                              cache + "/models/ppocr/ch_PP-OCRv4_det_infer.onnx", 640, 640, photo));
    // Real-ESRGAN animevideov3 x2 (ncnn) bound to a 240 x 320 input; it upsamples itself.
    const std::string esrgan = cache + "/models/realesrgan/realesr-animevideov3-x2";
    models.push_back(
        fromImported("Real-ESRGAN x2 320x240",
                     prunelab::ncnn::importNcnn(esrgan + ".param", esrgan + ".bin", 240, 320),
                     tmp + "/realesrgan_x2_240x320.onnx", photo, {}));
    // waifu2x scale2.0x on a 320 x 240 picture: nearest 2x, then 7 px of border per side, so
    // the tensor is [1, 3, 494, 654] (the unpadded network returns 480 x 640).
    models.push_back(fromImported(
        "waifu2x scale2x 320x240",
        prunelab::plugins::importWaifu2xJson(cache + "/models/waifu2x/scale2.0x_model.json",
                                             2 * 240 + 14, 2 * 320 + 14),
        tmp + "/waifu2x_scale2x_494x654.onnx", photo, {.upscale = 2, .border = 7}));
    models.push_back(vggStyle(photo, tmp));

    std::printf(
        "PruneLab dense vs ONNX Runtime 1.29 and OpenCV DNN 4.6: median of %d timed runs per lane;"
        " lanes take turns in blocks of 5, each after a pause that lets the last lane's threads"
        " go idle\n\n",
        runs);
    std::printf(
        "| model | MACs | threads | PruneLab ms | ORT ms | OpenCV ms | PruneLab/ORT | "
        "PruneLab/OpenCV |\n|---|---|---|---|---|---|---|---|\n");
    int failures = 0;
    std::vector<std::string> notes;
    for (auto& m : models) {
        if (!m.ok()) {
            std::fprintf(stderr, "prunelab-bench: %s\n", m.error().toString().c_str());
            ++failures;
            continue;
        }
        for (int threads : threadCounts) {
            prunelab::refrt::BenchRequest request;
            request.modelPath = m->path;
            request.graph = &m->graph;
            request.inputs = m->inputs;
            request.threads = threads;
            request.runs = runs;
            auto stats = prunelab::refrt::benchModel(request);
            if (!stats.ok()) {
                std::fprintf(stderr, "prunelab-bench: %s\n", stats.error().toString().c_str());
                ++failures;
                continue;
            }
            const LaneStats* lane[3] = {nullptr, nullptr, nullptr};
            for (const LaneStats& s : *stats) {
                int k = s.name == "ONNX Runtime" ? 1 : s.name == "OpenCV DNN" ? 2 : 0;
                lane[k] = &s;
                if (!s.ok && threads == threadCounts.front())
                    notes.push_back(m->name + ", " + s.name + ": " + s.error);
            }
            auto ms = [](const LaneStats* s) {
                if (!s || !s->ok) return std::string("n/a");
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.2f", s->medianMs);
                return std::string(buf);
            };
            auto ratio = [&](const LaneStats* s) {
                if (!s || !s->ok || !lane[0] || !lane[0]->ok) return std::string("n/a");
                char buf[16];
                std::snprintf(buf, sizeof buf, "%.2f", lane[0]->medianMs / s->medianMs);
                return std::string(buf);
            };
            char macs[32];
            std::snprintf(macs, sizeof macs, "%.2fG", totalMacs(m->graph) / 1e9);
            std::printf("| %s | %s | %d | %s | %s | %s | %s | %s |\n", m->name.c_str(), macs,
                        threads, ms(lane[0]).c_str(), ms(lane[1]).c_str(), ms(lane[2]).c_str(),
                        ratio(lane[1]).c_str(), ratio(lane[2]).c_str());
            std::fflush(stdout);
        }
    }
    for (const std::string& n : notes) {
        // The first line says why; the rest is the library's stack of messages.
        std::printf("\nnote: %s", n.substr(0, n.find('\n')).c_str());
    }
    std::printf("\n\nRatios below 1 mean PruneLab is faster. Target: PruneLab/ORT <= 1.25.\n");
    return failures == 0 ? 0 : 1;
}
