// Dependency groups for structured pruning: the channel spaces that must lose the same
// channels for the graph to stay valid (outputs tied by a residual Add, flowing through
// depthwise convs, BN or activations), the layers that read them, and why a group cannot be
// pruned when the analysis cannot follow its channels (Reshape, Transpose, graph outputs...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"

namespace prunelab::engine::prune {

// A node that touches a group's channels, with where the group's channels start inside the
// node's own channel axis (non-zero behind a Concat).
struct GroupMember {
    int node = -1;  // index into graph.nodes
    std::string name;
    int64_t offset = 0;
};

struct DependencyGroup {
    int64_t channels = 0;  // size of the shared channel space
    // Layers whose OUTPUT channels form the space (Conv/ConvTranspose/Gemm/MatMul with
    // constant weights, group 1); their filters [offset, offset + channels) are pruned. The
    // offset is non-zero when a wider layer is added to a Concat of narrower spaces (BlazeFace
    // widens 24 -> 48 channels with concat(x, zeros)): its filters then split over groups.
    std::vector<GroupMember> producers;
    // Nodes the space flows through that hold per-channel constants to slice: depthwise convs
    // (weights, bias and group count), BatchNormalization, PRelu, Mul/Add/Sub/Div by a
    // per-channel constant, and Concats with a constant piece (offset: in the Concat output).
    std::vector<GroupMember> passThrough;
    // Layers whose INPUT channels read the space (offset: where it starts in their input).
    std::vector<GroupMember> consumers;
    bool prunable = true;
    std::string reason;       // why not prunable ("reaches graph output 'boxes'"), else empty
    std::string description;  // "conv1, conv2 and conv5 share 24 channels through residual
                              // Add 'add_3'"
};

// Groups in order of their first producer node. Errors only for a graph that does not verify.
// Layers that no analysis can tie (grouped convs, transA Gemms) appear as non-prunable groups.
Result<std::vector<DependencyGroup>> findDependencyGroups(const Graph& graph);

}  // namespace prunelab::engine::prune
