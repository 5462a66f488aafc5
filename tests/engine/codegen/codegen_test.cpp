// Generated kernels (engine/runtime/cpu/sparse/emit.h) compiled by the JIT (jit.h): each generated
// pattern layer against the op registry's reference Conv, the compile cache's hits and misses, one
// library per layer, hostile layer names, broken compilers, the exported source package and
// the tune pass (tune.h).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/codegen/pack.h"
#include "engine/codegen/passes.h"
#include "engine/ops/op.h"
#include "engine/runtime/cpu/sparse/emit.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/cpu/sparse/tune.h"
#include "tests/engine/codegen/codegen_test_util.h"
#include "tests/slow_compiler.h"

namespace prunelab::engine::codegen {
namespace {

namespace fs = std::filesystem;

using prunelab::testing::writeSlowCompiler;

// A fresh cache directory per test, removed afterwards, so tests never see each other's (or the
// user's) libraries.
class TempDir {
  public:
    TempDir() {
        const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
        m_path = fs::temp_directory_path() /
                 ("prunelab-codegen-" + std::to_string(::getpid()) + "-" + info->name());
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    std::string str() const { return m_path.string(); }
    const fs::path& path() const { return m_path; }

  private:
    fs::path m_path;
};

// Skips (loudly) when the machine has no C++ compiler: the only reason these tests may not run.
#define SKIP_WITHOUT_COMPILER()                                                               \
    do {                                                                                      \
        if (std::system("c++ --version > /dev/null 2>&1") != 0 && !std::getenv("CXX")) {      \
            GTEST_SKIP() << "SKIPPED: no host C++ compiler (c++ or $CXX); generated kernels " \
                            "cannot be compiled on this machine";                             \
        }                                                                                     \
    } while (0)

// Fast compiles for tests that check behaviour, not speed.
JitOptions quickOptions(const TempDir& dir) {
    JitOptions o;
    o.cacheDir = dir.str();
    o.flags = {"-O1", "-std=c++20"};
    return o;
}

// ---- Layers ------------------------------------------------------------------------------

// A Pattern layer with random weights on `patterns` (patternWeights), each kernel kept with
// probability `connectivity`.
LayerCode patternLayer(int index, const ConvParams& c, const std::vector<prune::Pattern>& patterns,
                       double connectivity, Rng& rng) {
    std::vector<int32_t> kernelPattern;
    const Tensor w = patternWeights(c, patterns, connectivity, rng, kernelPattern);
    LayerCode layer;
    layer.index = index;
    layer.kind = KernelKind::Pattern;
    layer.scheme = "pattern";
    layer.conv = c;
    layer.bias = randomTensor({c.outChannels}, rng).toFloatVector();
    auto fkw = packFkw(w, patterns, kernelPattern);
    EXPECT_TRUE(fkw.ok()) << fkw.error().toString();
    if (fkw.ok()) layer.fkw = std::move(*fkw);
    layer.decision = "test layer";
    return layer;
}

// The compiled layer with every epilogue, whole and in random row pieces (on an output full of
// NaN, so a row no piece wrote shows), against the reference Conv.
void checkCompiledLayer(const CompiledModule& module, const LayerCode& layer, Rng& rng,
                        const std::string& what) {
    ASSERT_NE(module.layer(layer.index), nullptr) << what;
    const ConvParams& c = layer.conv;
    const Tensor x = randomTensor({c.batch, c.inChannels, c.inH, c.inW}, rng);
    const Tensor plainOut = referenceConv(layer, x);
    ASSERT_FALSE(plainOut.empty()) << what;
    forEachEpilogue(
        plainOut, c.outChannels, c.outH * c.outW, rng,
        [&](const Epilogue& epi, const Tensor& expected, const std::string& name) {
            Tensor whole(DataType::Float32, expected.shape());
            module.run(layer, x.data<float>(), whole.data<float>(), epi, 0, c.outH);
            expectClose(expected, whole, what + ", epilogue " + name + ", whole");

            Tensor pieces(DataType::Float32, expected.shape());
            std::fill(pieces.data<float>(), pieces.data<float>() + pieces.elements(),
                      std::numeric_limits<float>::quiet_NaN());
            for (int64_t begin = 0; begin < c.outH;) {
                const int64_t end = std::min(c.outH, begin + 1 + rng.below(3));
                module.run(layer, x.data<float>(), pieces.data<float>(), epi, begin, end);
                begin = end;
            }
            expectClose(expected, pieces, what + ", epilogue " + name + ", in row pieces");
        });
}

const ConvShape kShapes[] = {
    // name, n, c, h, w, o, kh, kw, stride hw, pads tlbr, dilation hw, group
    {"1 channel, odd", 1, 1, 7, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"many channels, wide", 1, 16, 9, 75, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"batch 2, rows of 131", 2, 5, 4, 131, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"stride 2, odd", 2, 6, 11, 9, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"stride 2, wide", 1, 3, 9, 167, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"no padding", 1, 4, 6, 80, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {"asymmetric padding 2", 1, 3, 8, 70, 4, 3, 3, 1, 1, 2, 0, 1, 2, 1, 1, 1},
    {"dilation 2", 1, 3, 9, 70, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
    {"groups", 1, 8, 7, 69, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"image narrower than the kernel", 1, 2, 5, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
};

const double kConnectivity[] = {0.0, 0.5, 0.9};

TEST(Codegen, GeneratedPatternLayersMatchReferenceConv) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    Rng rng(21);
    // All cases in one module: one compiler run. Filter blocks 1, 4 and 8, short and long
    // accumulator runs, 1 to 3 output rows per call, natural and reordered filters.
    SparseModel model;
    std::vector<std::string> names;
    const int blocks[] = {4, 1, 8, 2};  // 1, 3, 1 and 2 output rows per call
    for (const ConvShape& s : kShapes) {
        for (double connectivity : kConnectivity) {
            const int index = static_cast<int>(model.layers.size());
            const std::vector<prune::Pattern> patterns = randomPatterns(index % 2 ? 8 : 4, rng);
            LayerCode layer = patternLayer(index, paramsOf(s), patterns, connectivity, rng);
            layer.tuning.filterBlock = blocks[index % 4];
            layer.tuning.source = index % 2 ? "tuned" : "default";  // "default" picks its own
            layer.tuning.unroll = index % 4 == 1 ? 1 : 2;
            if (index % 2) reorderFilters(layer.fkw);
            model.layers.push_back(std::move(layer));
            names.push_back(std::string(s.name) + ", connectivity " + std::to_string(connectivity) +
                            ", filterBlock " + std::to_string(blocks[index % 4]));
        }
    }
    JitOptions options;
    options.cacheDir = dir.str();
    auto module = compileModel(model, options);
    ASSERT_TRUE(module.ok()) << module.error().toString();
    EXPECT_EQ(module->layerIndices().size(), model.layers.size());
    for (size_t i = 0; i < model.layers.size(); ++i) {
        checkCompiledLayer(*module, model.layers[i], rng, names[i]);
    }
}

// The generated text compiles with the usual warnings as errors, under every compiler present.
TEST(Codegen, GeneratedCodeCompilesWithoutWarnings) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    Rng rng(22);
    SparseModel model;
    model.layers.push_back(patternLayer(0, paramsOf(kShapes[1]), randomPatterns(8, rng), 0.5, rng));
    model.layers.push_back(patternLayer(7, paramsOf(kShapes[3]), randomPatterns(4, rng), 0.9, rng));
    auto source = emitModuleSource(model);
    ASSERT_TRUE(source.ok()) << source.error().toString();
    for (const char* compiler : {"g++", "clang++", "c++"}) {
        if (std::system((std::string(compiler) + " --version > /dev/null 2>&1").c_str()) != 0) {
            continue;
        }
        JitOptions options = quickOptions(dir);
        options.compiler = compiler;
        options.flags = {"-O2",        "-std=c++20", "-Wall",        "-Wextra",
                         "-Wpedantic", "-Wshadow",   "-Wconversion", "-Werror"};
        auto module = compileModule(*source, options);
        EXPECT_TRUE(module.ok()) << compiler << ": " << module.error().toString();
    }
}

TEST(Codegen, CacheHitsAndMisses) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    Rng rng(23);
    SparseModel model;
    model.layers.push_back(patternLayer(0, paramsOf(kShapes[1]), randomPatterns(4, rng), 0.5, rng));
    const JitOptions options = quickOptions(dir);

    auto first = compileModel(model, options);
    ASSERT_TRUE(first.ok()) << first.error().toString();
    EXPECT_FALSE(first->fromCache());
    auto second = compileModel(model, options);
    ASSERT_TRUE(second.ok()) << second.error().toString();
    EXPECT_TRUE(second->fromCache());
    EXPECT_EQ(first->key(), second->key());
    checkCompiledLayer(*second, model.layers[0], rng, "from the cache");

    SparseModel weight = model;
    weight.layers[0].fkw.weights[0] += 1.0f;
    auto changedWeight = compileModel(weight, options);
    ASSERT_TRUE(changedWeight.ok()) << changedWeight.error().toString();
    EXPECT_FALSE(changedWeight->fromCache()) << "a changed weight must miss";
    checkCompiledLayer(*changedWeight, weight.layers[0], rng, "changed weight");

    // Another pattern set (the same kernels' taps moved): the code itself differs.
    SparseModel patterns = model;
    for (prune::Pattern& p : patterns.layers[0].fkw.patterns)
        p = static_cast<prune::Pattern>(p ^ 3);
    for (prune::Pattern& p : patterns.layers[0].fkw.patterns) {
        if (__builtin_popcount(p) != 4) p = 0x1e;  // keep 4 taps: (0,1) (0,2) (1,0) (1,1)
    }
    auto changedPatterns = compileModel(patterns, options);
    ASSERT_TRUE(changedPatterns.ok()) << changedPatterns.error().toString();
    EXPECT_FALSE(changedPatterns->fromCache()) << "a changed pattern set must miss";
    checkCompiledLayer(*changedPatterns, patterns.layers[0], rng, "changed patterns");

    JitOptions otherFlags = options;
    otherFlags.flags = {"-O2", "-std=c++20"};
    auto changedFlags = compileModel(model, otherFlags);
    ASSERT_TRUE(changedFlags.ok()) << changedFlags.error().toString();
    EXPECT_FALSE(changedFlags->fromCache()) << "changed flags must miss";
    EXPECT_NE(changedFlags->key(), first->key());

    // No temporary file is left behind: only whole libraries and their sources.
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        EXPECT_EQ(entry.path().filename().string().rfind("tmp-", 0), std::string::npos)
            << entry.path();
    }
}

TEST(Codegen, HostileLayerNamesNeverBecomeCode) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    Rng rng(24);
    const std::string hostile = "\"); system(\"rm -rf ~\"); /* */ \\\n#define int \n*/ `$(id)`";
    SparseModel model;
    LayerCode layer = patternLayer(3, paramsOf(kShapes[0]), randomPatterns(4, rng), 0.9, rng);
    layer.name = hostile;
    layer.decision = hostile;
    layer.scheme = hostile;
    layer.tuning.source = hostile;
    model.layers.push_back(std::move(layer));
    auto source = emitModuleSource(model);
    ASSERT_TRUE(source.ok()) << source.error().toString();
    // The strings may appear only inside // comments, with no backslash to splice a line.
    std::istringstream lines(*source);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("system(") == std::string::npos &&
            line.find("#define int") == std::string::npos) {
            continue;
        }
        EXPECT_EQ(line.find_first_not_of(' '), line.find("//")) << line;
    }
    EXPECT_EQ(source->find('\\'), std::string::npos);
    auto module = compileModule(*source, quickOptions(dir));
    ASSERT_TRUE(module.ok()) << module.error().toString();
    checkCompiledLayer(*module, model.layers[0], rng, "hostile name");
}

