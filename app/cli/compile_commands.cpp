// The compile command: runs the sparse compiler on a pruned model and writes what each pass
// left, so a student can read how a pattern layer became FKW storage and why a layer stays dense.
#include "app/cli/compile_commands.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/codegen/passes.h"
#include "engine/prune/pruned_model.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/compile.h"
#include "engine/runtime/cpu/sparse/emit.h"
#include "engine/runtime/cpu/sparse/jit.h"
#include "engine/runtime/cpu/sparse/tune.h"

namespace prunelab::cli {

using namespace prunelab::engine;

namespace {

Status writeText(const std::filesystem::path& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
    f.close();
    if (!f) return makeError(ErrorCode::Io, "cannot write the file", path.string());
    return {};
}

}  // namespace

Result<codegen::SparseModel> compileLoadedModel(const LoadedModel& model, int measureThreads,
                                                bool tune,
                                                std::shared_ptr<const GeneratedKernels>* generated,
                                                const Backend* backend) {
    CompileForOptions options;
    options.tune = tune;
    options.generate = generated != nullptr;
    options.measure = measureThreads > 0;
    options.measureThreads = std::max(1, measureThreads);
    PL_TRY_ASSIGN(CompiledForBackend compiled,
                  compileFor(backend ? *backend : defaultBackend(), model.graph, options));
    if (generated) {
        *generated = compiled.generated;
        // No host libraries: the CPU's generic kernels (the reason is in `kernels`), or a
        // backend that generates its code at prepare (the GPU's GLSL).
        if (!compiled.generated) {
            std::fprintf(stderr, "prunelab-cli: the sparse layers run with the %s\n",
                         compiled.kernels.c_str());
        }
    }
    return *compiled.model;
}

int cmdCompile(const ModelRequest& request, const std::string& outDir, bool build, bool measure,
               bool tune, const Backend* backend) {
    auto model = loadModel(request);
    if (!model.ok()) return fail(model.error());
    std::shared_ptr<const GeneratedKernels> generated;
    auto compiled =
        compileLoadedModel(*model, measure ? 1 : 0, tune, build ? &generated : nullptr, backend);
    if (!compiled.ok()) return fail(compiled.error());
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(fs::path(outDir) / "passes", ec);
    if (ec)
        return fail(makeError(ErrorCode::Io, "cannot create the folder: " + ec.message(), outDir));
    int n = 0;
    for (const codegen::PassRecord& p : compiled->passes) {
        char name[64];
        std::snprintf(name, sizeof name, "%02d-%s.txt", ++n, p.pass.c_str());
        if (Status st = writeText(fs::path(outDir) / "passes" / name, p.dump); !st.ok())
            return fail(st.error());
    }
    if (Status st = writeText(fs::path(outDir) / "layers.txt", codegen::dumpModel(*compiled));
        !st.ok())
        return fail(st.error());

    std::printf("%-4s %-10s %8s %12s  %s\n", "#", "kernel", "density", "kept MMACs", "decision");
    int64_t dense = 0, kept = 0;
    for (const codegen::LayerCode& l : compiled->layers) {
        std::printf("%-4d %-10s %8.3f %12.2f  %s\n", l.index, codegen::kernelKindName(l.kind),
                    l.density, static_cast<double>(l.keptMacs) / 1e6, l.decision.c_str());
        dense += l.denseMacs, kept += l.keptMacs;
    }
    std::printf(
        "%zu layers, %.1f of %.1f MMACs kept (%.2fx fewer); passes:", compiled->layers.size(),
        static_cast<double>(kept) / 1e6, static_cast<double>(dense) / 1e6,
        kept > 0 ? static_cast<double>(dense) / static_cast<double>(kept) : 0.0);
    for (const codegen::PassRecord& p : compiled->passes) {
        std::printf(" %s %.1f ms", p.pass.c_str(), p.milliseconds);
    }
    std::printf("\nwrote %s/layers.txt and %s/passes/\n", outDir.c_str(), outDir.c_str());
    const fs::path src = fs::path(outDir) / "src";
    if (Status st = cpu::exportSourcePackage(*compiled, src.string()); !st.ok())
        return fail(st.error());
    std::printf("wrote the generated sources to %s (cmake -S %s -B build builds them)\n",
                src.c_str(), src.c_str());
    if (!build) return 0;
    if (!generated) {
        return fail(makeError(
            ErrorCode::NotFound,
            "no generated kernels were built (the reason is above); the generic kernels will run "
            "these layers instead",
            outDir));
    }
    // The CPU backend's generated code is a set of host libraries; another backend's is not.
    const auto* module = dynamic_cast<const cpu::CompiledModule*>(generated.get());
    if (!module) {
        return fail(makeError(ErrorCode::Unsupported,
                              "the '" + std::string(generated->backend()) +
                                  "' backend's generated kernels are not host libraries to copy",
                              outDir));
    }
    // One library per layer, each with its own module table (a single kernels.so holding only
    // the first layer would mislead).
    const fs::path libs = fs::path(outDir) / "kernels";
    fs::remove_all(libs, ec);
    fs::create_directories(libs, ec);
    const std::vector<std::string>& paths = module->libraryPaths();
    for (size_t i = 0; i < paths.size() && !ec; ++i) {
        // compileModel's libraries follow the layers, whose indices ascend.
        const std::string name = paths.size() == module->layerIndices().size()
                                     ? "layer_" + std::to_string(module->layerIndices()[i]) + ".so"
                                     : "library_" + std::to_string(i) + ".so";
        fs::copy_file(paths[i], libs / name, fs::copy_options::overwrite_existing, ec);
    }
    if (ec)
        return fail(makeError(ErrorCode::Io, "cannot copy the libraries: " + ec.message(), libs));
    std::printf("%s %zu generated layer(s) with %s (%zu of %zu libraries compiled now): %s/\n",
                module->fromCache() ? "reused" : "compiled", module->layerIndices().size(),
                module->compilerIdentity().c_str(), static_cast<size_t>(module->compiled()),
                paths.size(), libs.c_str());
    return 0;
}

}  // namespace prunelab::cli
