// The live demo's engine side on real parts: vtest.avi from the asset cache, BlazeFace (back)
// pruned with patdnn-8 through the compiled lane, a real capture thread, real clip writing.
// The one fake is a deliberately slow lane, named as such, to load the pipeline.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <opencv2/videoio.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/live/frame_grabber.h"
#include "engine/live/live_pipeline.h"
#include "engine/live/live_recorder.h"
#include "engine/live/rolling_stats.h"
#include "engine/onnx/onnx_import.h"
#include "engine/prune/plan.h"
#include "engine/runtime/cpu/cpu_executor.h"
#include "tests/slow_compiler.h"
#include "tests/test_cache.h"

namespace prunelab::engine::live {
namespace {

namespace fs = std::filesystem;

using prunelab::testing::cacheDir;
using prunelab::testing::ScopedCompiler;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string video() {
    return cacheDir() + "/video/vtest.avi";
}

// A missing asset is a failed test, never a skip: the suite must not pass on an empty cache.
#define REQUIRE_ASSET(path) \
    ASSERT_TRUE(fs::exists(path)) << (path) << " is missing: run ./prunelab setup"

class TempDir {
  public:
    explicit TempDir(const std::string& name)
        : m_path(fs::temp_directory_path() /
                 ("prunelab_live_test_" + std::to_string(::getpid()) + "_" + name)) {
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    const fs::path& path() const { return m_path; }

  private:
    fs::path m_path;
};

// The first `fraction` of vtest.avi's bytes as `dir`/vtest_cut.avi: a file that ends mid-stream.
fs::path truncatedVideo(const fs::path& dir, double fraction) {
    std::ifstream in(video(), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    bytes.resize(static_cast<size_t>(static_cast<double>(bytes.size()) * fraction));
    const fs::path cut = dir / "vtest_cut.avi";
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
    return cut;
}

SourceSpec videoSpec(bool pace) {
    SourceSpec spec;
    spec.kind = SourceSpec::Kind::Video;
    spec.path = video();
    spec.pace = pace;
    return spec;
}

// BlazeFace (back, 256x256) from the catalog and the cache, and its patdnn-8 pruning.
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

// The compiled lane with every sparse layer kept (BlazeFace's layers are too small for sparse
// kernels to win, so the measured decision would make them all dense and test nothing).
Result<Lane> sparseLane(const FaceModel& m, int threads = 1) {
    CompiledLaneOptions options;
    options.threads = threads;
    options.compile.generate = false;
    options.compile.measure = false;
    return compiledLane(m.pruned, options);
}

// ----------------------------------------------------------------------------------------------

TEST(RollingStats, MedianP90AndWindow) {
    RollingStats s(10);
    EXPECT_EQ(s.summary().count, 0u);
    EXPECT_EQ(s.summary().fps(), 0.0);
    for (int i = 1; i <= 10; ++i) s.add(i);  // 1..10
    LatencySummary a = s.summary();
    EXPECT_EQ(a.count, 10u);
    EXPECT_DOUBLE_EQ(a.mean, 5.5);
    EXPECT_GE(a.median, 5.0);
    EXPECT_LE(a.median, 6.0);
    EXPECT_GE(a.p90, 9.0);
    for (int i = 0; i < 10; ++i) s.add(100);  // the window forgets 1..10
    LatencySummary b = s.summary();
    EXPECT_EQ(b.count, 10u);
    EXPECT_DOUBLE_EQ(b.median, 100.0);
    EXPECT_DOUBLE_EQ(b.fps(), 10.0);
}

TEST(FrameSource, ParsesCamerasFilesAndTheBundledVideo) {
    REQUIRE_ASSET(video());
    auto cam = parseSource("camera:2", video());
    ASSERT_TRUE(cam.ok()) << cam.error().toString();
    EXPECT_EQ(cam->kind, SourceSpec::Kind::Camera);
    EXPECT_EQ(cam->camera, 2);
    EXPECT_EQ(parseSource("/dev/video1", video())->camera, 1);
    EXPECT_EQ(parseSource("0", video())->camera, 0);
    EXPECT_FALSE(parseSource("camera:x", video()).ok());

    auto bundled = parseSource("vtest.avi", video());
    ASSERT_TRUE(bundled.ok());
    EXPECT_EQ(bundled->kind, SourceSpec::Kind::Video);
    EXPECT_EQ(bundled->path, video());

    auto missing = parseSource("/nonexistent/clip.mp4", video());
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().toString().find("clip.mp4"), std::string::npos);
    auto noBundled = parseSource("vtest.avi", "/nonexistent/vtest.avi");
    ASSERT_FALSE(noBundled.ok());
    EXPECT_NE(noBundled.error().toString().find("setup"), std::string::npos);
}

TEST(FrameSource, NoCameraThereIsAClearError) {
    // Index 63 is far past any camera a test machine has.
    SourceSpec spec;
    spec.kind = SourceSpec::Kind::Camera;
    spec.camera = 63;
    auto source = openSource(spec);
    ASSERT_FALSE(source.ok());
    EXPECT_NE(source.error().toString().find("/dev/video63"), std::string::npos)
        << source.error().toString();
    for (const CameraInfo& c : listCameras()) EXPECT_FALSE(c.device.empty());
}

TEST(FrameSource, StillPictureRepeats) {
    TempDir dir("still");
    Image picture(40, 30);
    picture.pixel(5, 5)[0] = 200;
    const std::string path = (dir.path() / "still.png").string();
    ASSERT_TRUE(writeImage(path, picture).ok());
    auto spec = parseSource(path, video());
    ASSERT_TRUE(spec.ok());
    EXPECT_EQ(spec->kind, SourceSpec::Kind::Still);
    spec->pace = false;
    auto source = openSource(*spec);
    ASSERT_TRUE(source.ok()) << source.error().toString();
    for (int i = 0; i < 3; ++i) {
        auto frame = (*source)->read();
        ASSERT_TRUE(frame.ok());
        EXPECT_EQ(frame->width, 40);
        EXPECT_EQ(frame->pixel(5, 5)[0], 200);
    }
}

TEST(FrameSource, VideoIsPacedAtItsFrameRate) {
    REQUIRE_ASSET(video());
    auto source = openSource(videoSpec(true));
    ASSERT_TRUE(source.ok()) << source.error().toString();
    EXPECT_NEAR((*source)->fps(), 10.0, 0.5);  // vtest.avi: 10 fps
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 6; ++i) {
        auto frame = (*source)->read();
        ASSERT_TRUE(frame.ok()) << frame.error().toString();
        EXPECT_EQ(frame->width, 768);
        EXPECT_EQ(frame->height, 576);
        EXPECT_LT((*source)->lastReadMs(), 90.0);  // the pace's wait is not counted as work
    }
    // Six frames at 10 fps: the first is immediate, five periods of 100 ms follow.
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(seconds, 0.45);
}

TEST(FrameSource, TruncatedVideoSaysWhereItStops) {
    REQUIRE_ASSET(video());
    TempDir dir("cut");
    const fs::path cut = truncatedVideo(dir.path(), 0.3);
    SourceSpec spec = videoSpec(false);
    spec.path = cut.string();
    auto source = openSource(spec);
    ASSERT_TRUE(source.ok()) << source.error().toString();
    int frames = 0;
    Result<Image> frame = (*source)->read();
    while (frame.ok() && frames < 2000) {
        ++frames;
        frame = (*source)->read();
    }
    ASSERT_FALSE(frame.ok()) << "a truncated video must not loop as if it were whole";
    EXPECT_GT(frames, 0);
    EXPECT_LT(frames, 795);
    const std::string message = frame.error().toString();
    EXPECT_NE(message.find("vtest_cut.avi"), std::string::npos) << message;
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(FrameGrabber, SourceFailingMidStreamSwitchesToTheFallbackWithAMessage) {
    REQUIRE_ASSET(video());
    TempDir dir("switch");
    const fs::path cut = truncatedVideo(dir.path(), 0.1);
    SourceSpec spec = videoSpec(false);
    spec.path = cut.string();
    auto source = openSource(spec);
    ASSERT_TRUE(source.ok()) << source.error().toString();
    FrameGrabber grabber(std::move(*source), [] { return openSource(videoSpec(false)); });
    grabber.start();
    std::vector<std::string> messages;
    int64_t last = 0;
    int frames = 0;
    // Enough frames to run through the cut file's ~80 and well into the fallback.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (frames < 40 || messages.empty()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "capture stalled";
        auto f = grabber.takeNewest(last, std::chrono::seconds(10));
        ASSERT_TRUE(f.has_value()) << (grabber.error() ? grabber.error()->toString() : "timeout");
        EXPECT_GT(f->seq, last);
        last = f->seq;
        ++frames;
        for (auto& m : grabber.takeMessages()) messages.push_back(m);
    }
    grabber.stop();
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_NE(messages[0].find("vtest_cut.avi"), std::string::npos) << messages[0];
    EXPECT_NE(messages[0].find("showing vtest.avi"), std::string::npos) << messages[0];
    EXPECT_NE(grabber.sourceName().find("vtest.avi"), std::string::npos);
    EXPECT_FALSE(grabber.error().has_value());
}

TEST(FrameGrabber, WithoutFallbackAFailureEndsCaptureWithTheError) {
    TempDir dir("nofallback");
    Image picture(8, 8);
    const std::string path = (dir.path() / "p.png").string();
    ASSERT_TRUE(writeImage(path, picture).ok());
    // A source that works once and then fails, as a camera that is pulled out.
    class Unplugged final : public FrameSource {
      public:
        std::string describe() const override { return "camera 9 (/dev/video9, 8x8)"; }
        double fps() const override { return 30; }

      protected:
        Result<Image> readFrame() override {
            if (m_reads++ == 0) return Image(8, 8);
            return makeError(ErrorCode::Io, "the camera stopped giving frames (unplugged?)",
                             "/dev/video9");
        }

      private:
        int m_reads = 0;
    };
    FrameGrabber grabber(std::make_unique<Unplugged>());
    grabber.start();
    auto first = grabber.takeNewest(0, std::chrono::seconds(5));
    ASSERT_TRUE(first.has_value());
    auto second = grabber.takeNewest(first->seq, std::chrono::seconds(5));
    EXPECT_FALSE(second.has_value());
    ASSERT_TRUE(grabber.error().has_value());
    EXPECT_NE(grabber.error()->toString().find("/dev/video9"), std::string::npos);
    auto messages = grabber.takeMessages();
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_NE(messages[0].find("capture stopped"), std::string::npos);
}

TEST(LivePipeline, BothLanesOnVideoFramesAndThePrunedLaneMatchesTheMaskedDenseModel) {
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    auto dense = denseLane(m->dense, 1);
    ASSERT_TRUE(dense.ok()) << dense.error().toString();
    auto sparse = sparseLane(*m);
    ASSERT_TRUE(sparse.ok()) << sparse.error().toString();
    EXPECT_NE(sparse->detail.find("layers sparse"), std::string::npos) << sparse->detail;
    EXPECT_EQ(sparse->detail.find(" 0 of"), std::string::npos) << sparse->detail;
    // The truth for lane B: the pruned weights in the plain dense executor.
    auto masked = cpu::CpuExecutor::create(m->pruned.graph, {1});
    ASSERT_TRUE(masked.ok());

    LiveOptions options;
    options.keepOutputs = true;
    LivePipeline pipeline(m->entry, m->inputShape, std::move(*dense), std::move(*sparse), options);
    auto source = openSource(videoSpec(false));
    ASSERT_TRUE(source.ok());
    int facesA = 0, facesB = 0;
    for (int i = 0; i < 24; ++i) {
        auto frame = (*source)->read();
        ASSERT_TRUE(frame.ok());
        auto f = pipeline.process(*frame, i + 1, (*source)->lastReadMs());
        ASSERT_TRUE(f.ok()) << f.error().toString();
        ASSERT_FALSE(f->a.outputs.empty());
        ASSERT_EQ(f->a.outputs.size(), f->b.outputs.size());
        EXPECT_GT(f->a.ms, 0.0);
        EXPECT_GT(f->b.ms, 0.0);
        EXPECT_FALSE(f->a.drawn.empty());
        EXPECT_EQ(f->a.drawn.width, 768);
        EXPECT_GT(f->preMs, 0.0);
        facesA += static_cast<int>(f->a.result.detections.size());
        facesB += static_cast<int>(f->b.result.detections.size());

        auto input = prepareInput(m->entry, *frame, m->inputShape);
        ASSERT_TRUE(input.ok());
        auto want = (*masked)->run(std::span<const Tensor>(&input->tensor, 1));
        ASSERT_TRUE(want.ok());
        for (size_t o = 0; o < want->size(); ++o) {
            const auto w = (*want)[o].span<float>();
            const auto got = f->b.outputs[o].span<float>();
            ASSERT_EQ(w.size(), got.size());
            const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
            const float tolerance = 1e-4f * std::max(*hi - *lo, 1e-6f);
            float worst = 0;
            for (size_t k = 0; k < w.size(); ++k) worst = std::max(worst, std::abs(w[k] - got[k]));
            EXPECT_LE(worst, tolerance) << "frame " << i << " output " << o;
        }
    }
    std::printf("faces over 24 frames: dense %d, pruned %d\n", facesA, facesB);
    LiveStats stats = pipeline.stats();
    EXPECT_EQ(stats.frames, 24);
    EXPECT_EQ(stats.a.count, 24u);
    EXPECT_GT(stats.speedup(), 0.0);
    EXPECT_GT(stats.overhead.median, 0.0);
    EXPECT_EQ(stats.laneA, "PruneLab dense");
}

TEST(LivePipeline, NewestFramePolicyDropsFramesUnderASlowFakeLaneInsteadOfQueueing) {
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    auto dense = denseLane(m->dense, 1);
    ASSERT_TRUE(dense.ok());
    // The fake: the real dense lane made 250 ms slow, against a source paced at 10 fps.
    Lane slowFake = *dense;
    slowFake.name = "slow fake lane";
    RunModel real = dense->run;
    slowFake.run = [real](std::span<const Tensor> in) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        return real(in);
    };
    LivePipeline pipeline(m->entry, m->inputShape, std::move(*dense), std::move(slowFake));
    auto source = openSource(videoSpec(true));
    ASSERT_TRUE(source.ok());
    FrameGrabber grabber(std::move(*source));
    std::vector<int64_t> seqs;
    LiveRunOptions run;
    run.frames = 6;
    run.onFrame = [&](const LiveFrame& f, const LiveStats&) {
        seqs.push_back(f.seq);
        return true;
    };
    auto summary = runLive(grabber, pipeline, nullptr, run);
    grabber.stop();
    ASSERT_TRUE(summary.ok()) << summary.error().toString();
    EXPECT_EQ(summary->processed, 6);
    // Each frame took over 250 ms while the camera delivered one every 100 ms: at least one of
    // every two frames must have been replaced, never kept in a queue.
    EXPECT_GT(summary->captured, summary->processed + 5);
    EXPECT_GT(summary->dropped, 5);
    ASSERT_EQ(seqs.size(), 6u);
    for (size_t i = 1; i < seqs.size(); ++i) {
        EXPECT_GE(seqs[i] - seqs[i - 1], 2) << "frame " << i << " was not the newest";
    }
}

TEST(LivePipeline, LaneBIsSwappedInAtTheNextFrame) {
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    auto dense = denseLane(m->dense, 1);
    auto sparse = sparseLane(*m);
    ASSERT_TRUE(dense.ok() && sparse.ok());
    LivePipeline pipeline(m->entry, m->inputShape, *dense, *dense);
    auto source = openSource(videoSpec(false));
    ASSERT_TRUE(source.ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(pipeline.process(*(*source)->read()).ok());
    EXPECT_EQ(pipeline.stats().b.count, 3u);
    pipeline.replaceLaneB(*sparse);
    EXPECT_EQ(pipeline.stats().laneBSwaps, 0);  // not before the next frame
    ASSERT_TRUE(pipeline.process(*(*source)->read()).ok());
    LiveStats s = pipeline.stats();
    EXPECT_EQ(s.laneBSwaps, 1);
    EXPECT_EQ(s.b.count, 1u);  // its numbers start again: they measured another model
    EXPECT_EQ(s.a.count, 4u);
    EXPECT_NE(s.laneB.find("compiled"), std::string::npos) << s.laneB;
}

TEST(LivePipeline, AFailingLaneIsNamedInTheError) {
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    auto dense = denseLane(m->dense, 1);
    ASSERT_TRUE(dense.ok());
    Lane broken;
    broken.name = "broken fake lane";
    broken.run = [](std::span<const Tensor>) -> Result<std::vector<Tensor>> {
        return makeError(ErrorCode::Io, "the agent connection dropped");
    };
    LivePipeline pipeline(m->entry, m->inputShape, std::move(*dense), broken);
    auto source = openSource(videoSpec(false));
    auto f = pipeline.process(*(*source)->read());
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().toString().find("broken fake lane"), std::string::npos)
        << f.error().toString();
}

// ---- Stopping promptly: closing the window must end the process within 2 s -------------------

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A source that blocks in its read until released, as a camera that stopped answering does.
// The release flag is shared: a capture thread let go at stop() may read it after the test.
class BlockedCamera final : public FrameSource {
  public:
    explicit BlockedCamera(std::shared_ptr<std::atomic<bool>> release)
        : m_release(std::move(release)) {}
    std::string describe() const override { return "camera 7 (a fake that stopped answering)"; }
    double fps() const override { return 30; }

