// Backend conformance: every op of op_list.inc on every backend of backend_list.inc, against the
// reference runner. Both lists drive it: a new backend is tested with no new test, and a new op
// fails EveryOpHasASample until it has one sample line below. A backend that cannot run here
// skips with its own reason; the ctest names carry the backend (conformance_<name>).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>

#include "runtime_test_util.h"

namespace prunelab::engine::testing {
namespace {

// A sample builds a small graph around one op; it is run on the backend and by the reference.
using Sample = std::function<void(GraphBuilder&)>;

Attributes ints(const char* name, std::vector<int64_t> v) {
    Attributes a;
    a.set(name, std::move(v));
    return a;
}

Attributes with(Attributes a, const char* name, AttributeValue v) {
    a.set(name, std::move(v));
    return a;
}

Attributes poolAttrs(std::vector<int64_t> kernel, std::vector<int64_t> strides,
                     std::vector<int64_t> pads) {
    Attributes a = ints("kernel_shape", std::move(kernel));
    a.set("strides", std::move(strides));
    a.set("pads", std::move(pads));
    a.set("ceil_mode", int64_t{0});
    a.set("count_include_pad", int64_t{0});
    return a;
}

// A unary op on a plain input and on a conv's output (the CPU keeps those channels-last), so
// each backend's layout handling is in the test too.
Sample unary(OpKind op, Attributes attrs = {}) {
    return [op, attrs](GraphBuilder& b) {
        const ValueId x = b.input({1, 4, 5, 6});
        b.output(b.op(op, {x}, attrs));
        const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({8, 4, 1, 1})},
                               convAttrs({1, 1}, {0, 0, 0, 0}));
        b.output(b.op(op, {c}, attrs));
    };
}

// Values in (0.37, 2.7): for ops whose inputs must be positive.
ValueId positive(GraphBuilder& b, ValueId x) {
    return b.op(OpKind::Exp, {x});
}

Sample binary(OpKind op) {
    return [op](GraphBuilder& b) {
        const ValueId x = b.input({1, 4, 5, 6});
        const ValueId y = b.input({1, 4, 5, 6});
        const bool pos = op == OpKind::Div || op == OpKind::Pow;
        const ValueId lhs = pos ? positive(b, x) : x;
        b.output(b.op(op, {lhs, pos ? positive(b, y) : y}));
        b.output(b.op(op, {lhs, positive(b, b.randomConstant({4, 1, 1}))}));  // broadcast
    };
}

// Bool results as float32 graph outputs (1 or 0), so every backend's comparison is checked
// (the GPU runs float32: a Bool node runs on the CPU under the Vulkan backend).
ValueId asFloat(GraphBuilder& b, ValueId boolean) {
    Attributes a;
    a.set("to", int64_t(DataType::Float32));
    return b.op(OpKind::Cast, {boolean}, a);
}

// floor(2x): small integers, so the comparisons see ties as well as both orders.
ValueId coarse(GraphBuilder& b, ValueId x) {
    return b.op(OpKind::Floor, {b.op(OpKind::Mul, {x, b.constant(Tensor::scalar(2))})});
}

// A comparison on tied and untied values, and broadcast against a [4, 1, 1] constant.
Sample comparison(OpKind op) {
    return [op](GraphBuilder& b) {
        const ValueId x = coarse(b, b.input({1, 4, 5, 6}));
        const ValueId y = coarse(b, b.input({1, 4, 5, 6}));
        b.output(asFloat(b, b.op(op, {x, y})));
        b.output(asFloat(b, b.op(op, {x, coarse(b, b.randomConstant({4, 1, 1}))})));
    };
}

// x > 0 and y < 0.25 as Bool inputs of a logic op, the second broadcast from [5, 1].
Sample logic(OpKind op) {
    return [op](GraphBuilder& b) {
        const ValueId p =
            b.op(OpKind::Greater, {b.input({2, 5, 3}), b.constant(Tensor::scalar(0))});
        const ValueId q = b.op(OpKind::Less, {b.input({5, 1}), b.constant(Tensor::scalar(0.25f))});
        b.output(asFloat(b, b.op(op, {p, q})));
    };
}

