// The window's analysis tabs on BlazeFace (face-front) with patdnn-8: every view follows the
// selected layer and agrees with the engine, clicks in the views select table rows, every layer
// kind (MatMul too) is shown, and `prunelab --view X --screenshot` writes each tab's PNG.
#include <QDeadlineTimer>
#include <QImage>
#include <QProcess>
#include <QPushButton>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <filesystem>

#include "app/gui/analysis_tabs.h"
#include "app/gui/main_window.h"
#include "app/gui/model_opener.h"
#include "app/gui/view_registry.h"
#include "engine/prune/plan.h"
#include "engine/runtime/backend_list.h"
#include "views/kernels/kernels_view.h"
#include "views/live/live_view.h"
#include "views/patterns/pattern_view.h"
#include "views/session/model_session.h"
#include "views/sparsity/density_strip.h"
#include "views/sparsity/sparsity_view.h"
#include "views/speed/speed_view.h"

using namespace prunelab;

namespace {

bool haveBlazeFace() {
    return std::filesystem::exists(PRUNELAB_CACHE_DIR "/models/blazeface");
}

#define SKIP_WITHOUT_BLAZEFACE()                                                          \
    if (!haveBlazeFace())                                                                 \
    QSKIP("SKIPPED: face-front (BlazeFace) is not in the asset cache " PRUNELAB_CACHE_DIR \
          "; run ./prunelab setup")

int stackPage(gui::AnalysisTabs* tabs, const char* name) {
    auto* stack = qobject_cast<QStackedWidget*>(tabs->page(QString::fromLatin1(name)));
    return stack ? stack->currentIndex() : -2;
}

}  // namespace

class TestWorkbenchTabs : public QObject {
    Q_OBJECT

