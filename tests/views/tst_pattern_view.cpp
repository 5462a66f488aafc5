// The pattern view on BlazeFace pruned with patdnn-8: its frequencies are the engine's pattern
// histogram (and the kernels' own pattern ids), its removed count is the engine's.
#include <QtTest>

#include <map>

#include "engine/prune/stats.h"
#include "tests/views/widgets_test_util.h"
#include "views/patterns/pattern_view.h"

using namespace prunelab;

class TestPatternView : public QObject {
    Q_OBJECT

  private:
    std::optional<engine::prune::PrunedModel> m_model;
    QString m_why;

  private slots:
    void initTestCase() { m_model = views::testing::prunedBlazeFace("patdnn-8", m_why); }

    void layerFrequenciesAreTheEnginesHistogram() {
        if (!m_model) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        int patternLayers = 0;
        for (const engine::prune::LayerPruning& l : m_model->layers) {
            const auto& proj = l.projection;
            if (proj.patternSet.empty()) continue;
            ++patternLayers;
            const engine::prune::LayerStats stats = engine::prune::layerStats(l.layer, proj);
            const views::PatternData d = views::patternDataFromLayer(stats, proj);
            QVERIFY(!stats.patternHistogram.empty());
            for (const auto& [mask, count] : stats.patternHistogram)
                QCOMPARE(d.countOf(mask), count);
            // Counted again from the kernels' pattern ids, which the statistics do not read.
            std::map<int32_t, int64_t> byId;
            int64_t removed = 0;
            for (int32_t id : proj.kernelPattern) id >= 0 ? ++byId[id] : ++removed;
            for (const views::PatternData::Entry& e : d.entries) {
                QVERIFY(e.id >= 0);
                QCOMPARE(e.mask, proj.patternSet[static_cast<size_t>(e.id)]);
                QCOMPARE(e.count, byId[e.id]);
            }
            QCOMPARE(d.entries.size(), proj.patternSet.size());
            QCOMPARE(d.kernelsRemoved, stats.kernelsRemoved);
            QCOMPARE(d.kernelsRemoved, removed);
            QVERIFY(d.connectivity);
            for (size_t k = 1; k < d.entries.size(); ++k)
                QVERIFY(d.entries[k - 1].count >= d.entries[k].count);
        }
        QVERIFY2(patternLayers > 0, "patdnn-8 gave BlazeFace pattern layers");
    }

    void modelFrequenciesSumTheLayers() {
        if (!m_model) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        const engine::prune::ModelStats stats = engine::prune::modelStats(*m_model);
        const views::PatternData d = views::patternDataFromModel(stats, *m_model);
        std::map<engine::prune::Pattern, int64_t> sum;
        int64_t kernels = 0, removed = 0;
        for (const auto& l : stats.layers) {
            for (const auto& [mask, count] : l.patternHistogram) sum[mask] += count;
            if (l.patternHistogram.empty()) continue;  // the count covers the pattern layers
            kernels += l.kernels;
            removed += l.kernelsRemoved;
        }
        QCOMPARE(d.entries.size(), sum.size());
        for (const auto& [mask, count] : sum) QCOMPARE(d.countOf(mask), count);
        QCOMPARE(d.kernelsRemoved, removed);
        QCOMPARE(d.kernels, kernels);
        QVERIFY2(kernels < stats.kernels,
                 "BlazeFace has non-pattern layers, left out of the count");
    }

    void drawsEveryPatternLarge() {
        if (!m_model) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        const engine::prune::LayerPruning* layer = nullptr;
        for (const auto& l : m_model->layers)
            if (!l.projection.patternSet.empty()) layer = &l;
        QVERIFY(layer);
        views::PatternView view;
        view.resize(900, 1000);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setData(views::patternDataFromLayer(
            engine::prune::layerStats(layer->layer, layer->projection), layer->projection));
        QCOMPARE(view.shownEntries(), static_cast<int>(view.data().entries.size()));
        QVERIFY(view.font().pointSizeF() >= 14);
        const QImage image = view.grab().toImage();
        views::testing::dumpForReview(image, QStringLiteral("pattern_view"));
        const QRgb base = view.palette().base().color().rgb();
        int inked = 0;
        for (int y = 0; y < image.height(); y += 2)
            for (int x = 0; x < image.width(); x += 2) inked += image.pixel(x, y) != base;
        QVERIFY(inked > 1000);
        // Too short for every row: the rest is summed in one line, not squeezed.
        view.resize(900, 200);
        QVERIFY(view.shownEntries() < static_cast<int>(view.data().entries.size()));
    }
};

int runPatternViewTests(int argc, char** argv) {
    TestPatternView test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_pattern_view.moc"
