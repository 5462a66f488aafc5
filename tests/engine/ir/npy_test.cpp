// .npy files: round trip for each dtype, and clear errors for bad files.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/io/npy.h"

namespace prunelab::engine {
namespace {

std::string tempFile(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("prunelab_npy_" + name)).string();
}

TEST(Npy, RoundTripsFloatAndIntTensors) {
    Tensor f = Tensor::fromVector<float>({2, 3}, {1.5f, -2, 3, 4, 5, 6.25f});
    Tensor i = Tensor::fromVector<int64_t>({4}, {1, -2, 3, 1LL << 40});
    Tensor s = Tensor::fromVector<float>({}, {42.0f});
    for (const Tensor* t : {&f, &i, &s}) {
        std::string path = tempFile("rt.npy");
        ASSERT_TRUE(writeNpy(path, *t).ok());
        auto back = readNpy(path);
        ASSERT_TRUE(back.ok()) << back.error().toString();
        EXPECT_TRUE(back->identical(*t));
        // numpy requires the data to start on a 64-byte boundary of the file.
        std::ifstream in(path, std::ios::binary);
        char head[10];
        in.read(head, 10);
        size_t headerLen =
            static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8);
        EXPECT_EQ((10 + headerLen) % 64, 0u);
    }
}

TEST(Npy, TruncatedFileIsCorrupt) {
    Tensor f(DataType::Float32, {100});
    std::string path = tempFile("trunc.npy");
    ASSERT_TRUE(writeNpy(path, f).ok());
    std::filesystem::resize_file(path, 200);
    auto back = readNpy(path);
    ASSERT_FALSE(back.ok());
    EXPECT_EQ(back.error().code, ErrorCode::Corrupt);
    EXPECT_NE(back.error().toString().find(path), std::string::npos);
}

TEST(Npy, NotANpyFile) {
    std::string path = tempFile("bad.npy");
    std::ofstream(path) << "hello, not numpy";
    auto back = readNpy(path);
    ASSERT_FALSE(back.ok());
    EXPECT_NE(back.error().message.find("bad magic"), std::string::npos);
    EXPECT_EQ(readNpy(tempFile("missing.npy")).error().code, ErrorCode::NotFound);
}

}  // namespace
}  // namespace prunelab::engine