// A float op on x and on 40x, whose tails (softplus(40) = 40, mish(-40) = -0) test overflow.
Sample wideUnary(OpKind op) {
    return [op](GraphBuilder& b) {
        const ValueId x = b.input({2, 3, 7});
        b.output(b.op(op, {x}));
        b.output(b.op(op, {b.op(OpKind::Mul, {x, b.constant(Tensor::scalar(40))})}));
    };
}

// Two inputs (the GPU shader), broadcast, and three inputs (CPU under the GPU backend).
Sample minMax(OpKind op) {
    return [op](GraphBuilder& b) {
        const ValueId x = b.input({1, 4, 5, 6});
        const ValueId y = b.input({1, 4, 5, 6});
        b.output(b.op(op, {x, y}));
        b.output(b.op(op, {x, b.randomConstant({4, 1, 1})}));
        b.output(b.op(op, {x, y, b.randomConstant({6})}));
    };
}

const std::map<OpKind, Sample>& samples() {
    static const std::map<OpKind, Sample> table = {
        {OpKind::Conv,
         [](GraphBuilder& b) {
             const ValueId x = b.input({1, 4, 7, 6});
             b.output(b.op(OpKind::Conv,
                           {x, b.randomConstant({6, 4, 3, 3}), b.randomConstant({6})},
                           convAttrs({1, 1}, {1, 1, 1, 1})));
             b.output(b.op(OpKind::Conv, {x, b.randomConstant({4, 1, 3, 3})},
                           convAttrs({2, 2}, {1, 1, 1, 1}, {1, 1}, 4)));  // depthwise, strided
         }},
        {OpKind::ConvTranspose,
         [](GraphBuilder& b) {
             const ValueId x = b.input({1, 4, 5, 6});
             b.output(b.op(OpKind::ConvTranspose,
                           {x, b.randomConstant({4, 3, 3, 3}), b.randomConstant({3})},
                           with(convAttrs({2, 2}, {1, 1, 1, 1}), "output_padding",
                                std::vector<int64_t>{1, 1})));
         }},
        {OpKind::Gemm,
         [](GraphBuilder& b) {
             Attributes a;
             a.set("transB", int64_t{1});
             b.output(b.op(OpKind::Gemm,
                           {b.input({3, 10}), b.randomConstant({5, 10}), b.randomConstant({5})},
                           a));
         }},
        {OpKind::MatMul,
         [](GraphBuilder& b) {
             b.output(b.op(OpKind::MatMul, {b.input({2, 3, 8}), b.randomConstant({8, 5})}));
         }},
        {OpKind::Add, binary(OpKind::Add)},
        {OpKind::Sub, binary(OpKind::Sub)},
        {OpKind::Mul, binary(OpKind::Mul)},
        {OpKind::Div, binary(OpKind::Div)},
        {OpKind::Pow, binary(OpKind::Pow)},
        {OpKind::Relu, unary(OpKind::Relu)},
        {OpKind::LeakyRelu, unary(OpKind::LeakyRelu, with({}, "alpha", 0.1f))},
        {OpKind::PRelu,
         [](GraphBuilder& b) {
             const ValueId x = b.input({1, 4, 5, 6});
             b.output(b.op(OpKind::PRelu, {x, b.randomConstant({4, 1, 1})}));
         }},
        {OpKind::Clip, unary(OpKind::Clip, with(with({}, "min", -0.5f), "max", 0.25f))},
        {OpKind::Sigmoid, unary(OpKind::Sigmoid)},
        {OpKind::HardSigmoid,
         unary(OpKind::HardSigmoid, with(with({}, "alpha", 0.2f), "beta", 0.5f))},
        {OpKind::HardSwish, unary(OpKind::HardSwish)},
        {OpKind::Tanh, unary(OpKind::Tanh)},
        {OpKind::Sqrt,
         [](GraphBuilder& b) { b.output(b.op(OpKind::Sqrt, {positive(b, b.input({2, 7}))})); }},
        {OpKind::Exp, unary(OpKind::Exp)},
        {OpKind::Softmax, unary(OpKind::Softmax, with({}, "axis", int64_t{1}))},
        {OpKind::MaxPool, unary(OpKind::MaxPool, poolAttrs({3, 3}, {2, 2}, {1, 1, 1, 1}))},
        {OpKind::AveragePool, unary(OpKind::AveragePool, poolAttrs({2, 2}, {2, 2}, {0, 0, 0, 0}))},
        {OpKind::GlobalAveragePool, unary(OpKind::GlobalAveragePool)},
        {OpKind::BatchNormalization,
         [](GraphBuilder& b) {
             const ValueId x = b.input({2, 3, 4, 5});
             b.output(b.op(OpKind::BatchNormalization,
                           {x, b.randomConstant({3}), b.randomConstant({3}), b.randomConstant({3}),
                            b.constant(Tensor::fromVector<float>({3}, {0.5f, 1.0f, 2.0f}))},
                           with({}, "epsilon", 1e-5f)));
         }},
        {OpKind::Concat,
         [](GraphBuilder& b) {
             b.output(b.op(OpKind::Concat, {b.input({1, 2, 3, 4}), b.input({1, 5, 3, 4})},
                           with({}, "axis", int64_t{1})));
         }},
        {OpKind::Split,
         [](GraphBuilder& b) {
             Attributes a = ints("split", {2, 3});
             a.set("axis", int64_t{1});
             for (ValueId v : b.ops(OpKind::Split, {b.input({1, 5, 3, 4})}, a, 2)) b.output(v);
         }},
        {OpKind::Slice,
         [](GraphBuilder& b) {
             Attributes a = ints("starts", {1, 0});
             a.set("ends", std::vector<int64_t>{4, 5});
             a.set("axes", std::vector<int64_t>{1, 3});
             a.set("steps", std::vector<int64_t>{1, 2});
             b.output(b.op(OpKind::Slice, {b.input({1, 5, 3, 6})}, a));
         }},
        {OpKind::Pad, unary(OpKind::Pad, with(ints("pads", {0, 0, 1, 2, 0, 0, 2, 1}), "mode",
                                               std::string("reflect")))},
        {OpKind::Reshape,
         [](GraphBuilder& b) {
             b.output(b.op(OpKind::Reshape, {b.input({2, 3, 4})}, ints("shape", {4, 6})));
         }},
        {OpKind::Flatten,
         [](GraphBuilder& b) {
             b.output(b.op(OpKind::Flatten, {b.input({2, 3, 4, 5})}, with({}, "axis", int64_t{1})));
         }},
        {OpKind::Transpose, unary(OpKind::Transpose, ints("perm", {0, 2, 3, 1}))},
        {OpKind::Squeeze,
         [](GraphBuilder& b) {
             b.output(b.op(OpKind::Squeeze, {b.input({1, 3, 1, 4})}, ints("axes", {0, 2})));
         }},
        {OpKind::Unsqueeze,
         [](GraphBuilder& b) {
             b.output(b.op(OpKind::Unsqueeze, {b.input({3, 4})}, ints("axes", {0, 2})));
         }},
        {OpKind::Resize,
         [](GraphBuilder& b) {
             for (const char* mode : {"nearest", "linear", "cubic"}) {
                 Attributes a;
                 a.set("mode", std::string(mode));
                 a.set("coordinate_transformation_mode", std::string("half_pixel"));
                 a.set("nearest_mode", std::string("round_prefer_floor"));
                 a.set("cubic_coeff_a", -0.75f);
                 a.set("scales", std::vector<float>{1, 1, 2, 2});
                 a.set("sizes", std::vector<int64_t>{1, 3, 10, 8});
                 b.output(b.op(OpKind::Resize, {b.input({1, 3, 5, 4})}, a));
             }
         }},
        {OpKind::DepthToSpace, unary(OpKind::DepthToSpace, with(with({}, "blocksize", int64_t{2}),
                                                                "mode", std::string("CRD")))},
        {OpKind::ReduceMean,
         unary(OpKind::ReduceMean, with(ints("axes", {2, 3}), "keepdims", int64_t{1}))},
        {OpKind::Identity, unary(OpKind::Identity)},
        {OpKind::ConstantOfShape,
         [](GraphBuilder& b) {
             // No input: added to an input so the graph has one to feed.
             Attributes a = ints("shape", {2, 3});
             a.set("value", Tensor::fromVector<float>({1}, {1.5f}));
             b.output(b.op(OpKind::Add, {b.input({2, 3}), b.op(OpKind::ConstantOfShape, {}, a)}));
         }},
        {OpKind::Shape,
         [](GraphBuilder& b) { b.output(b.op(OpKind::Shape, {b.input({2, 3, 4})})); }},
        {OpKind::Gather,
         [](GraphBuilder& b) {
             const ValueId idx = b.constant(Tensor::fromVector<int64_t>({3}, {2, 0, 2}));
             b.output(b.op(OpKind::Gather, {b.input({4, 5}), idx}, with({}, "axis", int64_t{0})));
         }},
        {OpKind::Cast,
         [](GraphBuilder& b) {
             // Float to int64 and back: the values themselves pass through an integer type.
             const ValueId x = b.op(OpKind::Mul, {b.input({3, 4}), b.constant(Tensor::scalar(9))});
             const ValueId i = b.op(OpKind::Cast, {x}, with({}, "to", int64_t(DataType::Int64)));
             b.output(b.op(OpKind::Cast, {i}, with({}, "to", int64_t(DataType::Float32))));
         }},
        {OpKind::Equal, comparison(OpKind::Equal)},
        {OpKind::Greater, comparison(OpKind::Greater)},
        {OpKind::Less, comparison(OpKind::Less)},
        {OpKind::GreaterOrEqual, comparison(OpKind::GreaterOrEqual)},
        {OpKind::LessOrEqual, comparison(OpKind::LessOrEqual)},
        {OpKind::Not,
         [](GraphBuilder& b) {
             const ValueId x = b.input({3, 4});
             b.output(asFloat(b, b.op(OpKind::Not, {b.op(OpKind::Greater,
                                                         {x, b.constant(Tensor::scalar(0))})})));
         }},
        {OpKind::And, logic(OpKind::And)},
        {OpKind::Or, logic(OpKind::Or)},
        {OpKind::Where,
         [](GraphBuilder& b) {
             const ValueId x = b.input({1, 4, 5, 6});
             const ValueId y = b.input({1, 4, 5, 6});
             const ValueId cond = b.op(OpKind::Greater, {x, y});
             b.output(b.op(OpKind::Where, {cond, x, y}));
             // Three-way broadcasting: cond [1,4,5,6], X [4,1,1], Y a scalar.
             b.output(b.op(OpKind::Where,
                           {cond, b.randomConstant({4, 1, 1}), b.constant(Tensor::scalar(-2))}));
         }},
        {OpKind::Min, minMax(OpKind::Min)},
        {OpKind::Max, minMax(OpKind::Max)},
        {OpKind::Neg, unary(OpKind::Neg)},
        {OpKind::Abs, unary(OpKind::Abs)},
        {OpKind::Floor, unary(OpKind::Floor)},
        {OpKind::Ceil, unary(OpKind::Ceil)},
        {OpKind::Round, unary(OpKind::Round)},
        {OpKind::Log,
         [](GraphBuilder& b) { b.output(b.op(OpKind::Log, {positive(b, b.input({2, 7}))})); }},
        {OpKind::Reciprocal,
         [](GraphBuilder& b) {
             b.output(b.op(OpKind::Reciprocal, {positive(b, b.input({2, 7}))}));
         }},
        {OpKind::Erf, wideUnary(OpKind::Erf)},
        {OpKind::Softplus, wideUnary(OpKind::Softplus)},
        {OpKind::Mish, wideUnary(OpKind::Mish)},
        // Issue 22's tensor ops.
        {OpKind::Expand,
         [](GraphBuilder& b) {
             const ValueId x = b.input({1, 4, 1, 6});
             b.output(b.op(OpKind::Expand, {x}, ints("shape", {2, 4, 5, 6})));
             const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({8, 4, 1, 1})},
                                    convAttrs({1, 1}, {0, 0, 0, 0}));
             b.output(b.op(OpKind::Expand, {c}, ints("shape", {2, 8, 3, 6})));
         }},
        {OpKind::Tile, unary(OpKind::Tile, ints("repeats", {1, 2, 1, 3}))},
        {OpKind::Range,
         [](GraphBuilder& b) {
             // No input: added to one so the graph has something to feed.
             Attributes a;
             a.set("start", Tensor::fromVector<float>({1}, {0.5f}));
             a.set("limit", Tensor::fromVector<float>({1}, {3.0f}));
             a.set("delta", Tensor::fromVector<float>({1}, {0.5f}));
             b.output(b.op(OpKind::Add, {b.input({5}), b.op(OpKind::Range, {}, a)}));
         }},
        {OpKind::ReduceMax,
         unary(OpKind::ReduceMax, with(ints("axes", {1, 3}), "keepdims", int64_t{0}))},
        {OpKind::ReduceSum,
         unary(OpKind::ReduceSum, with(ints("axes", {1, 2}), "keepdims", int64_t{1}))},
        {OpKind::ReduceMin, unary(OpKind::ReduceMin, with(ints("axes", {2}), "keepdims", int64_t{1}))},
        {OpKind::ArgMax,
         [](GraphBuilder& b) {
             // int64 indices: cast to float so the comparison sees them.
             const ValueId x = b.input({1, 4, 5, 6});
             for (int64_t last : {0, 1}) {
                 Attributes a = with(with({}, "axis", int64_t{1}), "select_last_index", last);
                 const ValueId i = b.op(OpKind::ArgMax, {x}, a);
                 b.output(b.op(OpKind::Cast, {i}, with({}, "to", int64_t(DataType::Float32))));
             }
         }},
        {OpKind::InstanceNormalization,
         [](GraphBuilder& b) {
             const ValueId x = b.input({2, 4, 5, 6});
             b.output(b.op(OpKind::InstanceNormalization,
                           {x, b.randomConstant({4}), b.randomConstant({4})},
                           with({}, "epsilon", 1e-3f)));
             const ValueId c = b.op(OpKind::Conv, {x, b.randomConstant({8, 4, 1, 1})},
                                    convAttrs({1, 1}, {0, 0, 0, 0}));
             b.output(b.op(OpKind::InstanceNormalization,
                           {c, b.randomConstant({8}), b.randomConstant({8})}));
         }},
        {OpKind::LayerNormalization,
         [](GraphBuilder& b) {
             const ValueId x = b.input({2, 5, 6});
             b.output(b.op(OpKind::LayerNormalization,
                           {x, b.randomConstant({6}), b.randomConstant({6})},
                           with({}, "axis", int64_t{2})));
             // Scale and B broadcast over the rows' dims; no B.
             b.output(b.op(OpKind::LayerNormalization,
                           {x, b.randomConstant({5, 6}), b.randomConstant({1, 6})},
                           with({}, "axis", int64_t{1})));
             b.output(b.op(OpKind::LayerNormalization, {x, b.randomConstant({5, 1})},
                           with({}, "axis", int64_t{1})));
         }},
        {OpKind::GlobalMaxPool, unary(OpKind::GlobalMaxPool)},
        {OpKind::LRN,
         unary(OpKind::LRN,
               with(with(with({}, "size", int64_t{4}), "alpha", 0.05f), "bias", 1.5f))},
    };
    return table;
}