  protected:
    Result<Image> readFrame() override {
        while (!*m_release) std::this_thread::sleep_for(10ms);
        return makeError(ErrorCode::Io, "released", "/dev/video7");
    }

  private:
    std::shared_ptr<std::atomic<bool>> m_release;
};

TEST(FrameSource, StopEndsTheWaitForTheNextFrame) {
    TempDir dir("stopwait");
    const std::string path = (dir.path() / "still.png").string();
    ASSERT_TRUE(writeImage(path, Image(16, 16)).ok());
    auto spec = parseSource(path, video());
    ASSERT_TRUE(spec.ok());
    spec->stillFps = 0.1;  // a frame every 10 s
    auto source = openSource(*spec);
    ASSERT_TRUE(source.ok()) << source.error().toString();
    std::atomic<bool> stop{false};
    (*source)->setStopFlag(&stop);
    ASSERT_TRUE((*source)->read().ok());  // the first frame is due at once
    std::thread stopper([&stop] {
        std::this_thread::sleep_for(200ms);
        stop = true;
    });
    const auto start = Clock::now();
    auto second = (*source)->read();
    const double seconds = secondsSince(start);
    stopper.join();
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ErrorCode::Cancelled) << second.error().toString();
    EXPECT_LT(seconds, 5.0);  // not the 10 s period
}