TEST(Codegen, BrokenCompilerGivesAClearError) {
    TempDir dir;
    Rng rng(25);
    SparseModel model;
    model.layers.push_back(patternLayer(0, paramsOf(kShapes[0]), randomPatterns(4, rng), 0.5, rng));

    JitOptions missing = quickOptions(dir);
    missing.compiler = "/nonexistent/bin/c++";
    auto a = compileModel(model, missing);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().code, ErrorCode::NotFound);
    EXPECT_NE(a.error().message.find("/nonexistent/bin/c++"), std::string::npos)
        << a.error().toString();

    JitOptions fails = quickOptions(dir);
    fails.compiler = "/bin/false";
    auto b = compileModel(model, fails);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find("/bin/false"), std::string::npos) << b.error().toString();

    // Through $CXX, as a user would break it.
    const char* old = std::getenv("CXX");
    const std::string saved = old ? old : "";
    ::setenv("CXX", "/bin/false", 1);
    auto c = compileModel(model, quickOptions(dir));
    if (old) {
        ::setenv("CXX", saved.c_str(), 1);
    } else {
        ::unsetenv("CXX");
    }
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("/bin/false"), std::string::npos) << c.error().toString();
}

// A compiler that never finishes is killed at the time limit and reported.
TEST(Codegen, HangingCompilerIsKilledAtTheTimeLimit) {
    TempDir dir;
    const fs::path script = writeSlowCompiler(dir.path());
    JitOptions options = quickOptions(dir);
    options.compiler = script.string();
    options.timeoutSeconds = 1;
    const auto start = std::chrono::steady_clock::now();
    auto module = compileModule("extern \"C\" int f() { return 1; }\n", options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_FALSE(module.ok());
    EXPECT_NE(module.error().message.find("timed out"), std::string::npos)
        << module.error().toString();
    EXPECT_LT(seconds, 10.0);
}

// Cancelling kills a running compiler at once (a window closing mid-compile must not wait for
// it), says Cancelled, and leaves nothing in the cache.
TEST(Codegen, CancelKillsARunningCompileAndCachesNothing) {
    TempDir dir;
    const fs::path script = writeSlowCompiler(dir.path());
    JitOptions options = quickOptions(dir);
    options.compiler = script.string();
    options.timeoutSeconds = 60;
    std::atomic<bool> cancel{false};
    options.cancel = &cancel;
    std::thread canceller([&cancel] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        cancel = true;
    });
    const auto start = std::chrono::steady_clock::now();
    auto module = compileModule("extern \"C\" int f() { return 1; }\n", options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    canceller.join();
    ASSERT_FALSE(module.ok());
    EXPECT_EQ(module.error().code, ErrorCode::Cancelled) << module.error().toString();
    EXPECT_LT(seconds, 10.0);  // not the 30 s the compiler would take, nor the 60 s limit
    for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
        EXPECT_NE(entry.path().extension(), ".so") << entry.path();
    }
    // Already cancelled: no compiler starts at all.
    auto again = compileModule("extern \"C\" int g() { return 2; }\n", options);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::Cancelled);
}