std::vector<OpKind> allOps() {
    return {
#define PL_OP(kind) OpKind::kind,
#include "engine/ir/op_list.inc"
#include "engine/runtime/backend_list.h"
#undef PL_OP
    };
}

TEST(ConformanceList, EveryOpHasASample) {
    ASSERT_EQ(allOps().size(), static_cast<size_t>(kOpCount));
    for (OpKind op : allOps()) {
        EXPECT_TRUE(samples().count(op)) << opName(op) << " has no conformance sample: add one "
                                         << "line to tests/engine/runtime/conformance_test.cpp";
    }
}

class Conformance : public ::testing::TestWithParam<std::tuple<const Backend*, OpKind>> {};

TEST_P(Conformance, MatchesTheReferenceRunner) {
    const auto [backend, op] = GetParam();
    if (Status ok = backend->available(); !ok.ok()) {
        GTEST_SKIP() << "backend '" << backend->name()
                     << "' cannot run here: " << ok.error().message;
    }
    auto it = samples().find(op);
    ASSERT_NE(it, samples().end()) << opName(op) << " has no sample (see EveryOpHasASample)";
    GraphBuilder b;
    it->second(b);
    ASSERT_FALSE(::testing::Test::HasFailure()) << "the sample graph did not build";
    for (const Node& node : b.graph.nodes) {
        auto why = backend->unsupported(b.graph, node);
        EXPECT_FALSE(why) << b.graph.describeNode(node) << ": " << why.value_or("");
    }
    for (int threads : {1, 2}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        auto exec = expectMatchesReference(b.graph, threads, 7, 1e-4f, *backend);
        ASSERT_TRUE(exec);
        // One entry per node at least (fused ones say so): what the Kernels view lists.
        EXPECT_GE(exec->kernelReport().size(), b.graph.nodes.size());
    }
}