TEST(FrameGrabber, StopLetsGoOfASourceBlockedInARead) {
    auto release = std::make_shared<std::atomic<bool>>(false);
    double seconds = 0;
    {
        FrameGrabber grabber(std::make_unique<BlockedCamera>(release));
        grabber.start();
        std::this_thread::sleep_for(100ms);  // into the read
        const auto start = Clock::now();
        grabber.stop();
        seconds = secondsSince(start);
    }
    *release = true;  // the read returns; the thread that was let go ends on its own
    EXPECT_LT(seconds, 5.0);
}

TEST(LiveRun, StopIsSeenWhileWaitingForAFrame) {
    auto release = std::make_shared<std::atomic<bool>>(false);
    FrameGrabber grabber(std::make_unique<BlockedCamera>(release));
    Lane never;
    never.name = "a lane no frame reaches";
    never.run = [](std::span<const Tensor>) -> Result<std::vector<Tensor>> {
        return makeError(ErrorCode::Internal, "no frame should reach this lane");
    };
    LivePipeline pipeline(CatalogEntry{}, Shape{1, 3, 8, 8}, never, never);
    std::atomic<bool> stop{false};
    LiveRunOptions run;
    run.stop = &stop;
    run.frameTimeout = 60s;
    std::thread stopper([&stop] {
        std::this_thread::sleep_for(200ms);
        stop = true;
    });
    const auto start = Clock::now();
    auto summary = runLive(grabber, pipeline, nullptr, run);
    const double seconds = secondsSince(start);
    stopper.join();
    grabber.stop();
    *release = true;
    ASSERT_TRUE(summary.ok()) << summary.error().toString();
    EXPECT_EQ(summary->processed, 0);
    EXPECT_LT(seconds, 5.0);  // not the 60 s frame timeout
}

