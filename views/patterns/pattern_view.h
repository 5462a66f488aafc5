// The pattern set of a layer (or of the whole model) as large 3x3 glyphs with how many kernels
// use each pattern, and how many kernels connectivity pruning removed: sized to be read from the
// back of a classroom. Built from a plain PatternData (no session needed).
#pragma once

#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/prune/plan.h"
#include "engine/prune/stats.h"

namespace prunelab::views {

struct PatternData {
    struct Entry {
        engine::prune::Pattern mask = 0;  // bit (y * 3 + x) set for kept positions
        int32_t id = -1;    // index in the layer's pattern set; -1 when there is no one set
        int64_t count = 0;  // kept kernels with this pattern
    };
    std::string title;           // "conv3" or "whole model"
    std::vector<Entry> entries;  // most frequent first; ties by id, then mask
    int64_t kernels = 0;         // every kernel of the layer(s) shown
    int64_t kernelsRemoved = 0;  // kernels with every weight pruned
    bool connectivity = false;   // a pattern scheme chose the removed kernels (else: by weights)

    int64_t keptKernels() const;
    int64_t countOf(engine::prune::Pattern mask) const;  // 0 when not listed
};

// One layer: the histogram of its statistics, ids from its projection's pattern set (patterns
// that are in the set but unused are listed with count 0: the set is what the scheme chose).
PatternData patternDataFromLayer(const engine::prune::LayerStats& stats,
                                 const engine::prune::LayerProjection& projection);
// The whole model: histograms summed over its layers; ids only when every pattern layer shares
// one set (a model-wide set), since per-layer ids name different patterns.
PatternData patternDataFromModel(const engine::prune::ModelStats& stats,
                                 const engine::prune::PrunedModel& model);

class PatternView : public QWidget {
    Q_OBJECT
  public:
    explicit PatternView(QWidget* parent = nullptr);

    void setData(PatternData data);
    const PatternData& data() const { return m_data; }
    // How many entries fit and are drawn at the current size (the rest are summed in one line).
    int shownEntries() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    // The header's lines under the title (patterns and kernels kept; what pruning removed),
    // wrapped to the view's width, and the header's whole height with them.
    QStringList headerLines() const;
    QRect headerLineRect(const QString& line, int top, int viewWidth) const;
    // At `viewWidth` (the minimum size asks at the minimum width, not at a hidden view's).
    int headerHeight(int viewWidth) const;
    int headerHeight() const { return headerHeight(width()); }
    int rowHeight() const;

    PatternData m_data;
};

}  // namespace prunelab::views
