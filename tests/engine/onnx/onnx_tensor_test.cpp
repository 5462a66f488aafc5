// TensorProto -> Tensor: every dtype from raw and typed fields, half widening, size checks done
// before allocation, and external data confined to the model's folder.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "engine/onnx/onnx_tensor.h"
#include "tests/engine/onnx/onnx_test_models.h"

namespace prunelab::engine {
namespace {

using internal::ExternalDataPolicy;
using internal::tensorFromOnnx;
using testing::fillTensorProto;

const ExternalDataPolicy kNoExternal{};

onnx::TensorProto halfProto(const std::vector<uint16_t>& bits, int32_t type) {
    onnx::TensorProto p;
    p.set_data_type(type);
    p.add_dims(int64_t(bits.size()));
    p.set_raw_data(reinterpret_cast<const char*>(bits.data()), bits.size() * 2);
    return p;
}

TEST(OnnxTensor, RawRoundTripsEveryEngineType) {
    const std::vector<Tensor> tensors = {
        Tensor::fromVector<float>({2, 2}, {1.5f, -2, 0, 3}),
        Tensor::fromVector<double>({3}, {1e300, -1, 0.5}),
        Tensor::fromVector<int8_t>({2}, {-128, 127}),
        Tensor::fromVector<uint8_t>({2}, {0, 255}),
        Tensor::fromVector<int32_t>({1}, {-7}),
        Tensor::fromVector<int64_t>({}, {int64_t(1) << 40}),
        Tensor::fromVector<bool>({3}, {true, false, true}),
        Tensor(DataType::Float32, {0, 4}),  // empty tensors are legal
    };
    for (const Tensor& t : tensors) {
        onnx::TensorProto p;
        internal::tensorToOnnx(t, p);
        auto back = tensorFromOnnx(p, "initializer 't'", kNoExternal);
        ASSERT_TRUE(back.ok()) << back.error().toString();
        EXPECT_TRUE(back->identical(t)) << dataTypeName(t.dtype());
    }
}

TEST(OnnxTensor, TypedFields) {
    onnx::TensorProto f;
    f.set_data_type(onnx::TensorProto::FLOAT);
    f.add_dims(2);
    f.add_float_data(1.25f);
    f.add_float_data(-3.0f);
    auto tf = tensorFromOnnx(f, "f", kNoExternal);
    ASSERT_TRUE(tf.ok());
    EXPECT_EQ(tf->toFloatVector(), (std::vector<float>{1.25f, -3.0f}));

    onnx::TensorProto i8;
    i8.set_data_type(onnx::TensorProto::INT8);
    i8.add_dims(2);
    i8.add_int32_data(-5);
    i8.add_int32_data(100);
    auto t8 = tensorFromOnnx(i8, "i8", kNoExternal);
    ASSERT_TRUE(t8.ok());
    EXPECT_EQ(t8->dtype(), DataType::Int8);
    EXPECT_EQ(t8->toInt64Vector(), (std::vector<int64_t>{-5, 100}));

    onnx::TensorProto i64;
    i64.set_data_type(onnx::TensorProto::INT64);
    i64.add_int64_data(42);  // a scalar: no dims, one value
    auto t64 = tensorFromOnnx(i64, "i64", kNoExternal);
    ASSERT_TRUE(t64.ok());
    EXPECT_EQ(t64->shape(), Shape{});
    EXPECT_EQ(t64->toInt64Vector(), (std::vector<int64_t>{42}));

    onnx::TensorProto b;
    b.set_data_type(onnx::TensorProto::BOOL);
    b.add_dims(2);
    b.add_int32_data(0);
    b.add_int32_data(7);  // any non-zero is true; the engine stores exactly 1
    auto tb = tensorFromOnnx(b, "b", kNoExternal);
    ASSERT_TRUE(tb.ok());
    EXPECT_EQ(tb->toInt64Vector(), (std::vector<int64_t>{0, 1}));

    onnx::TensorProto d;
    d.set_data_type(onnx::TensorProto::DOUBLE);
    d.add_double_data(0.125);
    auto td = tensorFromOnnx(d, "d", kNoExternal);
    ASSERT_TRUE(td.ok());
    EXPECT_EQ(td->dtype(), DataType::Float64);
}

TEST(OnnxTensor, Float16AndBfloat16WidenToFloat32) {
    // 1.0, -2.0, smallest subnormal, +inf, 65504 (max half)
    auto t = tensorFromOnnx(
        halfProto({0x3C00, 0xC000, 0x0001, 0x7C00, 0x7BFF}, onnx::TensorProto::FLOAT16), "h",
        kNoExternal);
    ASSERT_TRUE(t.ok()) << t.error().toString();
    ASSERT_EQ(t->dtype(), DataType::Float32);
    const float* v = t->data<float>();
    EXPECT_EQ(v[0], 1.0f);
    EXPECT_EQ(v[1], -2.0f);
    EXPECT_EQ(v[2], std::ldexp(1.0f, -24));
    EXPECT_TRUE(std::isinf(v[3]));
    EXPECT_EQ(v[4], 65504.0f);

    auto bf =
        tensorFromOnnx(halfProto({0x3F80, 0xC040}, onnx::TensorProto::BFLOAT16), "bf", kNoExternal);
    ASSERT_TRUE(bf.ok());
    EXPECT_EQ(bf->toFloatVector(), (std::vector<float>{1.0f, -3.0f}));

    onnx::TensorProto typed;  // float16 bits in int32_data
    typed.set_data_type(onnx::TensorProto::FLOAT16);
    typed.add_dims(1);
    typed.add_int32_data(0x3800);  // 0.5
    auto tt = tensorFromOnnx(typed, "t", kNoExternal);
    ASSERT_TRUE(tt.ok());
    EXPECT_EQ(tt->toFloatVector(), (std::vector<float>{0.5f}));
}

TEST(OnnxTensor, WrongByteCountIsCorrupt) {
    onnx::TensorProto p;
    p.set_data_type(onnx::TensorProto::FLOAT);
    p.add_dims(3);
    p.add_dims(3);
    p.set_raw_data(std::string(12, '\0'));
    auto t = tensorFromOnnx(p, "initializer 'w'", kNoExternal);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::Corrupt);
    EXPECT_EQ(t.error().message, "initializer 'w' has 12 bytes, expected 36");