// Progress comes as each library is ready (a live demo shows "7 of 16 layers"): first 0 of all,
// then every one, counting the built ones apart from the cached ones.
TEST(Codegen, CompileReportsProgressPerLibrary) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    Rng rng(29);
    SparseModel model;
    for (int i = 0; i < 3; ++i)
        model.layers.push_back(
            patternLayer(i, paramsOf(kShapes[1]), randomPatterns(4, rng), 0.5, rng));
    JitOptions options = quickOptions(dir);
    std::vector<JitProgress> seen;
    options.onProgress = [&seen](const JitProgress& p) { seen.push_back(p); };
    auto module = compileModel(model, options);
    ASSERT_TRUE(module.ok()) << module.error().toString();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen.front().done, 0);
    EXPECT_EQ(seen.front().total, 3);
    for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i].done, static_cast<int>(i));
    EXPECT_EQ(seen.back().built, 3);
    seen.clear();
    ASSERT_TRUE(compileModel(model, options).ok());
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen.back().done, 3);
    EXPECT_EQ(seen.back().built, 0);  // all from the cache
}

// Threads compiling the same module at once each get a whole library (temporary names, rename).
TEST(Codegen, ConcurrentCompilesOfOneModule) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    Rng rng(28);
    SparseModel model;
    model.layers.push_back(patternLayer(0, paramsOf(kShapes[1]), randomPatterns(4, rng), 0.5, rng));
    auto source = emitModuleSource(model);
    ASSERT_TRUE(source.ok()) << source.error().toString();
    const JitOptions options = quickOptions(dir);
    std::vector<std::optional<Result<CompiledModule>>> results(4);
    std::vector<std::thread> threads;
    for (auto& r : results) {
        threads.emplace_back(
            [&r, &source, &options] { r.emplace(compileModule(*source, options)); });
    }
    for (std::thread& t : threads) t.join();
    for (auto& r : results) {
        ASSERT_TRUE(r->ok()) << r->error().toString();
        checkCompiledLayer(r->value(), model.layers[0], rng, "concurrent compile");
    }
}

