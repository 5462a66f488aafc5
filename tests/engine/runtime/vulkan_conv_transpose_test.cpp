// The GPU's transposed convolution (a gather per output element) against the reference's
// scatter, on the shapes upsampling layers use and the edge cases of the attributes.
#include <gtest/gtest.h>

#include "engine/runtime/vulkan/vulkan_backend.h"
#include "engine/runtime/vulkan/vulkan_device.h"
#include "runtime_test_util.h"

namespace prunelab::engine::testing {
namespace {

struct TransposeCase {
    Shape x, w;
    std::vector<int64_t> strides, pads, dilations, outputPadding;
    int64_t group;
    bool bias;
};

TEST(VulkanConvTranspose, GathersWhatTheReferenceScatters) {
    const Backend& gpu = vulkan::vulkanBackend();
    if (Status ok = gpu.available(); !ok.ok()) {
        GTEST_SKIP() << "no Vulkan device here: " << ok.error().message;
    }
    const TransposeCase cases[] = {
        {{1, 8, 5, 7}, {8, 4, 2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, {0, 0}, 1, true},  // PP-OCR
        {{1, 4, 6, 5}, {4, 3, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, {1, 1}, 1, true},
        {{2, 6, 4, 4}, {6, 2, 3, 3}, {1, 1}, {1, 0, 0, 1}, {1, 1}, {0, 0}, 3, false},
        {{1, 3, 5, 6}, {3, 5, 3, 2}, {3, 2}, {0, 1, 2, 0}, {2, 1}, {2, 1}, 1, true},
        {{1, 2, 1, 1}, {2, 2, 4, 4}, {1, 1}, {0, 0, 0, 0}, {1, 1}, {0, 0}, 1, false},
    };
    int n = 0;
    for (const TransposeCase& c : cases) {
        SCOPED_TRACE("case " + std::to_string(n++));
        GraphBuilder b;
        const ValueId x = b.input(c.x);
        std::vector<ValueId> in = {x, b.randomConstant(c.w)};
        if (c.bias) in.push_back(b.randomConstant({c.w[1] * c.group}));
        Attributes at = convAttrs(c.strides, c.pads, c.dilations, c.group);
        at.set("output_padding", c.outputPadding);
        b.output(b.op(OpKind::ConvTranspose, in, at));
        auto exec = expectMatchesReference(b.graph, 1, 5, 1e-4f, gpu);
        ASSERT_TRUE(exec);
        const std::vector<KernelChoice> report = exec->kernelReport();
        ASSERT_EQ(report.size(), 1u);
        EXPECT_EQ(report[0].kernel.rfind("gpu conv transpose", 0), 0u)
            << report[0].kernel << ": " << report[0].reason;
    }
    EXPECT_EQ(vulkan::Device::validationErrors(), 0);
}

}  // namespace
}  // namespace prunelab::engine::testing
