// The tune pass (tune.h): candidates compiled through the JIT, timed interleaved on one thread,
// the pick cached as a small JSON file per layer and machine.
#include "engine/runtime/cpu/sparse/tune.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <system_error>

#include "engine/runtime/cpu/sparse/emit.h"
#include "engine/runtime/cpu/sparse/generic_kernels.h"
#include "engine/runtime/cpu/sparse/jit_internal.h"

#include <nlohmann/json.hpp>

namespace prunelab::engine::cpu {

using codegen::KernelKind;
using codegen::LayerCode;
using codegen::PassRecord;
using codegen::SparseModel;
using codegen::Tuning;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kTuneCacheVersion = 1;

enum class Mode { Generated, Generic };

const char* modeName(Mode m) {
    return m == Mode::Generated ? "generated" : "generic";
}

std::string describe(const Tuning& t, Mode mode) {
    char buf[96];
    if (mode == Mode::Generic) {
        std::snprintf(buf, sizeof buf, "filterBlock %d", t.filterBlock);
    } else {
        std::snprintf(buf, sizeof buf, "filters %d x rows %d x unroll %d", t.filterBlock, t.rows,
                      t.unroll);
    }
    return buf;
}

std::string named(const LayerCode& layer) {
    return layer.name.empty() ? "" : " (" + layer.name + ")";
}

std::string ms(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f ms", v);
    return buf;
}

// The generic kernel reads only filterBlock; rows 0 and unroll 4 are what emission would derive,
// should the layer be generated later with this tuning.
std::vector<Tuning> genericCandidates() {
    std::vector<Tuning> c;
    for (int fb : {1, 2, 4}) {
        Tuning t;
        t.filterBlock = fb;
        t.rows = 0;
        t.unroll = 4;
        c.push_back(t);
    }
    return c;
}

std::vector<Tuning> normalised(const std::vector<Tuning>& in) {
    std::vector<Tuning> out;
    for (const Tuning& c : in) {
        Tuning t;
        t.filterBlock = c.filterBlock;
        t.rows = c.rows;
        t.unroll = c.unroll;
        t.pixelBlock = c.pixelBlock;
        t.source = "tuned";
        out.push_back(t);
    }
    return out;
}

// What the timing depends on: the layer's shape and storage as packed (not its index or name:
// the same layer elsewhere in a model times the same), the kernel, the machine, the candidates.
std::string cacheKey(const LayerCode& layer, Mode mode, const std::string& compiler,
                     const std::vector<Tuning>& candidates) {
    detail::Hasher h;
    h.add("prunelab tune v" + std::to_string(kTuneCacheVersion));
    h.add(modeName(mode));
    h.addBytes(&layer.conv, sizeof layer.conv);
    const int gemm = layer.gemm ? 1 : 0;
    h.addBytes(&gemm, sizeof gemm);
    h.addVector(layer.fkw.patterns);
    h.addVector(layer.fkw.filterOrder);
    h.addVector(layer.fkw.kernelStart);
    h.addVector(layer.fkw.inputChannel);
    h.addVector(layer.fkw.patternId);
    h.addVector(layer.fkw.weights);
    h.addVector(layer.bias);
    h.add(compiler);
    h.add(detail::hostCpuIdentity());
    for (const Tuning& t : candidates) {
        h.add(std::to_string(t.filterBlock) + "," + std::to_string(t.rows) + "," +
              std::to_string(t.unroll) + "," + std::to_string(t.pixelBlock));
    }
    return h.hex();
}

struct CachedChoice {
    size_t pick = 0;
    std::vector<double> ms;
};

// The cached choice, or nothing when the file is missing, unreadable or does not describe
// exactly these candidates under this key (then it is tuned again and rewritten).
std::optional<CachedChoice> readCache(const fs::path& path, const std::string& key,
                                      const std::vector<Tuning>& candidates) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    std::ostringstream text;
    text << f.rdbuf();
    const json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    auto intAt = [](const json& o, const char* name, int64_t& out) {
        const auto it = o.find(name);
        if (it == o.end() || !it->is_number_integer()) return false;
        out = it->get<int64_t>();
        return true;
    };
    int64_t version = 0, pick = 0;
    const auto k = j.find("key");
    const auto list = j.find("candidates");
    if (!intAt(j, "version", version) || version != kTuneCacheVersion || k == j.end() ||
        !k->is_string() || k->get<std::string>() != key || !intAt(j, "pick", pick) ||
        list == j.end() || !list->is_array() || list->size() != candidates.size() || pick < 0 ||
        pick >= static_cast<int64_t>(candidates.size())) {
        return std::nullopt;
    }
    CachedChoice choice;
    choice.pick = static_cast<size_t>(pick);
    for (size_t i = 0; i < candidates.size(); ++i) {
        const json& c = (*list)[i];
        int64_t fb = 0, rows = 0, unroll = 0;
        if (!c.is_object() || !intAt(c, "filterBlock", fb) || !intAt(c, "rows", rows) ||
            !intAt(c, "unroll", unroll) || fb != candidates[i].filterBlock ||
            rows != candidates[i].rows || unroll != candidates[i].unroll) {
            return std::nullopt;
        }
        const auto t = c.find("ms");
        if (t == c.end() || !t->is_number()) return std::nullopt;
        const double v = t->get<double>();
        if (!std::isfinite(v) || v < 0) return std::nullopt;  // a failed candidate is stored as -1
        choice.ms.push_back(v);
    }
    return choice;
}