TEST(Codegen, CompileErrorsCarryTheCompilersOutput) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    auto module = compileModule("this is not C++;\n", quickOptions(dir));
    ASSERT_FALSE(module.ok());
    EXPECT_EQ(module.error().code, ErrorCode::Internal);
    EXPECT_NE(module.error().message.find("error"), std::string::npos) << module.error().toString();
    EXPECT_NE(module.error().message.find("generic kernels"), std::string::npos);
}

TEST(Codegen, OnlyPatternLayersAreGenerated) {
    Rng rng(26);
    SparseModel model;
    model.layers.push_back(patternLayer(0, paramsOf(kShapes[0]), randomPatterns(4, rng), 0.5, rng));
    LayerCode csr = model.layers[0];
    csr.index = 1;
    csr.kind = KernelKind::Csr;
    model.layers.push_back(csr);
    LayerCode dense = model.layers[0];
    dense.index = 2;
    dense.kind = KernelKind::Dense;
    model.layers.push_back(dense);
    std::string why;
    EXPECT_FALSE(canEmitLayer(model.layers[1], &why));
    EXPECT_NE(why.find("generic kernel"), std::string::npos) << why;
    auto source = emitModuleSource(model);
    ASSERT_TRUE(source.ok()) << source.error().toString();
    EXPECT_NE(source->find("pl_layer_0("), std::string::npos);
    EXPECT_EQ(source->find("pl_layer_1("), std::string::npos);
    EXPECT_EQ(source->find("pl_layer_2("), std::string::npos);
    EXPECT_NE(source->find("layer 1: csr"), std::string::npos);
    EXPECT_FALSE(emitLayerSource(model.layers[1]).ok());
}