// ---- Lane B that does not keep the demo waiting ---------------------------------------------

// What a StagedLane reports, from whichever thread reports it.
struct ProgressLog {
    std::mutex mutex;
    std::vector<LaneProgress> seen;
    std::function<void(const LaneProgress&)> hook() {
        return [this](const LaneProgress& p) {
            std::lock_guard lock(mutex);
            seen.push_back(p);
        };
    }
};

TEST(StagedLane, GenericKernelsStandInWhileTheCompilerRunsAndCancelEndsTheWait) {
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    TempDir dir("staged_cancel");
    const ScopedCompiler cxx(prunelab::testing::writeSlowCompiler(dir.path()));  // never builds
    std::atomic<bool> cancel{false};
    ProgressLog progress;
    CompiledLaneOptions options;
    options.compile.measure = false;
    options.compile.cancel = &cancel;
    options.compile.kernelCache = (dir.path() / "kernels").string();
    options.compile.onProgress = progress.hook();
    const prune::PrunedModel& pruned = m->pruned;
    StagedLane staged([&pruned](const CompiledLaneOptions& o) { return compiledLane(pruned, o); },
                      options, 200ms);
    auto first = staged.start();
    ASSERT_TRUE(first.ok()) << first.error().toString();
    EXPECT_NE(first->detail.find("generic sparse kernels"), std::string::npos) << first->detail;
    EXPECT_NE(first->detail.find("generated kernels and the measured decision are on their way"),
              std::string::npos)
        << first->detail;
    EXPECT_TRUE(staged.pending());
    EXPECT_FALSE(staged.takeReady().has_value());
    {
        std::lock_guard lock(progress.mutex);
        ASSERT_FALSE(progress.seen.empty());
        EXPECT_EQ(progress.seen.front().step, LaneProgress::Step::Compiling);
        EXPECT_EQ(progress.seen.front().done, 0);
        EXPECT_GT(progress.seen.front().total, 0);
    }
    cancel = true;
    const auto start = Clock::now();
    auto generated = staged.waitReady();
    ASSERT_FALSE(generated.ok());
    EXPECT_EQ(generated.error().code, ErrorCode::Cancelled) << generated.error().toString();
    EXPECT_LT(secondsSince(start), 10.0);  // not the fake compiler's 30 s per layer
}