// Whole file or none: written to a name of its own, then renamed over the old one.
bool writeCache(const fs::path& path, const std::string& key, Mode mode,
                const std::vector<Tuning>& candidates, const std::vector<double>& times,
                size_t pick) {
    json j;
    j["version"] = kTuneCacheVersion;
    j["key"] = key;
    j["kernel"] = modeName(mode);
    j["pick"] = pick;
    json list = json::array();
    for (size_t i = 0; i < candidates.size(); ++i) {
        list.push_back({{"filterBlock", candidates[i].filterBlock},
                        {"rows", candidates[i].rows},
                        {"unroll", candidates[i].unroll},
                        {"ms", std::isfinite(times[i]) ? times[i] : -1.0}});
    }
    j["candidates"] = std::move(list);
    const fs::path tmp = path.parent_path() / ("tmp-" + detail::uniqueSuffix() + ".json");
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << j.dump(1) << "\n";
        f.close();
        if (!f) {
            std::error_code ec;
            fs::remove(tmp, ec);
            return false;
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) fs::remove(tmp, ec);
    return !ec;
}

// Median ms of each runner: one warm-up each, then `runs` rounds, each in another order.
std::vector<double> timeInterleaved(const std::vector<std::function<void()>>& runners, int runs) {
    const size_t n = runners.size();
    for (const auto& r : runners) r();
    std::vector<std::vector<double>> samples(n);
    for (int round = 0; round < std::max(1, runs); ++round) {
        for (size_t k = 0; k < n; ++k) {
            const size_t i = (k + static_cast<size_t>(round)) % n;
            const auto start = std::chrono::steady_clock::now();
            runners[i]();
            samples[i].push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
        }
    }
    std::vector<double> medians;
    for (auto& s : samples) {
        std::sort(s.begin(), s.end());
        medians.push_back(s.size() % 2 ? s[s.size() / 2]
                                       : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2);
    }
    return medians;
}

std::vector<float> randomInput(const ConvParams& c) {
    std::vector<float> x(static_cast<size_t>(c.batch * c.inChannels * c.inH * c.inW));
    std::mt19937 rng(1234);
    for (float& v : x) v = static_cast<float>(rng() >> 8) / static_cast<float>(1u << 23) - 1.0f;
    return x;
}

size_t outputSize(const ConvParams& c) {
    return static_cast<size_t>(c.batch * c.outChannels * c.outH * c.outW);
}

// A layer to tune and what became of it.
struct Job {
    size_t layer = 0;
    Mode mode = Mode::Generic;
    std::string why;  // why the generic kernel, when it is
    std::vector<Tuning> candidates;
    std::string key;
    fs::path file;
    std::vector<Result<CompiledModule>> modules;  // generated: parallel to candidates
};

}  // namespace

