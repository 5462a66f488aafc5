// The compiler view: for one compiled layer, every step of the sparse compiler's pipeline with
// what it says about the layer, the C++ the code generator writes for it (or why none) beside the
// GLSL the GPU runs for it (or why none), and a picture of its storage. Built from a plain
// KernelsData, so it runs without a session.
#pragma once

#include <QWidget>

#include <string>
#include <vector>

#include "engine/codegen/sparse_ir.h"

class QAction;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QSplitter;

namespace prunelab::views {

class CppHighlighter;
class StorageDiagram;

struct KernelsStep {
    std::string pass;         // PassRecord::pass: "analyse", "choose", ..., "measure"
    double milliseconds = 0;  // how long the whole step took (every layer)
    std::string aboutLayer;   // the step's paragraph on this layer; "" when it says nothing
};

struct KernelsData {
    engine::codegen::LayerCode layer;
    std::vector<KernelsStep> steps;  // one per PassRecord, in pipeline order
    std::string summary;             // the layer as the compiler left it (layerSummary)
    std::string source;              // emitLayerSource's text; "" when there is none
    std::string noSource;            // when source is "": why (canEmitLayer's reason or error)
};

// The GPU's code for the same layer: the shader a GPU backend generated for its node
// (Executor::kernelSources), or why there is none (no GPU here, the node runs on the CPU, the
// shaders are still being prepared). Arrives after KernelsData: preparing compiles shaders.
struct KernelsGpu {
    std::string device;    // "GPU through Vulkan: llvmpipe (...)"; "" when there is no GPU
    std::string source;    // the GLSL; "" when there is none
    std::string noSource;  // when source is "": why, in words a student reads
};

// The lines of `dump` about layer `index`: the line that starts "layer <index>" (then a space,
// ':' or quote) and the indented lines after it. Every pass writes its dump in that form
// (passes.cpp dumpLayer, tune, measure); "" when the dump does not mention the layer.
std::string layerParagraph(const std::string& dump, int index);
// Kind, decision, density, dense and kept MACs, storage sizes and tuning, from the LayerCode.
std::string layerSummary(const engine::codegen::LayerCode& layer);
// Everything the view shows for one layer; emits the source here (a large layer takes a while:
// build it off the GUI thread when the layer has thousands of kernels).
KernelsData kernelsDataFromLayer(const engine::codegen::LayerCode& layer,
                                 const std::vector<engine::codegen::PassRecord>& passes);

class KernelsView : public QWidget {
    Q_OBJECT
  public:
    explicit KernelsView(QWidget* parent = nullptr);

    void setData(KernelsData data);
    const KernelsData& data() const { return m_data; }

    // The step list (one row per PassRecord) and the text shown for the selected step.
    int stepCount() const;
    QString stepName(int row) const;
    void selectStep(int row);
    QString stepText() const;
    // The source pane as shown (the generated code, or the reason there is none).
    QString sourceText() const;
    // The GPU's side: its shader under the C++.
    void setGpu(KernelsGpu gpu);
    const KernelsGpu& gpu() const { return m_gpu; }
    QString gpuText() const;  // the GPU tab as shown (the GLSL, or why there is none)
    QPlainTextEdit* gpuEdit() const { return m_gpuSource; }
    QString gpuTitle() const;  // the line above it: names the device
    QAction* copyGlslAction() const { return m_copyGlsl; }
    QPlainTextEdit* sourceEdit() const { return m_source; }
    CppHighlighter* highlighter() const { return m_highlighter; }
    StorageDiagram* storageDiagram() const { return m_diagram; }
    QAction* copyAction() const { return m_copy; }
    QAction* exportAction() const { return m_export; }

    // Writes the generated source to `path`; an empty string on success, else the reason.
    QString exportSource(const QString& path) const;

  public slots:
    void copySource() const;
    void copyGlsl() const;
    void exportSourceInteractive();  // asks for a file name, reports failures in a message box

  protected:
    // The highlighter's colours follow a light / dark palette.
    void changeEvent(QEvent* event) override;

  private:
    void showStep(int row);

    KernelsData m_data;
    KernelsGpu m_gpu;
    QSplitter* m_codeSplit = nullptr;
    QLabel* m_cppTitle = nullptr;
    QLabel* m_gpuTitle = nullptr;
    QAction* m_copyGlsl = nullptr;
    QPlainTextEdit* m_gpuSource = nullptr;
    CppHighlighter* m_gpuHighlighter = nullptr;
    QLabel* m_title = nullptr;
    QPlainTextEdit* m_summary = nullptr;
    QListWidget* m_steps = nullptr;
    QPlainTextEdit* m_stepText = nullptr;
    QPlainTextEdit* m_source = nullptr;
    CppHighlighter* m_highlighter = nullptr;
    StorageDiagram* m_diagram = nullptr;
    QAction* m_copy = nullptr;
    QAction* m_export = nullptr;
};

}  // namespace prunelab::views
