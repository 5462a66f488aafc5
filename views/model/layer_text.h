// Layer names and pruning reasons as a person reads them: framework names shortened to their
// distinctive end (the full name goes in a tooltip), and why a plan kept a layer dense in plain
// words, for the layer table, the sparsity pane and the density strip alike.
#pragma once

#include <QString>
#include <string>
#include <vector>

#include "engine/prune/plan.h"

namespace prunelab::views {

// The leading path the names share, up to and including its last '/' ("StatefulPartitionedCall/
// functional_1/" for BlazeFace): "" with fewer than two names or no shared '/'-ended prefix.
QString sharedNamePrefix(const std::vector<std::string>& names);
// `name` without `prefix`; the whole name when it does not start with it or nothing would remain.
QString shortLayerName(const std::string& name, const QString& prefix);

// `name` with a zero-width space after each '/', so a word-wrapped label may break a long
// framework name there instead of growing wider than the screen. For display only: a copy of
// the text would carry the invisible spaces.
QString wrappableName(const std::string& name);

// Why the plan kept a layer whole, from the engine's reason ("first prunable layer kept dense
// (keepFirstLast)", ...): a sentence a class reads, with the plan's own term in brackets for
// researchers ("Kept dense: the first layer reads the picture itself, ..."). Empty when the
// reason is empty (a model read from a file without its plan).
QString keptDenseSentence(const std::string& reason);
// The same in two or three words for a table cell: "first layer", "last layer", "plan names it",
// "plan default"; empty when unknown.
QString keptDenseShort(const std::string& reason);
// The note shown beside a layer's map: the kept-dense sentence for a dense layer, the fallback's
// reason for a layer its scheme could not prune, "" for a layer pruned as planned.
QString layerPruningNote(const engine::prune::LayerPruning& layer);

}  // namespace prunelab::views