    onnx::TensorProto typed;
    typed.set_data_type(onnx::TensorProto::INT64);
    typed.add_dims(4);
    typed.add_int64_data(1);
    auto tt = tensorFromOnnx(typed, "initializer 'i'", kNoExternal);
    ASSERT_FALSE(tt.ok());
    EXPECT_EQ(tt.error().code, ErrorCode::Corrupt);
    EXPECT_NE(tt.error().message.find("has 1 values, expected 4"), std::string::npos);
}

TEST(OnnxTensor, HugeShapeIsOutOfRangeWithoutAllocating) {
    onnx::TensorProto p;
    p.set_data_type(onnx::TensorProto::FLOAT);
    p.add_dims(int64_t(1) << 20);
    p.add_dims(int64_t(1) << 20);  // 2^40 elements
    p.set_raw_data("abcd");
    auto t = tensorFromOnnx(p, "initializer 'big'", kNoExternal);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::OutOfRange);
    EXPECT_NE(t.error().message.find("initializer 'big'"), std::string::npos);

    // 2^32 int64 elements declared with no data: the value count is checked first.
    onnx::TensorProto q;
    q.set_data_type(onnx::TensorProto::INT64);
    q.add_dims(int64_t(1) << 32);
    auto tq = tensorFromOnnx(q, "q", kNoExternal);
    ASSERT_FALSE(tq.ok());
    EXPECT_EQ(tq.error().code, ErrorCode::Corrupt);

    onnx::TensorProto neg;
    neg.set_data_type(onnx::TensorProto::FLOAT);
    neg.add_dims(-2);
    auto tn = tensorFromOnnx(neg, "n", kNoExternal);
    ASSERT_FALSE(tn.ok());
    EXPECT_EQ(tn.error().code, ErrorCode::Corrupt);
}

TEST(OnnxTensor, UnsupportedTypesSayWhich) {
    onnx::TensorProto p;
    p.set_data_type(onnx::TensorProto::STRING);
    p.add_string_data("hello");
    auto t = tensorFromOnnx(p, "initializer 's'", kNoExternal);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::Unsupported);
    EXPECT_NE(t.error().message.find("STRING"), std::string::npos);
}

