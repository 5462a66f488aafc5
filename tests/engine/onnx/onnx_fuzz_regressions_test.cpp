// Inputs the fuzzer once turned into undefined behaviour (overflowing Reshape/Pad/Concat sizes,
// a Resize scale too large for int64): each must now be refused with an error, not a crash.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/onnx/onnx_import.h"

namespace prunelab::engine {
namespace {

TEST(OnnxFuzzRegressions, EachIsRefusedWithAnError) {
    const std::filesystem::path dir =
        std::filesystem::path(PRUNELAB_SOURCE_DIR) / "tests/data/fuzz/regressions";
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        // The folder holds every reader's reproducers; the others are replayed by their own
        // readers' tests (ncnn_test, export_test for .plab, model_codec_test) and every fuzz run.
        if (entry.path().extension() != ".onnx") continue;
        auto g = importOnnxFile(entry.path().string());
        ++count;
        ASSERT_FALSE(g.ok()) << entry.path() << " imported, but its sizes are out of range";
        EXPECT_FALSE(g.error().message.empty());
        EXPECT_NE(g.error().toString().find(entry.path().filename().string()), std::string::npos)
            << g.error().toString();
    }
    EXPECT_GE(count, 4);
}

}  // namespace
}  // namespace prunelab::engine
