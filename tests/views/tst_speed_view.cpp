// The speed view on BlazeFace compiled from patdnn-8 and profiled for real (refrt's
// profileLayers, and the compiler's measure pass): one bar pair per layer, the selected layer's
// decision is the compiler's, a click emits the layer's index, GFLOP/s = 2 * kept MACs / ms.
#include <QLabel>
#include <QSignalSpy>
#include <QtTest>
#include <algorithm>
#include <memory>
#include <optional>

#include "app/gui/speed_from_profile.h"
#include "engine/codegen/passes.h"
#include "engine/runtime/cpu/sparse/measure.h"
#include "tests/views/widgets_test_util.h"
#include "views/speed/speed_view.h"

using namespace prunelab;
namespace cg = engine::codegen;

namespace {

// The CLI's own synthetic input: deterministic values in [0, 1).
engine::Tensor syntheticInput(const engine::Value& v) {
    engine::Tensor t(v.dtype, v.shape);
    uint32_t state = 12345;
    for (float& x : t.span<float>()) {
        state = state * 1664525u + 1013904223u;
        x = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
    }
    return t;
}

const cg::LayerCode* layerWithIndex(const cg::SparseModel& model, int index) {
    for (const cg::LayerCode& l : model.layers)
        if (l.index == index) return &l;
    return nullptr;
}

}  // namespace

class TestSpeedView : public QObject {
    Q_OBJECT

  private:
    std::optional<engine::prune::PrunedModel> m_pruned;
    std::shared_ptr<cg::SparseModel> m_model;
    std::optional<refrt::LayerProfile> m_profile;
    std::vector<engine::Tensor> m_inputs;
    QString m_why;

  private slots:
    void initTestCase() {
        m_pruned = views::testing::prunedBlazeFace("patdnn-8", m_why);
        if (!m_pruned) return;
        auto model = cg::compileLayers(*m_pruned);
        QVERIFY2(model.ok(), model.ok() ? "" : model.error().toString().c_str());
        m_model = std::make_shared<cg::SparseModel>(std::move(*model));
        const engine::Graph& g = m_pruned->graph;
        for (engine::ValueId id : g.inputs) m_inputs.push_back(syntheticInput(g.value(id)));
        refrt::BenchRequest request;
        request.graph = &g;
        request.inputs = m_inputs;
        request.sparse = m_model;
        auto profile = refrt::profileLayers(request, 3);
        QVERIFY2(profile.ok(), profile.ok() ? "" : profile.error().toString().c_str());
        m_profile = std::move(*profile);
        qInfo(
            "BlazeFace patdnn-8: %zu compiled layers; whole model dense %.3f ms, compiled %.3f "
            "ms",
            m_model->layers.size(), m_profile->denseTotalMs, m_profile->sparseTotalMs);
    }

    void oneBarPerLayer() {
        if (!m_profile) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        views::SpeedView view;
        view.setData(views::speedDataFromProfile(*m_profile));
        QCOMPARE(view.barCount(), static_cast<int>(m_model->layers.size()));
        QCOMPARE(view.bars()->rowCount(), view.barCount());
        QCOMPARE(view.selectedIndex(), -1);
        // Rows stack without overlap, so each click lands on one layer.
        for (int r = 1; r < view.barCount(); ++r)
            QVERIFY(view.bars()->rowRect(r).top() >= view.bars()->rowRect(r - 1).bottom());
        // The view prints 3 decimals; fewer here would round differently now and then (1.2355
        // is "1.24" at 2 decimals but "1.236" at 3), which made this check flaky.
        QVERIFY2(view.totalsText().contains(QString::number(m_profile->denseTotalMs, 'f', 3)),
                 qPrintable(view.totalsText()));
    }

    // What the GPU leaves to the CPU, under the bars; hidden when there is nothing to say.
    void gpuFallbacksAreShownOnlyWhenGiven() {
        views::SpeedView view;
        view.resize(800, 600);
        view.show();
        auto* label = view.findChild<QLabel*>(QStringLiteral("speedGpuFallbacks"));
        QVERIFY(label);
        QVERIFY(!label->isVisible());
        view.setGpuFallbacks(QStringLiteral("On the GPU, 1 node(s) run on the CPU instead: x (y)."),
                             QStringLiteral("x (y)"));
        QVERIFY(label->isVisible());
        QVERIFY(view.gpuFallbacksText().contains(QStringLiteral("run on the CPU")));
        QCOMPARE(label->toolTip(), QStringLiteral("x (y)"));
        view.setGpuFallbacks({});
        QVERIFY(!label->isVisible());
    }

    void clickingABarEmitsItsLayer() {
        if (!m_profile) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        views::SpeedView view;
        view.resize(1200, 700);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setData(views::speedDataFromProfile(*m_profile));
        QSignalSpy spy(&view, &views::SpeedView::layerSelected);
        // Every sparse layer, and the last one (scrolled out of sight at this size).
        std::vector<int> rows;
        for (size_t r = 0; r < m_model->layers.size(); ++r)
            if (m_model->layers[r].kind != cg::KernelKind::Dense)
                rows.push_back(static_cast<int>(r));
        rows.push_back(view.barCount() - 1);
        QVERIFY(rows.size() > 1);
        for (int row : rows) {
            const int before = static_cast<int>(spy.count());
            QTest::mouseClick(view.bars(), Qt::LeftButton, {}, view.bars()->rowRect(row).center());
            QCOMPARE(static_cast<int>(spy.count()), before + 1);
            const int index = spy.last().at(0).toInt();
            QCOMPARE(index, m_profile->layers[static_cast<size_t>(row)].index);
            QCOMPARE(view.selectedIndex(), index);
            const cg::LayerCode* layer = layerWithIndex(*m_model, index);
            QVERIFY(layer);
            QCOMPARE(view.decisionText(), QString::fromStdString(layer->decision));
            QVERIFY(!layer->decision.empty());
        }
        QCoreApplication::processEvents();  // the labels' new heights reach the layout
        views::testing::dumpForReview(view.grab().toImage(), QStringLiteral("speed_view"));
        // The main window's selection moves the view without a signal back.
        const int other = m_model->layers.front().index;
        view.selectLayer(other);
        QCOMPARE(view.selectedIndex(), other);
        QCOMPARE(view.decisionText(), QString::fromStdString(m_model->layers.front().decision));
        QCOMPARE(static_cast<int>(spy.count()), static_cast<int>(rows.size()));
        // Below the last row: nothing selected, nothing emitted.
        QTest::mouseClick(view.bars(), Qt::LeftButton, {},
                          QPoint(10, view.bars()->rowRect(view.barCount() - 1).bottom() + 5));
        QCOMPARE(static_cast<int>(spy.count()), static_cast<int>(rows.size()));
    }