// fp16 storage on the GPU: every op's sample compiles with 16-bit buffers (a shader that writes
// y without STORE would not) and stays within 1e-2 of each output's range of the reference's
// float32, the error of 16-bit storage across a few steps.
class HalfConformance : public ::testing::TestWithParam<OpKind> {};

TEST_P(HalfConformance, StaysWithinHalfPrecisionOfTheReference) {
    auto found = findBackend("vulkan");
    ASSERT_TRUE(found.ok()) << found.error().toString();
    const Backend* gpu = *found;
    if (Status ok = gpu->available(); !ok.ok()) {
        GTEST_SKIP() << "no Vulkan device here: " << ok.error().message;
    }
    GraphBuilder b;
    samples().at(GetParam())(b);
    ASSERT_FALSE(::testing::Test::HasFailure()) << "the sample graph did not build";
    PrepareOptions options;
    options.halfStorage = true;
    auto probe = gpu->prepare(b.graph, options);
    if (!probe.ok() && probe.error().code == ErrorCode::Unsupported &&
        probe.error().message.rfind("fp16 storage", 0) == 0) {
        GTEST_SKIP() << probe.error().message;
    }
    auto exec = expectMatchesReference(b.graph, options, 7, 1e-2f, *gpu);
    ASSERT_TRUE(exec);
}

INSTANTIATE_TEST_SUITE_P(Fp16, HalfConformance, ::testing::ValuesIn(allOps()),
                         [](const ::testing::TestParamInfo<OpKind>& p) {
                             return std::string(opName(p.param));
                         });

std::vector<std::tuple<const Backend*, OpKind>> cases() {
    std::vector<std::tuple<const Backend*, OpKind>> all;
    for (const Backend* backend : backends()) {
        for (OpKind op : allOps()) all.emplace_back(backend, op);
    }
    return all;
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<std::tuple<const Backend*, OpKind>>& p) {
                             return std::string(std::get<0>(p.param)->name()) + "_" +
                                    std::string(opName(std::get<1>(p.param)));
                         });

}  // namespace
}  // namespace prunelab::engine::testing
