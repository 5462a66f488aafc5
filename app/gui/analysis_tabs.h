// The window's central tabs (Sparsity, Patterns, Kernels, Speed) on the session's selected layer,
// with the compiled model, the generated source, the GPU's shaders and the measured timings built
// off the UI thread, and Compare, the session's experiments side by side.
#pragma once

#include <QHash>
#include <QTabWidget>
#include <atomic>
#include <memory>
#include <string>

#include "engine/codegen/sparse_ir.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTimer;

namespace prunelab::views {
class CompareView;
class DensityStrip;
class ExperimentLog;
class KernelsView;
class ModelSession;
class PatternView;
class SparsityView;
class SpeedView;
}  // namespace prunelab::views

namespace prunelab::gui {

class AnalysisTabs : public QTabWidget {
    Q_OBJECT

  public:
    // `log` (may be null: no Compare tab) is borrowed; the window owns it beside the session.
    explicit AnalysisTabs(views::ModelSession* session, views::ExperimentLog* log = nullptr,
                          QWidget* parent = nullptr);
    // Cancels a running measure (its compilers are killed) so the thread pool drains.
    ~AnalysisTabs() override;

    // The tab pages by their view names ("sparsity", ...: view_registry.h); nullptr when
    // unknown or absent (no log: no "compare", no "retrain"). By name, never by position.
    QWidget* page(const QString& name) const;

    // The pages this class drives, for their factories in the view list (view_registry.cpp):
    // each is called once, by the constructor, and returns the tab's page.
    QWidget* makeSparsityPage();
    QWidget* makePatternsPage();
    QWidget* makeKernelsPage();
    QWidget* makeSpeedPage();
    QWidget* makeComparePage(views::ExperimentLog* log);

    views::SparsityView* sparsityView() const { return m_sparsity; }
    views::DensityStrip* densityStrip() const { return m_strip; }
    views::PatternView* layerPatternView() const { return m_layerPatterns; }
    views::PatternView* modelPatternView() const { return m_modelPatterns; }
    views::KernelsView* kernelsView() const { return m_kernels; }
    views::SpeedView* speedView() const { return m_speed; }
    views::CompareView* compareView() const { return m_compare; }
    // The compiled layers of the current plan; nullptr while compiling or without a plan.
    const engine::codegen::SparseModel* compiled() const { return m_compiled.get(); }
    int selectedLayer() const { return m_layer; }
    // A background job (compile, source, GPU shaders, measure) is running; idle() follows when
    // none is.
    bool isBusy() const { return m_compileJobs + m_kernelsJobs + m_gpuJobs + m_measureJobs > 0; }
    // The GPU's side of the compiled model (one prepare on the GPU backend, off the UI thread,
    // after each compile): its shaders per node and the nodes it leaves to the CPU, with why.
    struct GpuKernels;
    const GpuKernels* gpuKernels() const { return m_gpu.get(); }
    bool isMeasuring() const { return m_measureJobs > 0; }
    // Compiles the plan for the CPU backend through the one pipeline (engine::compileFor: emit
    // and build the generated kernels, then the measured decision with `runs` runs on
    // measureThreads() threads), as the CLI and the Live tab do, in the background; the result
    // replaces compiled(). A no-op without a compiled model or while a measure runs; a plan
    // change cancels it.
    void measure(int runs);
    // What the Measure button times with (Edit > Settings): `threads` >= 1, `runs` >= 1. A
    // measure already running keeps the values it started with.
    void setMeasureSettings(int threads, int runs);
    int measureThreads() const { return m_measureThreads; }
    int measureRuns() const { return m_measureRuns; }
    // For tests: measure with the generic sparse kernels (no host compile; the status line says
    // so), and where the generated kernels are cached (empty: the user's cache).
    void setMeasureGenerated(bool on) { m_measureGenerated = on; }
    void setKernelCache(const QString& dir) { m_kernelCache = dir.toStdString(); }
    // The measure status line's text, for tests.
    QString measureStatus() const;
    // Whether measure() would start now (a compiled plan and no measure running).
    bool canMeasure() const;
    // Zooms the sparsity map so the whole layer fits its current size.
    void fitMaps();

  public slots:
    // The layer by its prunableLayers() index (-1: none). Echoes never emit layerClicked.
    void selectLayer(int layer);

  signals:
    // A person picked a layer in a view (density strip or speed bars): prunableLayers() index.
    void layerClicked(int layer);
    void idle();
    // A measure of the current plan ended with whole-model times (0 when the pass did not time
    // the whole model, e.g. every layer turned dense).
    void measured(double compiledMs, double denseMs);

  private:
    void planChanged();
    void showLayer();
    void startKernels(const engine::codegen::LayerCode& code);
    void startGpuKernels();
    void showGpuKernels();  // the selected layer's shader, and the Speed tab's fallbacks
    void jobDone(int& counter);
    // The compiled layer of prunable layer `layer`; nullptr when not compiled.
    const engine::codegen::LayerCode* codeOf(int layer) const;
    int prunableOfNode(int node) const;
    void showMeasureProgress();
    QLabel* applyPlanFirst(const QString& what);

    views::ModelSession* m_session;
    int m_layer = -1;
    // Bumped on every plan change and layer selection: a result for an older one is dropped.
    quint64 m_planGeneration = 0, m_kernelsRequest = 0, m_gpuRequest = 0;
    int m_compileJobs = 0, m_kernelsJobs = 0, m_gpuJobs = 0, m_measureJobs = 0;
    std::shared_ptr<const GpuKernels> m_gpu;  // the current m_compiled's; null while preparing
    int m_measureThreads = 1, m_measureRuns = 3;
    bool m_measureGenerated = true;
    std::string m_kernelCache;
    // The running measure's: set to stop it; its progress, written by the compiling threads
    // and read by m_measurePoll on the UI thread.
    std::shared_ptr<std::atomic<bool>> m_measureCancel;
    struct MeasureProgress;
    std::shared_ptr<MeasureProgress> m_measureProgress;
    QTimer* m_measurePoll;
    std::shared_ptr<const engine::codegen::SparseModel> m_compiled;

    QStackedWidget* m_sparsityStack;
    QStackedWidget* m_patternsStack;
    QStackedWidget* m_kernelsStack;
    QStackedWidget* m_speedStack;
    QLabel* m_kernelsWaiting;
    views::SparsityView* m_sparsity;
    views::DensityStrip* m_strip;
    views::PatternView* m_layerPatterns;
    views::PatternView* m_modelPatterns;
    views::KernelsView* m_kernels;
    views::SpeedView* m_speed;
    views::CompareView* m_compare = nullptr;
    QHash<QString, QWidget*> m_pages;
    QPushButton* m_measureButton;
    QProgressBar* m_measureBusy;
    QLabel* m_measureStatus;
};

}  // namespace prunelab::gui