// The package builds with cmake alone (as the phone's cross build will use it), and the library
// it makes holds the layers.
TEST(Codegen, ExportedSourcePackageBuildsWithCmake) {
    SKIP_WITHOUT_COMPILER();
    if (std::system("cmake --version > /dev/null 2>&1") != 0) {
        GTEST_SKIP() << "SKIPPED: no cmake on PATH";
    }
    TempDir dir;
    Rng rng(27);
    SparseModel model;
    model.layers.push_back(patternLayer(2, paramsOf(kShapes[3]), randomPatterns(8, rng), 0.5, rng));
    model.layers.push_back(patternLayer(5, paramsOf(kShapes[0]), randomPatterns(4, rng), 0.9, rng));
    const fs::path src = dir.path() / "package";
    const Status written = exportSourcePackage(model, src.string());
    ASSERT_TRUE(written.ok()) << written.error().toString();
    for (const char* f :
         {"CMakeLists.txt", "prunelab_kernels.h", "module.cpp", "layer_2.cpp", "layer_5.cpp"}) {
        EXPECT_TRUE(fs::exists(src / f)) << f;
    }
    const fs::path build = dir.path() / "build";
    const std::string cmd = "cmake -S '" + src.string() + "' -B '" + build.string() + "' > '" +
                            (dir.path() / "log").string() + "' 2>&1 && cmake --build '" +
                            build.string() + "' >> '" + (dir.path() / "log").string() + "' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "see " << cmd;
    bool found = false;
    for (const auto& entry : fs::recursive_directory_iterator(build)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("libprunelab_kernels", 0) == 0) found = true;
    }
    EXPECT_TRUE(found) << "no libprunelab_kernels in " << build;
}

// ---- One library per layer ---------------------------------------------------------------

// The layer run whole (through the module, or the generic kernel when `module` is null) against
// referenceSparseLayer on random input.
void expectMatchesReferenceSparse(const CompiledModule* module, const LayerCode& layer, Rng& rng,
                                  const std::string& what) {
    const ConvParams& c = layer.conv;
    const Tensor x = randomTensor({c.batch, c.inChannels, c.inH, c.inW}, rng);
    Tensor expected(DataType::Float32, {c.batch, c.outChannels, c.outH, c.outW});
    referenceSparseLayer(layer, x.data<float>(), expected.data<float>(), Epilogue{});
    Tensor actual(DataType::Float32, expected.shape());
    std::fill(actual.data<float>(), actual.data<float>() + actual.elements(),
              std::numeric_limits<float>::quiet_NaN());
    if (module) {
        ASSERT_NE(module->layer(layer.index), nullptr) << what;
        module->run(layer, x.data<float>(), actual.data<float>(), Epilogue{}, 0, c.outH);
    } else {
        runSparseLayer(layer, x.data<float>(), actual.data<float>(), Epilogue{}, 0, c.outH);
    }
    expectClose(expected, actual, what);
}

// Three small pattern layers and one CSR layer (never generated).
SparseModel threeLayerModel(Rng& rng) {
    SparseModel model;
    model.layers.push_back(patternLayer(0, paramsOf(kShapes[1]), randomPatterns(4, rng), 0.5, rng));
    model.layers.push_back(patternLayer(1, paramsOf(kShapes[3]), randomPatterns(8, rng), 0.9, rng));
    LayerCode csr = model.layers[0];
    csr.index = 2;
    csr.kind = KernelKind::Csr;
    model.layers.push_back(csr);
    model.layers.push_back(patternLayer(3, paramsOf(kShapes[5]), randomPatterns(4, rng), 0.5, rng));
    return model;
}

