// Bad input to the ONNX importer: each must give its own clear error (code, key words, the file
// and node in the context) and never crash. None of these needs an op mapping.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "engine/onnx/onnx_import.h"
#include "tests/engine/onnx/onnx_test_models.h"

namespace prunelab::engine {
namespace {

using testing::OnnxModelBuilder;
using testing::setAttr;

Result<Graph> importBytes(const std::string& bytes, const OnnxImportOptions& options = {}) {
    return importOnnxBytes(bytes, "test.onnx", "", options);
}

// Asserts the code and that the message or context contains each of `words`.
void expectError(const Result<Graph>& r, ErrorCode code, const std::vector<std::string>& words) {
    ASSERT_FALSE(r.ok()) << "imported although it should not";
    EXPECT_EQ(r.error().code, code) << r.error().toString();
    const std::string text = r.error().toString();
    for (const std::string& w : words) {
        EXPECT_NE(text.find(w), std::string::npos) << "'" << w << "' not in: " << text;
    }
}

TEST(OnnxImportErrors, MissingFileIsNotFound) {
    expectError(importOnnxFile("/nonexistent/dir/model.onnx"), ErrorCode::NotFound,
                {"/nonexistent/dir/model.onnx", "does not exist"});
}

TEST(OnnxImportErrors, RandomBytesAreNotAModel) {
    std::string junk(1000, '\0');
    uint32_t state = 7;
    for (char& c : junk) {
        state = state * 1664525u + 1013904223u;
        c = char(state >> 24);
    }
    expectError(importBytes(junk), ErrorCode::Corrupt,
                {"'test.onnx' is not an ONNX model or is truncated"});
    expectError(importBytes(""), ErrorCode::Corrupt, {"not an ONNX model"});
}

TEST(OnnxImportErrors, TruncatedFileIsCorrupt) {
    const std::string model = testing::convBnReluModel();
    expectError(importBytes(model.substr(0, model.size() / 2)), ErrorCode::Corrupt,
                {"test.onnx", "truncated"});
}

TEST(OnnxImportErrors, FileOverTheLimitIsOutOfRange) {
    OnnxImportOptions options;
    options.maxFileBytes = 16;
    expectError(importBytes(testing::convBnReluModel(), options), ErrorCode::OutOfRange,
                {"over the limit"});
}

TEST(OnnxImportErrors, UnknownOpIsUnsupported) {
    OnnxModelBuilder b;
    b.input("x", {1, 4});
    b.node("Foo", {"x"}, {"y"}, "foo1");
    b.output("y");
    expectError(importBytes(b.bytes()), ErrorCode::Unsupported,
                {"test.onnx", "node 'foo1' (Foo)", "unsupported op 'Foo'"});
}

TEST(OnnxImportErrors, ForeignDomainIsUnsupported) {
    OnnxModelBuilder b;
    auto* ms = b.model().add_opset_import();
    ms->set_domain("com.microsoft");
    ms->set_version(1);
    b.input("x", {1, 4});
    b.node("FusedGemm", {"x"}, {"y"}, "g").set_domain("com.microsoft");
    b.output("y");
    expectError(importBytes(b.bytes()), ErrorCode::Unsupported,
                {"node 'g' (FusedGemm)", "com.microsoft"});
}

TEST(OnnxImportErrors, InitializerWithWrongByteCountIsCorrupt) {
    OnnxModelBuilder b;
    auto& w = b.initializer("w", Tensor(DataType::Float32, {3, 3}));
    w.set_raw_data(std::string(12, '\0'));
    b.output("w");
    expectError(importBytes(b.bytes()), ErrorCode::Corrupt,
                {"test.onnx", "initializer 'w' has 12 bytes, expected 36"});
}

TEST(OnnxImportErrors, HugeShapesAreOutOfRange) {
    OnnxModelBuilder b;
    auto& w = b.initializer("w", Tensor(DataType::Float32, {1}));
    w.clear_dims();
    w.add_dims(int64_t(1) << 20);
    w.add_dims(int64_t(1) << 20);
    b.output("w");
    expectError(importBytes(b.bytes()), ErrorCode::OutOfRange, {"initializer 'w'", "2^32"});

    OnnxModelBuilder in;
    in.input("x", {int64_t(1) << 20, int64_t(1) << 20});
    in.output("x");
    expectError(importBytes(in.bytes()), ErrorCode::OutOfRange, {"input 'x'"});
}

TEST(OnnxImportErrors, MissingNameIsNotFound) {
    OnnxModelBuilder b;
    b.input("x", {1, 4});
    b.node("Relu", {"foo"}, {"y"}, "r");
    b.output("y");
    expectError(
        importBytes(b.bytes()), ErrorCode::NotFound,
        {"test.onnx", "node 'r' (Relu)", "reads 'foo', which no node or initializer produces"});

    OnnxModelBuilder out;
    out.input("x", {1, 4});
    out.output("nothing");
    expectError(importBytes(out.bytes()), ErrorCode::NotFound, {"graph output 'nothing'"});
}

TEST(OnnxImportErrors, CycleAndDoubleDefinitionAreCorrupt) {
    OnnxModelBuilder b;
    b.input("x", {1, 4});
    b.node("Add", {"x", "b"}, {"a"}, "first");
    b.node("Add", {"x", "a"}, {"b"}, "second");
    b.output("b");
    expectError(importBytes(b.bytes()), ErrorCode::Corrupt, {"cycle"});

    OnnxModelBuilder twice;
    twice.input("x", {1, 4});
    twice.node("Relu", {"x"}, {"y"}, "r1");
    twice.node("Relu", {"x"}, {"y"}, "r2");
    twice.output("y");
    expectError(importBytes(twice.bytes()), ErrorCode::Corrupt, {"node 'r2' (Relu)", "'y'"});
}

TEST(OnnxImportErrors, CheckerFailuresAreCorrupt) {
    OnnxModelBuilder b;
    b.model().set_ir_version(0);
    b.input("x", {1, 4});
    b.output("x");
    expectError(importBytes(b.bytes()), ErrorCode::Corrupt, {"IR version"});

    // A Constant whose 'value' attribute is an INT: onnx's checker refuses it.
    OnnxModelBuilder c;
    setAttr(c.node("Constant", {}, {"k"}, "k"), "value", int64_t(3));
    c.output("k");
    expectError(importBytes(c.bytes()), ErrorCode::Corrupt, {"test.onnx", "checker"});
}

TEST(OnnxImportErrors, UnboundDynamicDimsNameTheInputAndDim) {
    OnnxModelBuilder b;
    b.input("x", {-1, 3, -1, -1});
    b.output("x");
    expectError(importBytes(b.bytes()), ErrorCode::InvalidArgument,
                {"input 'x'", "dim 2", "give a size"});

    OnnxImportOptions options;
    options.inputShapes["x"] = {1, 3, 32, 48};
    auto bound = importBytes(b.bytes(), options);
    ASSERT_TRUE(bound.ok()) << bound.error().toString();
    EXPECT_EQ(bound->value(bound->inputs.at(0)).shape, (Shape{1, 3, 32, 48}));

    // -1 keeps the file's dim; the leading one defaults to 1.
    options.inputShapes["x"] = {-1, -1, 8, 8};
    auto kept = importBytes(b.bytes(), options);
    ASSERT_TRUE(kept.ok()) << kept.error().toString();
    EXPECT_EQ(kept->value(kept->inputs.at(0)).shape, (Shape{1, 3, 8, 8}));

    options.inputShapes["x"] = {1, 4, 8, 8};
    expectError(importBytes(b.bytes(), options), ErrorCode::InvalidArgument, {"fixed at 3"});
    options.inputShapes["x"] = {1, 3, 8};
    expectError(importBytes(b.bytes(), options), ErrorCode::InvalidArgument, {"4 dims"});
    options.inputShapes = {{"image", {1, 3, 8, 8}}};
    expectError(importBytes(b.bytes(), options), ErrorCode::InvalidArgument,
                {"no input 'image'", "'x'"});
}

TEST(OnnxImportErrors, ExternalDataLeavingTheFolderIsRefused) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("prunelab_onnx_import_ext_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "model");
    std::ofstream(dir / "secret.bin", std::ios::binary).write("\0\0\x80\x3f", 4);

    OnnxModelBuilder b;
    auto& w = b.initializer("w", Tensor(DataType::Float32, {1}));
    w.clear_raw_data();
    w.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* loc = w.add_external_data();
    loc->set_key("location");
    loc->set_value("../secret.bin");
    b.output("w");
    const auto path = (dir / "model" / "m.onnx").string();
    std::ofstream(path, std::ios::binary) << b.bytes();

    expectError(importOnnxFile(path), ErrorCode::InvalidArgument,
                {"m.onnx", "initializer 'w'", "../secret.bin"});
    // From memory there is no folder at all: external data is refused outright.
    expectError(importBytes(b.bytes()), ErrorCode::InvalidArgument, {"initializer 'w'"});

    loc->set_value("w.bin");  // the same model with its data next to it loads
    std::ofstream(dir / "model" / "w.bin", std::ios::binary).write("\0\0\x80\x3f", 4);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << b.bytes();
    auto ok = importOnnxFile(path);
    ASSERT_TRUE(ok.ok()) << ok.error().toString();
    EXPECT_EQ(ok->value(ok->outputs.at(0)).constant.toFloatVector(), (std::vector<float>{1.0f}));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace prunelab::engine