    void gflopsAreTwiceKeptMacsOverTime() {
        if (!m_profile) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        const views::SpeedData d = views::speedDataFromProfile(*m_profile);
        views::SpeedView view;
        view.setData(d);
        int measured = 0;
        for (size_t r = 0; r < d.layers.size(); ++r) {
            const views::SpeedLayer& l = d.layers[r];
            const refrt::LayerTiming& t = m_profile->layers[r];
            QCOMPARE(l.keptMacs, layerWithIndex(*m_model, l.index)->keptMacs);
            if (!l.measured()) continue;
            ++measured;
            const double flops = 2.0 * static_cast<double>(t.keptMacs);
            QVERIFY(qFuzzyCompare(l.gflops(), flops / (t.sparseMs * 1e-3) / 1e9));
            QVERIFY(qFuzzyCompare(l.speedup(), t.denseMs / t.sparseMs));
            QVERIFY(qFuzzyCompare(l.idealSpeedup(), static_cast<double>(t.denseMacs) /
                                                        static_cast<double>(t.keptMacs)));
            view.selectLayer(l.index);
            QVERIFY2(view.detailsText().contains(QString::number(l.gflops(), 'f', 1) +
                                                 QStringLiteral(" GFLOP/s")),
                     qPrintable(view.detailsText()));
        }
        // profileLayers times every compiled layer in both executors.
        QCOMPARE(measured, static_cast<int>(d.layers.size()));
    }

    void measurePassGivesTheSameView() {
        if (!m_model) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        engine::cpu::MeasureOptions options;
        options.runs = 2;
        auto measured = engine::cpu::keepFasterKernels(m_pruned->graph, *m_model, options);
        QVERIFY2(measured.ok(), measured.ok() ? "" : measured.error().toString().c_str());
        const views::SpeedData d = views::speedDataFromMeasure(*measured);
        QCOMPARE(d.layers.size(), measured->layers.size());
        // The pass records its times typed: one per layer that was sparse before it.
        QVERIFY(measured->measured.has_value());
        QCOMPARE(measured->measured->backend, std::string("cpu"));
        QCOMPARE(measured->measured->runs, 2);
        const auto wasSparse =
            std::count_if(m_model->layers.begin(), m_model->layers.end(),
                          [](const cg::LayerCode& l) { return l.kind != cg::KernelKind::Dense; });
        QCOMPARE(static_cast<long>(measured->measured->layers.size()),
                 static_cast<long>(wasSparse));
        // The whole model is timed only when some layer stayed sparse after the per-layer step
        // (on a fast machine every BlazeFace layer may turn dense).
        const std::string& dump = measured->passes.back().dump;
        QCOMPARE(measured->passes.back().pass, std::string("measure"));
        const bool whole = dump.find("whole model ") != std::string::npos;
        QCOMPARE(d.denseTotalMs > 0 && d.compiledTotalMs > 0, whole);
        if (whole) {
            char words[128];
            std::snprintf(words, sizeof words, "whole model %.3f ms sparse vs %.3f ms dense",
                          d.compiledTotalMs, d.denseTotalMs);
            QVERIFY2(dump.find(words) != std::string::npos, dump.c_str());
            // The pass did not time the layout changes: the view prints no zeros for them.
            views::SpeedView view;
            view.setData(d);
            QVERIFY2(!view.totalsText().contains(QStringLiteral("Layout changes: dense 0.000")),
                     qPrintable(view.totalsText()));
            QVERIFY2(view.totalsText().contains(QString::number(d.denseTotalMs, 'f', 3)),
                     qPrintable(view.totalsText()));
        }
        int timed = 0;
        for (size_t r = 0; r < d.layers.size(); ++r) {
            const views::SpeedLayer& l = d.layers[r];
            const cg::LayerCode& before = m_model->layers[r];
            const cg::LayerCode& after = measured->layers[r];
            QCOMPARE(l.decision, after.decision);
            QCOMPARE(l.kind, std::string(cg::kernelKindName(after.kind)));
            // The measure pass times exactly the layers that were sparse before it, and the
            // times it parsed are the ones its decision states.
            QCOMPARE(l.measured(), before.kind != cg::KernelKind::Dense);
            if (!l.measured()) continue;
            ++timed;
            char words[128];
            std::snprintf(words, sizeof words, "%.3f ms vs dense %.3f ms", l.compiledMs, l.denseMs);
            QVERIFY2(after.decision.find(words) != std::string::npos, after.decision.c_str());
        }
        QVERIFY(timed > 0);
        views::SpeedView view;
        view.setData(d);
        QCOMPARE(view.barCount(), static_cast<int>(measured->layers.size()));
    }
};

int runSpeedViewTests(int argc, char** argv) {
    TestSpeedView test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_speed_view.moc"
