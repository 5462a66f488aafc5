// PruneLab's dense CPU runtime against ONNX Runtime on the same model, in one process: runs
// the two interleaved (or in blocks) and prints medians. Not wired into CMake; build by hand:
//   g++ -O2 -std=c++20 -I/work/main -I$ORT/include bench/runtime_vs_ort.cpp \
//       build-rt/engine/libprunelab_engine.a -L$ORT/lib -lonnxruntime -lonnx -lonnx_proto \
//       -lprotobuf -ldnnl -fopenmp -Wl,-rpath,$ORT/lib -o /tmp/runtime_vs_ort
// Env: ORT_NO_SPIN=1 stops ORT's workers spin-waiting between runs (see the session options).
// Usage: runtime_vs_ort MODEL.onnx THREADS [RUNS] [--input NAME=d0,d1,...] [--blocks]
//        runtime_vs_ort --vgg7 THREADS [RUNS]   (waifu2x vgg_7 shape, random weights, 1x3x128x128)
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/onnx/onnx_import.h"
#include "engine/ops/op.h"
#include "engine/runtime/backend_list.h"

using namespace prunelab::engine;

namespace {

double nowMs() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

Tensor randomInput(const Shape& shape, uint32_t seed) {
    Tensor t(DataType::Float32, shape);
    uint32_t s = seed * 2654435761u + 1u;
    for (float& x : t.span<float>()) {
        s = s * 1664525u + 1013904223u;
        x = static_cast<float>(s >> 8) / static_cast<float>(1u << 24);
    }
    return t;
}

// waifu2x's vgg_7: seven unpadded 3x3 convs (3-32-32-64-64-128-128-3), LeakyReLU 0.1 after all
// but the last. Random weights: only the speed matters here.
Graph vgg7(int64_t size) {
    Graph g;
    ValueId v = g.addValue("x", DataType::Float32, {1, 3, size, size});
    g.inputs.push_back(v);
    const int64_t channels[] = {3, 32, 32, 64, 64, 128, 128, 3};
    int64_t hw = size;
    for (int i = 0; i < 7; ++i) {
        const int64_t in = channels[i], out = channels[i + 1];
        const std::string n = std::to_string(i);
        Tensor w = randomInput({out, in, 3, 3}, 100 + i);
        for (float& x : w.span<float>()) x = (x - 0.5f) * 0.2f;
        const ValueId wv = g.addConstant("w" + n, w);
        const ValueId bv = g.addConstant("b" + n, randomInput({out}, 200 + i));
        hw -= 2;
        const ValueId y = g.addValue("conv" + n, DataType::Float32, {1, out, hw, hw});
        Attributes a;
        a.set("strides", std::vector<int64_t>{1, 1});
        a.set("pads", std::vector<int64_t>{0, 0, 0, 0});
        a.set("dilations", std::vector<int64_t>{1, 1});
        a.set("group", int64_t{1});
        g.addNode(OpKind::Conv, "conv" + n, {v, wv, bv}, {y}, a);
        v = y;
        if (i < 6) {
            const ValueId r = g.addValue("lrelu" + n, DataType::Float32, {1, out, hw, hw});
            Attributes la;
            la.set("alpha", 0.1f);
            g.addNode(OpKind::LeakyRelu, "lrelu" + n, {v}, {r}, la);
            v = r;
        }
    }
    g.outputs.push_back(v);
    return g;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: %s MODEL.onnx THREADS [RUNS] [--input NAME=d,d,..] [--blocks]\n",
                     argv[0]);
        return 2;
    }
    std::string path = argv[1];
    const int threads = std::atoi(argv[2]);
    int runs = 50;
    bool blocks = false;
    OnnxImportOptions importOptions;
    for (int i = 3; i < argc; ++i) {
        if (std::strcmp(argv[i], "--blocks") == 0) {
            blocks = true;
        } else if (std::strcmp(argv[i], "--input") == 0 && i + 1 < argc) {
            std::string spec = argv[++i];
            const size_t eq = spec.find('=');
            Shape shape;
            for (size_t p = eq + 1; p < spec.size();) {
                size_t q = spec.find(',', p);
                if (q == std::string::npos) q = spec.size();
                shape.push_back(std::stoll(spec.substr(p, q - p)));
                p = q + 1;
            }
            importOptions.inputShapes[spec.substr(0, eq)] = shape;
        } else {
            runs = std::atoi(argv[i]);
        }
    }

    if (path == "--vgg7") {
        path = "/tmp/prunelab_vgg7.onnx";
        Status st = exportOnnxFile(vgg7(128), path);
        if (!st.ok()) {
            std::fprintf(stderr, "export: %s\n", st.error().toString().c_str());
            return 1;
        }
    }
    auto graph = importOnnxFile(path, importOptions);
    if (!graph.ok()) {
        std::fprintf(stderr, "import: %s\n", graph.error().toString().c_str());
        return 1;
    }
    double t0 = nowMs();
    PrepareOptions options;
    options.threads = threads;
    auto exec = defaultBackend().prepare(*graph, options);
    if (!exec.ok()) {
        std::fprintf(stderr, "plan: %s\n", exec.error().toString().c_str());
        return 1;
    }
    const double planMs = nowMs() - t0;
    int fast = 0, reference = 0, fused = 0;
    for (const auto& k : (*exec)->kernelReport()) {
        if (k.kernel == "reference") {
            ++reference;
            std::printf("  reference: %s  (%s)\n", k.node.c_str(), k.reason.c_str());
        } else if (k.kernel.rfind("fused into", 0) == 0) {
            ++fused;
        } else {
            ++fast;
        }
        if (std::getenv("PL_REPORT")) std::printf("  %s: %s\n", k.node.c_str(), k.kernel.c_str());
    }
    const auto mem = (*exec)->memoryReport();
    std::printf(
        "plan %.0f ms: %d steps fast, %d nodes fused, %d reference; arena %.1f MiB in %d "
        "buffers (naive %.1f MiB), %d in-place\n",
        planMs, fast, fused, reference, mem.arenaBytes / 1048576.0, mem.buffers,
        mem.naiveBytes / 1048576.0, mem.inPlaceSteps);

    std::vector<Tensor> inputs;
    for (size_t i = 0; i < graph->inputs.size(); ++i) {
        inputs.push_back(
            randomInput(graph->value(graph->inputs[i]).shape, 11 + static_cast<uint32_t>(i)));
    }

    Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "bench");
    Ort::SessionOptions so;
    so.SetIntraOpNumThreads(threads);
    so.SetInterOpNumThreads(1);
    so.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
    so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    // ORT's idle workers spin-wait by default; interleaved with another runtime in one process
    // they take the second core from it (and oneDNN's OpenMP workers do the same to ORT).
    if (std::getenv("ORT_NO_SPIN")) so.AddConfigEntry("session.intra_op.allow_spinning", "0");
    Ort::Session session(env, path.c_str(), so);
    Ort::AllocatorWithDefaultOptions alloc;
    std::vector<std::string> inNames, outNames;
    for (size_t i = 0; i < session.GetInputCount(); ++i) {
        inNames.push_back(session.GetInputNameAllocated(i, alloc).get());
    }
    for (size_t i = 0; i < session.GetOutputCount(); ++i) {
        outNames.push_back(session.GetOutputNameAllocated(i, alloc).get());
    }
    std::vector<const char*> inPtrs, outPtrs;
    for (auto& s : inNames) inPtrs.push_back(s.c_str());
    for (auto& s : outNames) outPtrs.push_back(s.c_str());
    Ort::MemoryInfo mi = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    std::vector<Ort::Value> ortIn;
    for (Tensor& t : inputs) {
        ortIn.push_back(Ort::Value::CreateTensor<float>(mi, t.data<float>(),
                                                        static_cast<size_t>(t.elements()),
                                                        t.shape().data(), t.shape().size()));
    }

    auto runPl = [&]() -> std::vector<Tensor> {
        auto r = (*exec)->run(inputs);
        if (!r.ok()) {
            std::fprintf(stderr, "run: %s\n", r.error().toString().c_str());
            std::exit(1);
        }
        return std::move(*r);
    };
    auto runOrt = [&]() {
        return session.Run(Ort::RunOptions{nullptr}, inPtrs.data(), ortIn.data(), ortIn.size(),
                           outPtrs.data(), outPtrs.size());
    };

    // Agreement: max |diff| relative to each output's range.
    {
        std::vector<Tensor> a = runPl();
        auto b = runOrt();
        for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
            const float* pb = b[i].GetTensorData<float>();
            const float* pa = a[i].data<float>();
            float lo = pb[0], hi = pb[0], diff = 0;
            for (int64_t j = 0; j < a[i].elements(); ++j) {
                lo = std::min(lo, pb[j]);
                hi = std::max(hi, pb[j]);
                diff = std::max(diff, std::fabs(pa[j] - pb[j]));
            }
            std::printf("output %zu %s: max|diff| %.3g, range %.3g\n", i,
                        shapeToString(a[i].shape()).c_str(), diff, hi - lo);
        }
    }
    for (int w = 0; w < 5; ++w) {
        runPl();
        runOrt();
    }
    std::vector<double> pl, ort;
    if (std::getenv("PL_SLEEP_MS")) {  // let ORT's workers go idle before timing (diagnosis)
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::atoi(std::getenv("PL_SLEEP_MS"))));
    }
    if (blocks) {
        for (int r = 0; r < runs; ++r) {
            const double s = nowMs();
            runPl();
            pl.push_back(nowMs() - s);
        }
        for (int r = 0; r < runs; ++r) {
            const double s = nowMs();
            runOrt();
            ort.push_back(nowMs() - s);
        }
    } else {
        for (int r = 0; r < runs; ++r) {
            double s = nowMs();
            runPl();
            pl.push_back(nowMs() - s);
            s = nowMs();
            runOrt();
            ort.push_back(nowMs() - s);
        }
    }
    const double mp = median(pl), mo = median(ort);
    std::printf("%s threads=%d runs=%d %s: prunelab %.2f ms, onnxruntime %.2f ms, ratio %.3f\n",
                path.substr(path.rfind('/') + 1).c_str(), threads, runs,
                blocks ? "blocks" : "interleaved", mp, mo, mp / mo);
    return 0;
}