TEST(StagedLane, TheGeneratedLaneFollowsTheStandInAndComputesTheSame) {
    if (std::system("c++ --version > /dev/null 2>&1") != 0) {
        GTEST_SKIP() << "SKIPPED: no host C++ compiler (c++); generated kernels cannot be built";
    }
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    TempDir dir("staged_swap");
    // The real compiler at -O0 after half a second: slower than the patience, quick in all.
    const ScopedCompiler cxx(prunelab::testing::writeSlowCompiler(dir.path(), "0.5", "c++"));
    ProgressLog progress;
    CompiledLaneOptions options;
    options.compile.measure =
        false;  // BlazeFace's layers would all go dense: keep the kernels under test
    options.compile.kernelCache = (dir.path() / "kernels").string();
    options.compile.onProgress = progress.hook();
    const prune::PrunedModel& pruned = m->pruned;
    StagedLane staged([&pruned](const CompiledLaneOptions& o) { return compiledLane(pruned, o); },
                      options, 200ms);
    auto standIn = staged.start();
    ASSERT_TRUE(standIn.ok()) << standIn.error().toString();
    ASSERT_TRUE(staged.pending());
    auto generated = staged.waitReady();
    ASSERT_TRUE(generated.ok()) << generated.error().toString();
    EXPECT_FALSE(staged.pending());
    EXPECT_NE(generated->detail.find("generated kernels"), std::string::npos) << generated->detail;
    EXPECT_EQ(generated->detail.find("on their way"), std::string::npos) << generated->detail;
    {
        std::lock_guard lock(progress.mutex);
        ASSERT_FALSE(progress.seen.empty());
        const LaneProgress& last = progress.seen.back();
        EXPECT_GT(last.total, 0);
        EXPECT_EQ(last.done, last.total);
        EXPECT_EQ(last.built, last.total);  // a fresh cache: every layer was compiled
    }
    // The swap changes the kernels, not the model: both lanes compute the same outputs.
    LiveOptions live;
    live.keepOutputs = true;
    LivePipeline pipeline(m->entry, m->inputShape, std::move(*standIn), std::move(*generated),
                          live);
    auto source = openSource(videoSpec(false));
    ASSERT_TRUE(source.ok());
    auto f = pipeline.process(*(*source)->read());
    ASSERT_TRUE(f.ok()) << f.error().toString();
    ASSERT_EQ(f->a.outputs.size(), f->b.outputs.size());
    for (size_t o = 0; o < f->a.outputs.size(); ++o) {
        const auto a = f->a.outputs[o].span<float>();
        const auto b = f->b.outputs[o].span<float>();
        ASSERT_EQ(a.size(), b.size());
        const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
        const float tolerance = 1e-4f * std::max(*hi - *lo, 1e-6f);
        float worst = 0;
        for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
        EXPECT_LE(worst, tolerance) << "output " << o;
    }
}

