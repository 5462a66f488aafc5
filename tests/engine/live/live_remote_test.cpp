// The live pipeline with its lanes on remote backends: real local agents (agent:127.0.0.1:PORT,
// one per lane, as each serves one client) running BlazeFace dense and pattern 8x on vtest.avi.
// The device and link times come apart, the outputs match this computer's lanes, and an agent
// killed mid-run either hands the run to the fallback's lanes or ends it naming the lane.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "engine/live/frame_grabber.h"
#include "engine/live/live_pipeline.h"
#include "engine/live/live_recorder.h"
#include "engine/onnx/onnx_import.h"
#include "engine/prune/plan.h"
#include "engine/runtime/backend_list.h"
#include "engine/runtime/remote/adb.h"
#include "tests/engine/remote/local_agent.h"
#include "tests/test_cache.h"

namespace prunelab::engine::live {
namespace {

namespace fs = std::filesystem;
using prunelab::testing::cacheDir;

std::string video() {
    return cacheDir() + "/video/vtest.avi";
}

using remote::testing::LocalAgent;

struct FaceModel {
    CatalogEntry entry;
    Graph dense;
    prune::PrunedModel pruned;
    Shape inputShape;
};

Result<FaceModel> faceModel() {
    PL_TRY_ASSIGN(Catalog catalog,
                  loadCatalog(std::string(PRUNELAB_SOURCE_DIR) + "/assets/catalog.json"));
    const CatalogEntry* entry = catalog.find("face-back");
    if (!entry) return makeError(ErrorCode::NotFound, "no face-back in the catalog");
    FaceModel m;
    m.entry = *entry;
    PL_TRY_ASSIGN(m.dense, importOnnxFile(cacheDir() + "/" + entry->files[0]));
    PL_TRY_ASSIGN(prune::PruningPlan plan, prune::presetPlan("patdnn-8"));
    PL_TRY_ASSIGN(m.pruned, prune::applyPlan(m.dense, plan));
    m.inputShape = m.dense.value(m.dense.inputs[0]).shape;
    return m;
}

// Dense and pattern 8x (every sparse layer kept: no measured decision) on `backend`.
Result<std::pair<Lane, Lane>> lanesOn(const FaceModel& m, const Backend* backend) {
    PL_TRY_ASSIGN(Lane a, denseLane(m.dense, 1, backend));
    CompiledLaneOptions options;
    options.backend = backend;
    options.compile.generate = false;
    options.compile.measure = false;
    PL_TRY_ASSIGN(Lane b, compiledLane(m.pruned, options));
    return std::pair{std::move(a), std::move(b)};
}

SourceSpec videoSpec() {
    SourceSpec spec;
    spec.kind = SourceSpec::Kind::Video;
    spec.path = video();
    spec.pace = false;
    return spec;
}

void expectClose(const std::vector<Tensor>& want, const std::vector<Tensor>& got,
                 const std::string& what) {
    ASSERT_EQ(want.size(), got.size()) << what;
    for (size_t o = 0; o < want.size(); ++o) {
        const auto w = want[o].span<float>();
        const auto g = got[o].span<float>();
        ASSERT_EQ(w.size(), g.size()) << what << " output " << o;
        const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
        const float tolerance = 1e-3f * std::max(*hi - *lo, 1e-6f);
        float worst = 0;
        for (size_t k = 0; k < w.size(); ++k) worst = std::max(worst, std::abs(w[k] - g[k]));
        EXPECT_LE(worst, tolerance) << what << " output " << o;
    }
}

#define REQUIRE_ASSET(path) \
    ASSERT_TRUE(fs::exists(path)) << (path) << " is missing: run ./prunelab setup"

TEST(LiveRemote, LanesOnAgentsReportDeviceAndLinkTimesAndMatchTheCpuLanes) {
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    LocalAgent agentA, agentB;
    ASSERT_TRUE(agentA.backend() && agentB.backend());
    EXPECT_TRUE(runsElsewhere(*agentA.backend()));
    EXPECT_FALSE(runsElsewhere(defaultBackend()));
    // One agent per lane: each serves one client.
    auto a = denseLane(m->dense, 1, agentA.backend());
    ASSERT_TRUE(a.ok()) << a.error().toString();
    CompiledLaneOptions options;
    options.backend = agentB.backend();
    options.compile.generate = false;
    options.compile.measure = false;
    auto b = compiledLane(m->pruned, options);
    ASSERT_TRUE(b.ok()) << b.error().toString();
    EXPECT_TRUE(a->remote);
    EXPECT_TRUE(b->remote);
    auto local = lanesOn(*m, nullptr);
    ASSERT_TRUE(local.ok()) << local.error().toString();
    EXPECT_FALSE(local->first.remote);
    EXPECT_FALSE(local->second.lastSplit);

    LiveOptions keep;
    keep.keepOutputs = true;
    keep.draw = false;
    LivePipeline onAgents(m->entry, m->inputShape, std::move(*a), std::move(*b), keep);
    LivePipeline here(m->entry, m->inputShape, std::move(local->first), std::move(local->second),
                      keep);
    auto source = openSource(videoSpec());
    ASSERT_TRUE(source.ok()) << source.error().toString();
    const fs::path csv =
        fs::temp_directory_path() / ("prunelab_live_remote_" + std::to_string(::getpid()) + ".csv");
    auto recorder = LiveRecorder::open("", csv.string(), 10);
    ASSERT_TRUE(recorder.ok()) << recorder.error().toString();
    constexpr int kFrames = 6;
    for (int i = 0; i < kFrames; ++i) {
        auto frame = (*source)->read();
        ASSERT_TRUE(frame.ok()) << frame.error().toString();
        auto r = onAgents.process(*frame, i + 1);
        ASSERT_TRUE(r.ok()) << r.error().toString();
        ASSERT_TRUE((*recorder)->add(*r, onAgents.stats()).ok());
        auto l = here.process(*frame, i + 1);
        ASSERT_TRUE(l.ok()) << l.error().toString();
        for (const LaneOutput* lane : {&r->a, &r->b}) {
            ASSERT_TRUE(lane->deviceMs && lane->linkMs) << "frame " << i;
            EXPECT_GE(*lane->deviceMs, 0.0);
            EXPECT_GE(*lane->linkMs, 0.0);
        }
        EXPECT_FALSE(l->a.deviceMs || l->b.linkMs);
        expectClose(l->a.outputs, r->a.outputs, "dense, frame " + std::to_string(i));
        expectClose(l->b.outputs, r->b.outputs, "pattern 8x, frame " + std::to_string(i));
    }
    ASSERT_TRUE((*recorder)->close().ok());
    // The CSV keeps each frame's device and link times apart too.
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);
    EXPECT_NE(line.find("lane_a_device_ms,lane_a_link_ms,lane_b_device_ms,lane_b_link_ms"),
              std::string::npos)
        << line;
    int rows = 0;
    const std::regex timed("^([^,]*,){8}[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,");
    for (; std::getline(in, line); ++rows) EXPECT_TRUE(std::regex_search(line, timed)) << line;
    EXPECT_EQ(rows, kFrames);
    fs::remove(csv);
    const LiveStats s = onAgents.stats();
    EXPECT_EQ(s.aDevice.count, size_t(kFrames));
    EXPECT_EQ(s.bLink.count, size_t(kFrames));
    EXPECT_TRUE(s.speedupOnDevice());
    EXPECT_GT(s.speedup(), 0.0);
    const LiveStats h = here.stats();
    EXPECT_EQ(h.aDevice.count, 0u);
    EXPECT_FALSE(h.speedupOnDevice());
}

// The agents' pipeline, run on vtest.avi for `frames`; agent B is killed after the third frame.
struct KilledRun {
    Result<LiveRunSummary> summary = makeError(ErrorCode::Internal, "not run");
    std::optional<Error> lost;  // what onLinkLost was given
    std::string laneBName;
};

KilledRun runAndKillAgentB(const FaceModel& m, bool withFallback) {
    KilledRun out;
    LocalAgent agentA, agentB;
    if (!agentA.backend() || !agentB.backend()) return out;
    auto a = denseLane(m.dense, 1, agentA.backend());
    CompiledLaneOptions options;
    options.backend = agentB.backend();
    options.compile.generate = false;
    options.compile.measure = false;
    auto b = compiledLane(m.pruned, options);
    EXPECT_TRUE(a.ok() && b.ok());
    if (!a.ok() || !b.ok()) return out;
    out.laneBName = b->name;
    LivePipeline pipeline(m.entry, m.inputShape, std::move(*a), std::move(*b));
    auto source = openSource(videoSpec());
    EXPECT_TRUE(source.ok());
    if (!source.ok()) return out;
    FrameGrabber grabber(std::move(*source));
    LiveRunOptions run;
    run.frames = 8;
    run.onFrame = [&](const LiveFrame&, const LiveStats& stats) {
        if (stats.frames == 3) agentB.kill();
        return true;
    };
    if (withFallback) {
        run.onLinkLost = [&](const Error& lost) -> Result<LaneFallback> {
            out.lost = lost;
            PL_TRY_ASSIGN(auto lanes, lanesOn(m, nullptr));
            return LaneFallback{std::move(lanes.first), std::move(lanes.second),
                                "the link dropped: running here"};
        };
    }
    out.summary = runLive(grabber, pipeline, nullptr, run);
    grabber.stop();
    return out;
}

TEST(LiveRemote, AKilledAgentMidRunHandsTheRunToTheFallbackLanes) {
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    KilledRun r = runAndKillAgentB(*m, true);
    ASSERT_TRUE(r.summary.ok()) << r.summary.error().toString();
    EXPECT_EQ(r.summary->fallbacks, 1);
    EXPECT_EQ(r.summary->processed, 8);
    ASSERT_TRUE(r.lost);
    EXPECT_EQ(r.lost->code, ErrorCode::Io);
    EXPECT_NE(r.lost->toString().find(r.laneBName), std::string::npos) << r.lost->toString();
    EXPECT_NE(std::find(r.summary->messages.begin(), r.summary->messages.end(),
                        "the link dropped: running here"),
              r.summary->messages.end());
    // The numbers after the fallback are this computer's alone: no device times left.
    EXPECT_EQ(r.summary->stats.aDevice.count, 0u);
    EXPECT_FALSE(r.summary->stats.speedupOnDevice());
    EXPECT_EQ(r.summary->stats.frames, 8);  // frames through both lanes (the lost one is not)
}

TEST(LiveRemote, AKilledAgentWithoutAFallbackEndsTheRunNamingTheLane) {
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    KilledRun r = runAndKillAgentB(*m, false);
    ASSERT_FALSE(r.summary.ok());
    EXPECT_EQ(r.summary.error().code, ErrorCode::Io);
    const std::string text = r.summary.error().toString();
    EXPECT_NE(text.find(r.laneBName), std::string::npos) << text;
    EXPECT_NE(text.find("127.0.0.1"), std::string::npos) << text;
}

}  // namespace
}  // namespace prunelab::engine::live