class OnnxExternalData : public ::testing::Test {
  protected:
    void SetUp() override {
        m_root = std::filesystem::temp_directory_path() /
                 ("prunelab_onnx_ext_" + std::to_string(::getpid()));
        std::filesystem::create_directories(m_root / "model");
        std::ofstream(m_root / "model" / "weights.bin", std::ios::binary)
            .write("\0\0\0\0\0\0\x80\x3f\0\0\0\x40", 12);  // 0, 1.0f, 2.0f
        std::ofstream(m_root / "secret.bin", std::ios::binary).write("\0\0\x80\x3f", 4);
    }
    void TearDown() override { std::filesystem::remove_all(m_root); }

    static onnx::TensorProto externalProto(const std::string& location, const std::string& offset,
                                           int64_t elements) {
        onnx::TensorProto p;
        p.set_name("w");
        p.set_data_type(onnx::TensorProto::FLOAT);
        p.add_dims(elements);
        p.set_data_location(onnx::TensorProto::EXTERNAL);
        auto* loc = p.add_external_data();
        loc->set_key("location");
        loc->set_value(location);
        if (!offset.empty()) {
            auto* off = p.add_external_data();
            off->set_key("offset");
            off->set_value(offset);
        }
        return p;
    }
    ExternalDataPolicy policy() const { return {(m_root / "model").string()}; }

    std::filesystem::path m_root;
};

TEST_F(OnnxExternalData, ReadsInsideTheModelFolder) {
    auto t = tensorFromOnnx(externalProto("weights.bin", "4", 2), "initializer 'w'", policy());
    ASSERT_TRUE(t.ok()) << t.error().toString();
    EXPECT_EQ(t->toFloatVector(), (std::vector<float>{1.0f, 2.0f}));
}

TEST_F(OnnxExternalData, RefusesPathsLeavingTheFolder) {
    auto up = tensorFromOnnx(externalProto("../secret.bin", "", 1), "initializer 'w'", policy());
    ASSERT_FALSE(up.ok());
    EXPECT_EQ(up.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(up.error().message.find("initializer 'w'"), std::string::npos);
    EXPECT_NE(up.error().message.find("../secret.bin"), std::string::npos);
    EXPECT_NE(up.error().message.find("leaves"), std::string::npos);

    auto abs = tensorFromOnnx(externalProto((m_root / "secret.bin").string(), "", 1),
                              "initializer 'w'", policy());
    ASSERT_FALSE(abs.ok());
    EXPECT_EQ(abs.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(abs.error().message.find("absolute"), std::string::npos);

    // A symlink inside the folder that points outside is caught after canonicalisation.
    std::filesystem::create_symlink(m_root / "secret.bin", m_root / "model" / "link.bin");
    auto link = tensorFromOnnx(externalProto("link.bin", "", 1), "initializer 'w'", policy());
    ASSERT_FALSE(link.ok());
    EXPECT_EQ(link.error().code, ErrorCode::InvalidArgument);
}

TEST_F(OnnxExternalData, ChecksSizesAndPresence) {
    auto shortFile =
        tensorFromOnnx(externalProto("weights.bin", "8", 2), "initializer 'w'", policy());
    ASSERT_FALSE(shortFile.ok());
    EXPECT_EQ(shortFile.error().code, ErrorCode::Corrupt);
    EXPECT_NE(shortFile.error().message.find("too short"), std::string::npos);

    auto missing = tensorFromOnnx(externalProto("nope.bin", "", 1), "initializer 'w'", policy());
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);

    auto badOffset = tensorFromOnnx(externalProto("weights.bin", "x4", 1), "w", policy());
    ASSERT_FALSE(badOffset.ok());
    EXPECT_EQ(badOffset.error().code, ErrorCode::Corrupt);

    auto noBase = tensorFromOnnx(externalProto("weights.bin", "", 1), "initializer 'w'", {});
    ASSERT_FALSE(noBase.ok());
    EXPECT_EQ(noBase.error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace prunelab::engine