TEST(LiveRecorder, WritesAPlayableClipAndACsvWithEveryFrame) {
    REQUIRE_ASSET(video());
    auto m = faceModel();
    ASSERT_TRUE(m.ok()) << m.error().toString();
    auto dense = denseLane(m->dense, 2);
    auto sparse = sparseLane(*m, 2);
    ASSERT_TRUE(dense.ok() && sparse.ok());
    LivePipeline pipeline(m->entry, m->inputShape, std::move(*dense), std::move(*sparse));
    TempDir dir("record");
    const std::string clip = (dir.path() / "side by side.avi").string();
    const std::string csv = (dir.path() / "frames.csv").string();
    auto recorder = LiveRecorder::open(clip, csv, 10);
    ASSERT_TRUE(recorder.ok()) << recorder.error().toString();
    auto source = openSource(videoSpec(false));
    ASSERT_TRUE(source.ok());
    FrameGrabber grabber(std::move(*source));
    LiveRunOptions run;
    run.frames = 12;
    auto summary = runLive(grabber, pipeline, recorder->get(), run);
    grabber.stop();
    ASSERT_TRUE(summary.ok()) << summary.error().toString();
    ASSERT_TRUE((*recorder)->close().ok());
    EXPECT_EQ((*recorder)->frames(), 12);

    cv::VideoCapture played(clip, cv::CAP_FFMPEG);
    ASSERT_TRUE(played.isOpened());
    int frames = 0;
    cv::Mat frame;
    while (played.read(frame)) {
        ++frames;
        EXPECT_EQ(frame.rows, 360);
        EXPECT_EQ(frame.cols, 2 * 480);  // two 768x576 frames at 360 pixels high
    }
    EXPECT_EQ(frames, 12);

    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line.rfind("frame,seq,lane_a_ms,lane_b_ms", 0), 0u) << line;
    int rows = 0;
    while (std::getline(in, line)) {
        ++rows;
        EXPECT_NE(line.find("PruneLab compiled"), std::string::npos) << line;
    }
    EXPECT_EQ(rows, 12);

    auto bad = LiveRecorder::open("", "/nonexistent/dir/frames.csv", 10);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().toString().find("/nonexistent/dir/frames.csv"), std::string::npos);
}

}  // namespace
}  // namespace prunelab::engine::live