std::vector<Tuning> defaultTuneCandidates() {
    std::vector<Tuning> c;
    for (const auto& [fb, rows, unroll] :
         {std::array<int, 3>{4, 1, 4}, {2, 2, 4}, {1, 3, 4}, {8, 1, 2}, {4, 1, 2}}) {
        Tuning t;
        t.filterBlock = fb;
        t.rows = rows;
        t.unroll = unroll;
        c.push_back(t);
    }
    return c;
}

Status tune(SparseModel& model, const TuneOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    const fs::path dir = options.cacheDir.empty() ? fs::path(detail::cacheRoot()) / "tuning"
                                                  : fs::path(options.cacheDir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return makeError(ErrorCode::Io, "cannot create the tuning cache: " + ec.message(),
                         dir.string());
    }
    const std::vector<Tuning> generated =
        normalised(options.candidates.empty() ? defaultTuneCandidates() : options.candidates);
    const std::vector<Tuning> generic = normalised(genericCandidates());

    std::ostringstream record;
    const auto compiler = detail::identifyCompiler(options.jit);
    std::string compilerKey;
    if (compiler.ok()) {
        compilerKey = compiler->path + "\n" + compiler->version;
        for (const std::string& f : compiler->flags) compilerKey += "\n" + f;
        record << "compiler: " << compiler->describe() << "\n";
    } else {
        record << "no working compiler (" << compiler.error().toString()
               << "): the generic kernel's filterBlock is tuned instead\n";
    }
    record << "timing: one thread, the whole layer on random input, one warm-up then "
           << std::max(1, options.runs) << " interleaved runs per candidate, medians\n";

    std::vector<Job> jobs;
    for (size_t i = 0; i < model.layers.size(); ++i) {
        const LayerCode& layer = model.layers[i];
        if (layer.kind != KernelKind::Pattern) continue;
        Job job;
        job.layer = i;
        std::string why;
        if (!canEmitLayer(layer, &why)) {
            job.why = why;
        } else if (!compiler.ok()) {
            job.why = "no working compiler";
        } else {
            job.mode = Mode::Generated;
        }
        job.candidates = job.mode == Mode::Generated ? generated : generic;
        job.key = cacheKey(layer, job.mode, job.mode == Mode::Generated ? compilerKey : "",
                           job.candidates);
        job.file = dir / (job.key + ".json");
        jobs.push_back(std::move(job));
    }

    // Cache hits first: they need neither the compiler nor the clock.
    std::vector<Job> misses;
    for (Job& job : jobs) {
        LayerCode& layer = model.layers[job.layer];
        const auto hit =
            options.useCache ? readCache(job.file, job.key, job.candidates) : std::nullopt;
        if (!hit) {
            misses.push_back(std::move(job));
            continue;
        }
        layer.tuning = job.candidates[hit->pick];
        layer.tuning.source = "cache";
        layer.tuning.measuredMs = hit->ms[hit->pick];
        record << "layer " << layer.index << named(layer) << ": " << modeName(job.mode)
               << " kernel, from the cache (" << job.file.filename().string()
               << "): " << describe(layer.tuning, job.mode) << ", " << ms(layer.tuning.measuredMs)
               << " when tuned\n";
    }

    // Every generated candidate of every missed layer in one parallel compile.
    std::vector<std::string> sources;
    std::vector<std::pair<size_t, size_t>> owner;  // (miss, candidate) per source
    for (size_t m = 0; m < misses.size(); ++m) {
        if (misses[m].mode != Mode::Generated) continue;
        LayerCode& layer = model.layers[misses[m].layer];
        const Tuning saved = layer.tuning;
        for (size_t c = 0; c < misses[m].candidates.size(); ++c) {
            layer.tuning = misses[m].candidates[c];
            auto source = emitLayerModuleSource(layer);
            if (source.ok()) {
                sources.push_back(std::move(*source));
                owner.push_back({m, c});
            }
            misses[m].modules.push_back(source.ok() ? Result<CompiledModule>(CompiledModule())
                                                    : Result<CompiledModule>(source.error()));
        }
        layer.tuning = saved;
    }
    std::vector<Result<CompiledModule>> built = compileModules(sources, options.jit);
    for (size_t s = 0; s < built.size(); ++s) {
        misses[owner[s].first].modules[owner[s].second] = std::move(built[s]);
    }

    for (Job& job : misses) {
        LayerCode& layer = model.layers[job.layer];
        const ConvParams& c = layer.conv;
        const std::vector<float> input = randomInput(c);
        std::vector<float> output(outputSize(c));
        std::vector<std::function<void()>> runners;
        std::vector<size_t> which;  // candidate per runner
        std::ostringstream failures;
        if (job.mode == Mode::Generated) {
            for (size_t k = 0; k < job.candidates.size(); ++k) {
                if (!job.modules[k].ok()) {
                    failures << "  " << describe(job.candidates[k], job.mode)
                             << ": not compiled: " << job.modules[k].error().toString() << "\n";
                    continue;
                }
                const CompiledModule* module = &job.modules[k].value();
                runners.push_back([module, &layer, &input, &output, c] {
                    module->run(layer, input.data(), output.data(), Epilogue{}, 0, c.outH);
                });
                which.push_back(k);
            }
            if (runners.empty()) {
                // No candidate compiled: the generic kernel is what will run, so tune that.
                job.mode = Mode::Generic;
                job.why = "no candidate compiled";
                job.candidates = generic;
                job.key = cacheKey(layer, job.mode, "", job.candidates);
                job.file = dir / (job.key + ".json");
            }
        }
        if (job.mode == Mode::Generic) {
            // A copy per candidate: runSparseLayer reads the filterBlock from the layer.
            for (size_t k = 0; k < job.candidates.size(); ++k) {
                auto copy = std::make_shared<LayerCode>(layer);
                copy->tuning = job.candidates[k];
                runners.push_back([copy, &input, &output, c] {
                    runSparseLayer(*copy, input.data(), output.data(), Epilogue{}, 0, c.outH);
                });
                which.push_back(k);
            }
        }
        const std::vector<double> medians = timeInterleaved(runners, options.runs);
        std::vector<double> times(job.candidates.size(), std::nan(""));
        for (size_t r = 0; r < which.size(); ++r) times[which[r]] = medians[r];
        size_t pick = which.front();
        for (size_t k : which) {
            if (times[k] < times[pick]) pick = k;
        }
        record << "layer " << layer.index << named(layer) << ": " << modeName(job.mode) << " kernel"
               << (job.why.empty() ? "" : " (" + job.why + ")") << ", " << c.outChannels << "x"
               << c.inChannels << " channels, " << c.outH << "x" << c.outW << " output, "
               << layer.fkw.inputChannel.size() << " kernels\n"
               << failures.str();
        for (size_t k = 0; k < job.candidates.size(); ++k) {
            if (std::isnan(times[k])) continue;
            record << "  " << describe(job.candidates[k], job.mode) << ": " << ms(times[k])
                   << (k == pick ? "  <- pick" : "") << "\n";
        }
        layer.tuning = job.candidates[pick];
        layer.tuning.source = "tuned";
        layer.tuning.measuredMs = times[pick];
        const bool written = writeCache(job.file, job.key, job.mode, job.candidates, times, pick);
        record << "  pick: " << describe(layer.tuning, job.mode) << ", " << ms(times[pick]) << " ("
               << std::fixed;
        record.precision(2);
        record << times[which.front()] / times[pick] << "x the first candidate's speed)";
        record.unsetf(std::ios::fixed);
        record.precision(6);
        record << (written ? "; cached as " + job.file.filename().string()
                           : "; the cache file could not be written")
               << "\n";
    }
    if (jobs.empty()) record << "no pattern layer to tune\n";

    PassRecord pass;
    pass.pass = "tune";
    pass.dump = record.str();
    pass.milliseconds =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    model.passes.push_back(std::move(pass));
    return {};
}

}  // namespace prunelab::engine::cpu
