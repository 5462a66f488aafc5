// The density strip on BlazeFace pruned with patdnn-8: one bar per prunable layer with the
// engine's density, and a click on a bar selects that layer.
#include <QSignalSpy>
#include <QtTest>

#include "engine/prune/stats.h"
#include "tests/views/widgets_test_util.h"
#include "views/sparsity/density_strip.h"

using namespace prunelab;

class TestDensityStrip : public QObject {
    Q_OBJECT

  private:
    std::optional<engine::prune::PrunedModel> m_model;
    QString m_why;

  private slots:
    void initTestCase() { m_model = views::testing::prunedBlazeFace("patdnn-8", m_why); }

    void oneBarPerLayerWithItsDensity() {
        if (!m_model) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        const engine::prune::ModelStats stats = engine::prune::modelStats(*m_model);
        views::DensityStrip strip;
        strip.setData(views::densityStripFromStats(stats));
        const auto layers = engine::prunableLayers(m_model->graph);
        QVERIFY(layers.size() > 2);
        QCOMPARE(strip.barCount(), static_cast<int>(layers.size()));
        bool someSparse = false;
        for (size_t k = 0; k < layers.size(); ++k) {
            const auto& bar = strip.data().bars[k];
            QCOMPARE(bar.name, layers[k].name);
            // The density from the mask itself, not from the statistics the strip read.
            const auto mask = m_model->layers[k].projection.mask.span<uint8_t>();
            const auto kept = std::count_if(mask.begin(), mask.end(), [](uint8_t m) { return m; });
            QCOMPARE(bar.kept, static_cast<int64_t>(kept));
            QVERIFY(qFuzzyCompare(1.0 + bar.density, 1.0 + static_cast<double>(kept) /
                                                               static_cast<double>(mask.size())));
            someSparse = someSparse || bar.density < 0.5;
        }
        QVERIFY2(someSparse, "patdnn-8 prunes some layer below half its weights");
    }

    void clickSelectsTheLayer() {
        if (!m_model) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        views::DensityStrip strip;
        strip.resize(700, 140);
        strip.show();
        QVERIFY(QTest::qWaitForWindowExposed(&strip));
        strip.setData(views::densityStripFromStats(engine::prune::modelStats(*m_model)));
        QSignalSpy spy(&strip, &views::DensityStrip::layerSelected);
        const int n = strip.barCount();
        for (int index : {n - 1, 0, n / 2, 1}) {
            const QRect slot = strip.barSlot(index);
            QVERIFY(!slot.isEmpty());
            // The top of the slot, above a short bar, selects it as well as the bar does.
            QTest::mouseClick(&strip, Qt::LeftButton, {},
                              QPoint(slot.center().x(), slot.top() + 1));
            QCOMPARE(spy.count() > 0, true);
            QCOMPARE(spy.last().at(0).toInt(), index);
            QCOMPARE(strip.selectedLayer(), index);
        }
        const auto before = spy.count();
        QTest::mouseClick(&strip, Qt::LeftButton, {}, QPoint(1, 1));  // on the axis label
        QCOMPARE(spy.count(), before);
        strip.setSelectedLayer(2);  // echoing a selection made elsewhere emits nothing
        QCOMPARE(spy.count(), before);
        QCOMPARE(strip.selectedLayer(), 2);
        QTest::keyClick(&strip, Qt::Key_Right);
        views::testing::dumpForReview(strip.grab().toImage(), QStringLiteral("density_strip"));
        QCOMPARE(spy.last().at(0).toInt(), 3);
    }
};

int runDensityStripTests(int argc, char** argv) {
    TestDensityStrip test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_density_strip.moc"