  private:
    // Opens face-front and applies patdnn-8; false (with a failure recorded) when it cannot.
    bool openAndPrune(gui::MainWindow& window) {
        QSignalSpy loaded(window.session(), &views::ModelSession::modelLoaded);
        window.openModel(QStringLiteral("face-front"));
        if (!loaded.wait(60'000)) return false;
        gui::AnalysisTabs* tabs = window.analysisTabs();
        // No plan yet: every tab says what to do instead of drawing a dense model.
        for (const char* name : {"sparsity", "patterns", "kernels", "speed"})
            if (stackPage(tabs, name) != 0) return false;
        auto plan = engine::prune::presetPlan("patdnn-8");
        if (!plan.ok()) return false;
        QSignalSpy applied(window.session(), &views::ModelSession::planApplied);
        window.session()->applyPlan(*plan);
        if (!applied.wait(60'000)) return false;
        QDeadlineTimer deadline(60'000);
        while ((tabs->isBusy() || !tabs->compiled()) && !deadline.hasExpired()) QTest::qWait(20);
        return tabs->compiled() != nullptr;
    }

  private slots:
    // Pages are found by name: without an experiment log there is no Compare or Retrain tab,
    // and the page after them (Live) must not shift onto a wrong name.
    void pagesAreFoundByNameWithoutALog() {
        views::ModelSession session(gui::workbenchOpener());
        gui::AnalysisTabs tabs(&session, nullptr);
        QCOMPARE(tabs.page(QStringLiteral("compare")), nullptr);
        QCOMPARE(tabs.page(QStringLiteral("retrain")), nullptr);
        QWidget* live = tabs.page(QStringLiteral("live"));
        QVERIFY(qobject_cast<views::LiveView*>(live));
        QCOMPARE(tabs.tabText(tabs.indexOf(live)), QStringLiteral("Live"));
        QCOMPARE(tabs.page(QStringLiteral("nonsense")), nullptr);
        int pages = 0;
        for (const gui::ViewInfo& view : gui::workbenchViews()) {
            const QString name = QString::fromLatin1(view.name);
            if (view.place != gui::ViewPlace::Tab || name == QLatin1String("compare") ||
                name == QLatin1String("retrain"))
                continue;
            QVERIFY2(tabs.page(name), qPrintable(name));
            QCOMPARE(tabs.indexOf(tabs.page(name)), pages++);
        }
        QCOMPARE(tabs.count(), pages);
    }

    void viewsFollowTheSelectedLayer() {
        SKIP_WITHOUT_BLAZEFACE();
        gui::MainWindow window(/*interactive=*/false);
        window.resize(1280, 800);
        window.show();
        QVERIFY(openAndPrune(window));
        gui::AnalysisTabs* tabs = window.analysisTabs();
        const views::PruneState& state = window.session()->state();
        QVERIFY(state.pruned);
        const auto& pruned = *state.pruned;
        QCOMPARE(pruned.layers.size(), window.session()->layers().size());

        // Every layer, whatever its kind (3x3, depthwise, 1x1): none may crash a view.
        int patternLayers = 0;
        for (size_t i = 0; i < pruned.layers.size(); ++i) {
            const auto& lp = pruned.layers[i];
            window.selectLayer(static_cast<int>(i));
            QCOMPARE(tabs->selectedLayer(), static_cast<int>(i));
            QCOMPARE(window.layerTable()->currentIndex().row(), static_cast<int>(i));

            const views::SparsityData& sparsity = tabs->sparsityView()->map()->data();
            QCOMPARE(sparsity.layerName, lp.layer.name);
            const auto mask = lp.projection.mask.span<uint8_t>();
            const int64_t kept =
                std::count_if(mask.begin(), mask.end(), [](uint8_t m) { return m; });
            QCOMPARE(sparsity.keptCount(), kept);
            QCOMPARE(tabs->densityStrip()->selectedLayer(), static_cast<int>(i));

            const auto stats = std::find_if(state.stats.layers.begin(), state.stats.layers.end(),
                                            [&](const auto& s) { return s.name == lp.layer.name; });
            QVERIFY(stats != state.stats.layers.end());
            const views::PatternData& patterns = tabs->layerPatternView()->data();
            for (const auto& [pattern, count] : stats->patternHistogram)
                QCOMPARE(patterns.countOf(pattern), count);
            if (!stats->patternHistogram.empty()) ++patternLayers;

            // The kernels tab shows this layer's compiled decision once its source is built.
            const auto code = std::find_if(
                tabs->compiled()->layers.begin(), tabs->compiled()->layers.end(),
                [&](const engine::codegen::LayerCode& c) { return c.node == lp.layer.node; });
            QVERIFY2(code != tabs->compiled()->layers.end(), lp.layer.name.c_str());
            QTRY_VERIFY_WITH_TIMEOUT(!tabs->isBusy(), 60'000);
            QCOMPARE(stackPage(tabs, "kernels"), 2);
            QCOMPARE(tabs->kernelsView()->data().layer.node, lp.layer.node);
            QCOMPARE(tabs->kernelsView()->data().layer.decision, code->decision);
            QCOMPARE(tabs->speedView()->selectedIndex(), code->index);
        }
        QVERIFY2(patternLayers > 0, "patdnn-8 pruned no BlazeFace layer with patterns");

        // The model-wide pattern view sums every layer's histogram.
        int64_t keptKernels = 0;
        for (const auto& s : state.stats.layers)
            for (const auto& [pattern, count] : s.patternHistogram) keptKernels += count;
        int64_t shown = 0;
        for (const auto& e : tabs->modelPatternView()->data().entries) shown += e.count;
        QCOMPARE(shown, keptKernels);
    }

    // The Kernels tab shows the GLSL the GPU runs for the layer under its C++, prepared off the
    // UI thread; the Speed tab says which nodes the GPU leaves to the CPU. Without a Vulkan
    // device the GPU pane says why, and the test skips the shader checks loudly.
    void kernelsTabShowsTheGpusShaderUnderTheCpp() {
        SKIP_WITHOUT_BLAZEFACE();
        gui::MainWindow window(/*interactive=*/false);
        window.resize(1280, 800);
        window.show();
        QVERIFY(openAndPrune(window));
        gui::AnalysisTabs* tabs = window.analysisTabs();
        // A pattern layer: its shader is the generated per-layer one.
        const auto& layers = tabs->compiled()->layers;
        const auto pattern =
            std::find_if(layers.begin(), layers.end(), [](const engine::codegen::LayerCode& c) {
                return c.kind == engine::codegen::KernelKind::Pattern;
            });
        QVERIFY(pattern != layers.end());
        int row = -1;
        for (size_t i = 0; i < window.session()->layers().size(); ++i)
            if (window.session()->layers()[i].node == pattern->node) row = static_cast<int>(i);
        QVERIFY(row >= 0);
        window.selectLayer(row);
        QTRY_VERIFY_WITH_TIMEOUT(!tabs->isBusy() && tabs->gpuKernels(), 120'000);
        QCOMPARE(stackPage(tabs, "kernels"), 2);
        views::KernelsView* kernels = tabs->kernelsView();
        QCOMPARE(kernels->data().layer.node, pattern->node);
        QVERIFY(!kernels->sourceText().isEmpty());
        auto vulkan = engine::findBackend("vulkan");
        const engine::Status ok = vulkan.ok() ? (*vulkan)->available() : vulkan.error();
        if (!ok.ok()) {
            QVERIFY2(kernels->gpuText().contains(QString::fromStdString(ok.error().message)),
                     qPrintable(kernels->gpuText()));
            QVERIFY(!kernels->copyGlslAction()->isEnabled());
            QSKIP(qPrintable("SKIPPED LOUDLY: no Vulkan device, so no shader to show: " +
                             QString::fromStdString(ok.error().message)));
        }
        QVERIFY2(kernels->gpuText().contains(QStringLiteral("#version 450")),
                 qPrintable(kernels->gpuText()));
        QVERIFY2(kernels->gpuTitle().contains(QStringLiteral("GPU through Vulkan")),
                 qPrintable(kernels->gpuTitle()));
        QVERIFY(kernels->copyGlslAction()->isEnabled());
        QVERIFY2(kernels->gpuText().contains(QStringLiteral("void main()")),
                 qPrintable(kernels->gpuText().left(300)));
        const QString fallbacks = tabs->speedView()->gpuFallbacksText();
        QVERIFY2(fallbacks.startsWith(QStringLiteral("On the GPU through Vulkan")),
                 qPrintable(fallbacks));
    }

    // The Measure button runs the one compile pipeline (engine::compileFor), as the CLI and the
    // Live tab do: generated kernels when a host compiler builds them, else the generic ones,
    // and the status line says which and why. No compiler here (CXX names none, the cache is
    // empty), so no layer is built and the test stays quick.
    void measureGoesThroughTheCompilePipeline() {
        SKIP_WITHOUT_BLAZEFACE();
        QTemporaryDir cache;
        QVERIFY(cache.isValid());
        const QByteArray cxx = qgetenv("CXX");
        const QByteArray missing = "/nonexistent/prunelab-test-c++";
        qputenv("CXX", missing);
        auto restore = qScopeGuard([&] {
            if (cxx.isNull())
                qunsetenv("CXX");
            else
                qputenv("CXX", cxx);
        });
        gui::MainWindow window(/*interactive=*/false);
        QVERIFY(openAndPrune(window));
        gui::AnalysisTabs* tabs = window.analysisTabs();
        tabs->setKernelCache(cache.path());
        tabs->setMeasureSettings(1, 1);
        // Before a measure: the compiler's choices, not yet a decision on this machine.
        QVERIFY(!tabs->compiled()->measured);
        QVERIFY(tabs->compiled()->passes.empty() ||
                tabs->compiled()->passes.back().pass != "measure");

        QPushButton* button = nullptr;
        for (auto* b : tabs->page(QStringLiteral("speed"))->findChildren<QPushButton*>())
            if (b->text() == QLatin1String("Measure")) button = b;
        QVERIFY(button && button->isEnabled());
        QSignalSpy measured(tabs, &gui::AnalysisTabs::measured);
        button->click();
        QVERIFY(!button->isEnabled());
        QVERIFY(measured.wait(120'000));
        const QString status = tabs->measureStatus();
        QVERIFY2(status.contains(QStringLiteral("generic sparse kernels (no generated code")),
                 qPrintable(status));
        QVERIFY2(status.contains(QString::fromLatin1(missing)), qPrintable(status));
        // The measured decision replaces the compiled model: the Kernels tab shows what runs.
        QVERIFY(tabs->compiled()->measured.has_value());
        QCOMPARE(tabs->compiled()->measured->backend, std::string("cpu"));
        QCOMPARE(tabs->compiled()->measured->runs, 1);
        QCOMPARE(tabs->compiled()->passes.back().pass, std::string("measure"));
        QCOMPARE(tabs->speedView()->data().layers.size(), tabs->compiled()->layers.size());
        QTRY_VERIFY_WITH_TIMEOUT(!tabs->isBusy(), 60'000);
        QVERIFY(button->isEnabled());
    }

    // PP-OCR's direction classifier ends in a MatMul (a Gemm-like layer) after 3x3, depthwise
    // and 1x1 convs: every view takes every one of them, under a scheme that prunes them all.
    void everyLayerKindOfAClassifier() {
        if (!std::filesystem::exists(PRUNELAB_CACHE_DIR "/models/ppocr"))
            QSKIP(
                "SKIPPED: text-direction (PP-OCR cls) is not in the asset cache " PRUNELAB_CACHE_DIR
                "; run ./prunelab setup");
        gui::MainWindow window(/*interactive=*/false);
        window.resize(1280, 800);
        window.show();
        QSignalSpy loaded(window.session(), &views::ModelSession::modelLoaded);
        window.openModel(QStringLiteral("text-direction"));
        QVERIFY(loaded.wait(60'000));
        auto plan = engine::prune::presetPlan("uniform-75");
        QVERIFY(plan.ok());
        plan->keepFirstLast = false;
        QSignalSpy applied(window.session(), &views::ModelSession::planApplied);
        window.session()->applyPlan(*plan);
        QVERIFY(applied.wait(60'000));
        gui::AnalysisTabs* tabs = window.analysisTabs();
        QTRY_VERIFY_WITH_TIMEOUT(!tabs->isBusy() && tabs->compiled(), 60'000);
        const auto& layers = window.session()->layers();
        bool sawMatMul = false;
        for (size_t i = 0; i < layers.size(); ++i) {
            window.selectLayer(static_cast<int>(i));
            QTRY_VERIFY_WITH_TIMEOUT(!tabs->isBusy(), 60'000);
            QCOMPARE(tabs->sparsityView()->map()->data().layerName, layers[i].name);
            QCOMPARE(tabs->kernelsView()->data().layer.node, layers[i].node);
            sawMatMul = sawMatMul || tabs->kernelsView()->data().layer.gemm;
        }
        QVERIFY2(sawMatMul, "no Gemm/MatMul layer reached the kernels view");
    }

    // Measure runs in the background (the call returns at once) and fills the speed view with
    // the measure pass's times.
    void measureInTheBackground() {
        SKIP_WITHOUT_BLAZEFACE();
        gui::MainWindow window(/*interactive=*/false);
        QVERIFY(openAndPrune(window));
        gui::AnalysisTabs* tabs = window.analysisTabs();
        QVERIFY(tabs->speedView()->barCount() > 0);
        for (const views::SpeedLayer& l : tabs->speedView()->data().layers) QVERIFY(!l.measured());
        tabs->measure(1);
        QVERIFY(tabs->isMeasuring());
        QTRY_VERIFY_WITH_TIMEOUT(!tabs->isMeasuring(), 120'000);
        const auto& layers = tabs->speedView()->data().layers;
        QVERIFY(std::any_of(layers.begin(), layers.end(),
                            [](const views::SpeedLayer& l) { return l.measured(); }));
    }

    void clicksInViewsSelectTableRows() {
        SKIP_WITHOUT_BLAZEFACE();
        gui::MainWindow window(/*interactive=*/false);
        window.resize(1280, 800);
        window.show();
        QVERIFY(openAndPrune(window));
        gui::AnalysisTabs* tabs = window.analysisTabs();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        tabs->setCurrentWidget(tabs->page(QStringLiteral("sparsity")));
        views::DensityStrip* strip = tabs->densityStrip();
        QTRY_VERIFY(strip->isVisible() && strip->barCount() > 5);
        QTest::mouseClick(strip, Qt::LeftButton, {}, strip->barSlot(5).center());
        QCOMPARE(window.layerTable()->currentIndex().row(), 5);
        QCOMPARE(tabs->selectedLayer(), 5);
        QCOMPARE(tabs->sparsityView()->map()->data().layerName, window.session()->layers()[5].name);

        tabs->setCurrentWidget(tabs->page(QStringLiteral("speed")));
        views::SpeedBars* bars = tabs->speedView()->bars();
        QTRY_VERIFY(bars->isVisible() && bars->rowCount() > 3);
        QTest::mouseClick(bars, Qt::LeftButton, {}, bars->rowRect(3).center());
        const engine::codegen::LayerCode& code = tabs->compiled()->layers[3];
        const int row = window.layerTable()->currentIndex().row();
        QVERIFY(row >= 0);
        QCOMPARE(window.session()->layers()[static_cast<size_t>(row)].node, code.node);
        QTRY_VERIFY_WITH_TIMEOUT(!tabs->isBusy(), 60'000);
        QCOMPARE(tabs->kernelsView()->data().layer.index, code.index);
    }

    void screenshotOfEveryTab_data() {
        QTest::addColumn<QString>("view");
        for (const char* v : {"sparsity", "patterns", "kernels", "speed"})
            QTest::newRow(v) << QString::fromLatin1(v);
    }

    void screenshotOfEveryTab() {
        SKIP_WITHOUT_BLAZEFACE();
        QFETCH(QString, view);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString planPath = dir.filePath(QStringLiteral("patdnn-8.json"));
        auto plan = engine::prune::presetPlan("patdnn-8");
        QVERIFY(plan.ok());
        QVERIFY(engine::prune::savePlanFile(*plan, planPath.toStdString()).ok());
        const QString out = dir.filePath(view + QStringLiteral(".png"));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(PRUNELAB_GUI_BINARY),
                {QStringLiteral("face-front"), QStringLiteral("--plan"), planPath,
                 QStringLiteral("--view"), view, QStringLiteral("--size"),
                 QStringLiteral("960x600"), QStringLiteral("--screenshot"), out});
        QVERIFY(p.waitForFinished(180'000));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
                 p.readAllStandardError().constData());
        QImage image(out);
        QVERIFY2(!image.isNull(), qPrintable(out));
        QCOMPARE(image.size(), QSize(960, 600));
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 7)
            for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 3, "the screenshot is (nearly) one colour");
    }

    // Several --preset: each applied in turn (the gallery's Compare shot); --dark: a dark
    // picture, the chart included.
    void darkScreenshotOfSeveralPlans() {
        SKIP_WITHOUT_BLAZEFACE();
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString out = dir.filePath(QStringLiteral("compare.png"));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        p.setProcessEnvironment(env);
        p.start(
            QStringLiteral(PRUNELAB_GUI_BINARY),
            {QStringLiteral("face-front"), QStringLiteral("--preset"), QStringLiteral("uniform-50"),
             QStringLiteral("--preset"), QStringLiteral("patdnn-8"), QStringLiteral("--view"),
             QStringLiteral("compare"), QStringLiteral("--dark"), QStringLiteral("--size"),
             QStringLiteral("960x600"), QStringLiteral("--screenshot"), out});
        QVERIFY(p.waitForFinished(180'000));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
                 p.readAllStandardError().constData());
        const QImage image(out);
        QVERIFY2(!image.isNull(), qPrintable(out));
        long sum = 0, n = 0;
        for (int y = 0; y < image.height(); y += 7)
            for (int x = 0; x < image.width(); x += 7, ++n)
                sum += QColor(image.pixel(x, y)).lightness();
        QVERIFY2(sum / n < 100, qPrintable(QStringLiteral("mean lightness %1").arg(sum / n)));
    }
};

QTEST_MAIN(TestWorkbenchTabs)
#include "tst_workbench_tabs.moc"