TEST(Codegen, CompileModelBuildsOneLibraryPerLayerAndRecompilesOnlyChangedOnes) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    Rng rng(29);
    const SparseModel model = threeLayerModel(rng);
    JitOptions options = quickOptions(dir);
    options.jobs = 2;

    auto first = compileModel(model, options);
    ASSERT_TRUE(first.ok()) << first.error().toString();
    EXPECT_EQ(first->layerIndices(), (std::vector<int>{0, 1, 3}));
    ASSERT_EQ(first->libraryPaths().size(), 3u);
    EXPECT_EQ(first->libraryPath(), first->libraryPaths()[0]);
    EXPECT_NE(first->libraryPaths()[0], first->libraryPaths()[1]);
    EXPECT_NE(first->libraryPaths()[1], first->libraryPaths()[2]);
    EXPECT_FALSE(first->fromCache());
    EXPECT_EQ(first->compiled(), 3);

    auto again = compileModel(model, options);
    ASSERT_TRUE(again.ok()) << again.error().toString();
    EXPECT_TRUE(again->fromCache());
    EXPECT_EQ(again->compiled(), 0);
    EXPECT_EQ(again->key(), first->key());

    SparseModel changed = model;
    changed.layers[1].fkw.weights[0] += 1.0f;
    auto second = compileModel(changed, options);
    ASSERT_TRUE(second.ok()) << second.error().toString();
    EXPECT_FALSE(second->fromCache()) << "one layer changed: not everything from the cache";
    EXPECT_EQ(second->compiled(), 1) << "only the changed layer is compiled again";
    ASSERT_EQ(second->libraryPaths().size(), 3u);
    EXPECT_EQ(second->libraryPaths()[0], first->libraryPaths()[0]);
    EXPECT_NE(second->libraryPaths()[1], first->libraryPaths()[1]);
    EXPECT_EQ(second->libraryPaths()[2], first->libraryPaths()[2]);
    EXPECT_NE(second->key(), first->key());
    for (const LayerCode& layer : changed.layers) {
        if (layer.kind != KernelKind::Pattern) {
            EXPECT_EQ(second->layer(layer.index), nullptr);
            continue;
        }
        expectMatchesReferenceSparse(&*second, layer, rng,
                                     "per-layer library of layer " + std::to_string(layer.index));
    }
}

// Emission honours a tuned row count (kept to 16 accumulators) and leaves where the tuning came
// from out of the text, so "tuned" and "cache" give one library.
TEST(Codegen, TunedRowsAreEmittedAndTheTuningSourceIsNotInTheText) {
    Rng rng(30);
    LayerCode layer = patternLayer(0, paramsOf(kShapes[1]), randomPatterns(4, rng), 0.5, rng);
    layer.tuning.filterBlock = 2;
    layer.tuning.rows = 3;
    layer.tuning.unroll = 2;
    layer.tuning.source = "tuned";
    layer.tuning.measuredMs = 1.5;
    auto tuned = emitLayerModuleSource(layer);
    ASSERT_TRUE(tuned.ok()) << tuned.error().toString();
    EXPECT_NE(tuned->find("constexpr int64_t kRows = 3;"), std::string::npos);
    EXPECT_NE(tuned->find("constexpr int kUnroll = 2;"), std::string::npos);
    layer.tuning.source = "cache";
    layer.tuning.measuredMs = 9;
    auto cached = emitLayerModuleSource(layer);
    ASSERT_TRUE(cached.ok()) << cached.error().toString();
    EXPECT_EQ(*tuned, *cached);
    layer.tuning.filterBlock = 8;  // 8 x 3 rows would be 24 accumulators: 2 rows, 1 vector
    auto capped = emitLayerModuleSource(layer);
    ASSERT_TRUE(capped.ok()) << capped.error().toString();
    EXPECT_NE(capped->find("constexpr int64_t kRows = 2;"), std::string::npos);
    EXPECT_NE(capped->find("constexpr int kUnroll = 1;"), std::string::npos);
}

// Untuned, a layer gets as many vectors per run (up to 4) as fit between its edge columns: a
// longer run would send every pixel through the checked edge loop.
TEST(Codegen, UntunedRunsFitBetweenTheEdges) {
    Rng rng(31);
    for (auto [width, vectors] : {std::pair{40, 2}, {66, 4}, {20, 1}, {300, 4}}) {
        ConvParams c = paramsOf(kShapes[1]);
        c.inW = c.outW = width;  // 3x3, pad 1: width - 2 unchecked columns
        LayerCode layer = patternLayer(0, c, randomPatterns(4, rng), 0.5, rng);
        auto text = emitLayerModuleSource(layer);
        ASSERT_TRUE(text.ok()) << text.error().toString();
        EXPECT_NE(text->find("constexpr int kUnroll = " + std::to_string(vectors) + ";"),
                  std::string::npos)
            << "width " << width;
    }
}

// ---- The tune pass -------------------------------------------------------------------------