namespace prunelab::engine::live {
namespace {

TEST(PlanAtRate, SetsTheRateTheSchemeHasAndKeepsPatternFallbacksInStep) {
    auto pattern = prune::presetPlan("patdnn-8");
    ASSERT_TRUE(pattern.ok());
    EXPECT_NEAR(planRate(*pattern), 1.0 - 1.0 / 3.6, 1e-9);
    prune::PruningPlan p = planAtRate(*pattern, 0.5);
    EXPECT_DOUBLE_EQ(planRate(p), 0.5);
    EXPECT_DOUBLE_EQ(p.defaultEntry.params.number("connectivity_rate", -1), 0.5);
    // Kept kernels keep 4 of 9 weights: half the kernels gone leaves 2/9 of the weights.
    EXPECT_NEAR(p.fallbackParams.number("rate", -1), 1.0 - 2.0 / 9.0, 1e-9);
    EXPECT_EQ(p.defaultEntry.scheme, pattern->defaultEntry.scheme);

    auto uniform = prune::presetPlan("uniform-50");
    ASSERT_TRUE(uniform.ok());
    prune::PruningPlan u = planAtRate(*uniform, 2.0);  // clamped: a rate of 1 prunes everything
    EXPECT_DOUBLE_EQ(planRate(u), 0.95);
    EXPECT_EQ(planRate(prune::PruningPlan{}), -1.0);  // dense: nothing to set
    EXPECT_EQ(planAtRate(prune::PruningPlan{}, 0.5), prune::PruningPlan{});
}

}  // namespace
// The band within which two lanes read "about the same": each lane's spread, 5% to 50%.
TEST(LiveStats, SpeedupNoiseFollowsTheLanesSpread) {
    LiveStats s;
    s.a = {10, 10.0, 10.2, 10.0};
    s.b = {10, 10.0, 10.1, 10.0};
    EXPECT_DOUBLE_EQ(s.speedupNoise(), 0.05);  // steady lanes: the 5% floor
    s.b = {10, 8.0, 11.2, 8.5};
    EXPECT_NEAR(s.speedupNoise(), 0.4, 1e-12);  // (11.2 - 8) / 8
    s.a = {10, 5.0, 20.0, 9.0};
    EXPECT_DOUBLE_EQ(s.speedupNoise(), 0.5);  // capped
    // On a phone, the device's own times decide, as for the speedup itself.
    s.aDevice = {10, 4.0, 4.1, 4.0};
    s.bDevice = {10, 2.0, 2.04, 2.0};
    EXPECT_DOUBLE_EQ(s.speedupNoise(), 0.05);
}

}  // namespace prunelab::engine::live