// A compiler script that answers --version as "tune-test-cc 1.0" and compiles with the real
// compiler, or (working = false) fails every compile: the same identity either way, so its
// cache entries stay valid while it proves that nothing was compiled.
void writeCompilerScript(const fs::path& path, bool working) {
    {
        std::ofstream f(path, std::ios::trunc);
        f << "#!/bin/sh\nif [ \"$1\" = --version ]; then echo tune-test-cc 1.0; exit 0; fi\n"
          << (working ? "exec \"${CXX:-c++}\" \"$@\"\n" : "echo no compiling here >&2; exit 1\n");
    }
    fs::permissions(path, fs::perms::owner_all);
}

bool isCandidate(const Tuning& t, const std::vector<Tuning>& candidates) {
    for (const Tuning& c : candidates) {
        if (c.filterBlock == t.filterBlock && c.rows == t.rows && c.unroll == t.unroll) return true;
    }
    return false;
}

size_t countOf(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

std::vector<fs::path> jsonFiles(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    return files;
}

TEST(Codegen, TunePicksATimedCandidateCachesItAndReusesItsLibrary) {
    SKIP_WITHOUT_COMPILER();
    TempDir dir;
    Rng rng(31);
    const SparseModel model = threeLayerModel(rng);
    const fs::path script = dir.path() / "tune-cc";
    writeCompilerScript(script, true);
    TuneOptions options;
    options.jit = quickOptions(dir);
    options.jit.cacheDir = (dir.path() / "kernels").string();
    options.jit.compiler = script.string();
    options.jit.jobs = 2;
    options.cacheDir = (dir.path() / "tuning").string();
    options.runs = 3;
    const std::vector<Tuning> candidates = defaultTuneCandidates();
    ASSERT_EQ(candidates.size(), 5u);

    SparseModel tuned = model;
    const Status st = tune(tuned, options);
    ASSERT_TRUE(st.ok()) << st.error().toString();
    ASSERT_FALSE(tuned.passes.empty());
    const PassRecord& record = tuned.passes.back();
    EXPECT_EQ(record.pass, "tune");
    for (const Tuning& c : candidates) {  // every candidate timed for each of the 3 layers
        const std::string line = "filters " + std::to_string(c.filterBlock) + " x rows " +
                                 std::to_string(c.rows) + " x unroll " + std::to_string(c.unroll) +
                                 ": ";
        EXPECT_EQ(countOf(record.dump, line), 3u) << line << "\n" << record.dump;
    }
    EXPECT_EQ(countOf(record.dump, "<- pick"), 3u) << record.dump;
    EXPECT_EQ(countOf(record.dump, "generated kernel"), 3u) << record.dump;
    for (const LayerCode& layer : tuned.layers) {
        if (layer.kind != KernelKind::Pattern) {
            EXPECT_EQ(layer.tuning.source, "default") << "only pattern layers are tuned";
            continue;
        }
        EXPECT_EQ(layer.tuning.source, "tuned");
        EXPECT_TRUE(isCandidate(layer.tuning, candidates)) << layer.index;
        EXPECT_GT(layer.tuning.measuredMs, 0.0);
    }
    EXPECT_EQ(jsonFiles(options.cacheDir).size(), 3u);

    // The picked variants are the libraries the tune pass built and timed.
    auto module = compileModel(tuned, options.jit);
    ASSERT_TRUE(module.ok()) << module.error().toString();
    EXPECT_TRUE(module->fromCache());
    for (const LayerCode& layer : tuned.layers) {
        if (layer.kind == KernelKind::Pattern) {
            expectMatchesReferenceSparse(&*module, layer, rng,
                                         "tuned layer " + std::to_string(layer.index));
        }
    }

    // Again with a compiler that cannot compile: every layer from the cache, nothing compiled.
    writeCompilerScript(script, false);
    SparseModel again = model;
    ASSERT_TRUE(tune(again, options).ok());
    for (size_t i = 0; i < again.layers.size(); ++i) {
        if (again.layers[i].kind != KernelKind::Pattern) continue;
        EXPECT_EQ(again.layers[i].tuning.source, "cache") << again.passes.back().dump;
        EXPECT_EQ(again.layers[i].tuning.filterBlock, tuned.layers[i].tuning.filterBlock);
        EXPECT_EQ(again.layers[i].tuning.rows, tuned.layers[i].tuning.rows);
        EXPECT_EQ(again.layers[i].tuning.unroll, tuned.layers[i].tuning.unroll);
        EXPECT_EQ(again.layers[i].tuning.measuredMs, tuned.layers[i].tuning.measuredMs);
    }
    EXPECT_EQ(countOf(again.passes.back().dump, "from the cache"), 3u) << again.passes.back().dump;
    auto cachedModule = compileModel(again, options.jit);  // "cache" emits as "tuned" did
    ASSERT_TRUE(cachedModule.ok()) << cachedModule.error().toString();
    EXPECT_TRUE(cachedModule->fromCache());

    // A changed weight misses: its candidates would be compiled, which this compiler refuses,
    // so the generic kernel is tuned for it instead; the other layers still hit.
    SparseModel changed = model;
    changed.layers[0].fkw.weights[0] += 1.0f;
    ASSERT_TRUE(tune(changed, options).ok());
    const std::string& dump = changed.passes.back().dump;
    EXPECT_EQ(changed.layers[0].tuning.source, "tuned") << dump;
    EXPECT_NE(dump.find("no candidate compiled"), std::string::npos) << dump;
    EXPECT_NE(dump.find("no compiling here"), std::string::npos) << dump;
    EXPECT_EQ(changed.layers[1].tuning.source, "cache") << dump;
    EXPECT_EQ(changed.layers[3].tuning.source, "cache") << dump;
    expectMatchesReferenceSparse(nullptr, changed.layers[0], rng, "generic after a miss");

    // Corrupt cache files are ignored (tuned again, the libraries still cached) and rewritten.
    writeCompilerScript(script, true);
    const std::vector<fs::path> files = jsonFiles(options.cacheDir);
    ASSERT_GE(files.size(), 3u);
    const char* garbage[] = {"{not json", "", "{\"version\": 1, \"key\": 7, \"pick\": 99}"};
    for (size_t i = 0; i < files.size(); ++i) {
        std::ofstream f(files[i], std::ios::trunc);
        f << garbage[i % 3];
    }
    SparseModel corrupt = model;
    ASSERT_TRUE(tune(corrupt, options).ok());
    for (const LayerCode& layer : corrupt.layers) {
        if (layer.kind == KernelKind::Pattern) {
            EXPECT_EQ(layer.tuning.source, "tuned") << corrupt.passes.back().dump;
        }
    }
    SparseModel afterCorrupt = model;
    ASSERT_TRUE(tune(afterCorrupt, options).ok());
    for (const LayerCode& layer : afterCorrupt.layers) {
        if (layer.kind == KernelKind::Pattern) {
            EXPECT_EQ(layer.tuning.source, "cache") << afterCorrupt.passes.back().dump;
        }
    }
    for (const auto& entry : fs::directory_iterator(options.cacheDir)) {  // no temporary left
        EXPECT_EQ(entry.path().filename().string().rfind("tmp-", 0), std::string::npos)
            << entry.path();
    }
}

TEST(Codegen, TuneWithoutACompilerTunesTheGenericFilterBlock) {
    TempDir dir;
    Rng rng(32);
    SparseModel model;
    model.layers.push_back(patternLayer(0, paramsOf(kShapes[1]), randomPatterns(4, rng), 0.5, rng));
    TuneOptions options;
    options.jit = quickOptions(dir);
    options.jit.compiler = "/nonexistent/bin/c++";
    options.cacheDir = (dir.path() / "tuning").string();
    options.runs = 3;
    ASSERT_TRUE(tune(model, options).ok());
    const std::string& dump = model.passes.back().dump;
    EXPECT_NE(dump.find("no working compiler"), std::string::npos) << dump;
    EXPECT_NE(dump.find("/nonexistent/bin/c++"), std::string::npos) << dump;
    EXPECT_NE(dump.find("generic kernel"), std::string::npos) << dump;
    for (const char* c : {"filterBlock 1: ", "filterBlock 2: ", "filterBlock 4: "}) {
        EXPECT_NE(dump.find(c), std::string::npos) << c << "\n" << dump;
    }
    const Tuning& t = model.layers[0].tuning;
    EXPECT_EQ(t.source, "tuned");
    EXPECT_TRUE(t.filterBlock == 1 || t.filterBlock == 2 || t.filterBlock == 4) << t.filterBlock;
    expectMatchesReferenceSparse(nullptr, model.layers[0], rng, "generic, tuned");

    SparseModel again;
    again.layers.push_back(model.layers[0]);
    again.layers[0].tuning = Tuning{};
    ASSERT_TRUE(tune(again, options).ok());
    EXPECT_EQ(again.layers[0].tuning.source, "cache") << again.passes.back().dump;
    EXPECT_EQ(again.layers[0].tuning.filterBlock, t.filterBlock);
}

}  // namespace
}  // namespace prunelab::engine::codegen
