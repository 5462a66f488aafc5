// The compiler view's data (paragraphs parsed from each pass's dump, the summary from the
// LayerCode, the emitted source) and its widget: steps on the left, code in the middle (the C++
// above the GPU's GLSL), the storage picture on the right, copy / export on a tool bar.
#include "views/kernels/kernels_view.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QEvent>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSaveFile>
#include <QSplitter>
#include <QToolBar>
#include <QVBoxLayout>

#include <cstdio>
#include <sstream>

#include "engine/runtime/cpu/sparse/emit.h"
#include "views/common/engine_text.h"
#include "views/kernels/cpp_highlighter.h"
#include "views/kernels/storage_diagram.h"
#include "views/model/layer_text.h"

namespace prunelab::views {

namespace cg = engine::codegen;

namespace {

bool startsLayerLine(const std::string& line, const std::string& prefix) {
    if (line.compare(0, prefix.size(), prefix) != 0) return false;
    // "layer 1" must not match "layer 12": the index ends at a space, ':' or quote.
    if (line.size() == prefix.size()) return true;
    const char next = line[prefix.size()];
    return next == ' ' || next == ':' || next == '\'';
}

std::string fixed(double value, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, value);
    return buf;
}

}  // namespace

std::string layerParagraph(const std::string& dump, int index) {
    const std::string prefix = "layer " + std::to_string(index);
    std::istringstream in(dump);
    std::string line, out;
    bool inside = false;
    while (std::getline(in, line)) {
        if (startsLayerLine(line, prefix)) {
            inside = true;
        } else if (inside && (line.empty() || (line[0] != ' ' && line[0] != '\t'))) {
            // A tune record may list several layers; keep reading for another paragraph of
            // this one rather than stopping at the first.
            inside = false;
        }
        if (inside) out += line + "\n";
    }
    return out;
}

std::string layerSummary(const cg::LayerCode& l) {
    std::ostringstream s;
    const engine::ConvParams& c = l.conv;
    s << "layer " << l.index << " '" << l.name << "': ";
    if (l.gemm)
        s << "gemm " << c.batch << "x" << c.inChannels << " -> " << c.outChannels;
    else
        s << "conv " << c.inChannels << "->" << c.outChannels << " " << c.kernelH << "x"
          << c.kernelW << " stride " << c.strideH << " group " << c.group << ", out " << c.outH
          << "x" << c.outW;
    s << ", scheme " << (l.scheme.empty() ? "none" : l.scheme) << "\n";
    s << "kernel: " << cg::kernelKindName(l.kind) << "\n";
    s << "decision: " << (l.decision.empty() ? "(not chosen)" : l.decision) << "\n";
    s << "density " << fixed(l.density, 3) << "; MACs " << countText(l.denseMacs).toStdString()
      << " dense -> " << countText(l.keptMacs).toStdString() << " kept";
    if (l.keptMacs > 0)
        s << " (ideal speedup "
          << fixed(static_cast<double>(l.denseMacs) / static_cast<double>(l.keptMacs), 2) << "x)";
    s << "\n";
    switch (l.kind) {
        case cg::KernelKind::Pattern:
            s << "storage: FKW, " << l.fkw.filterOrder.size() << " filters, "
              << l.fkw.inputChannel.size() << " kernels, " << l.fkw.patterns.size()
              << " patterns\n";
            break;
        case cg::KernelKind::TileWise:
            s << "storage: " << l.tiles.rows.size() << " tiles of width " << l.tiles.tileWidth
              << ", " << l.tiles.blocks.size() << " stored weights\n";
            break;
        case cg::KernelKind::Csr:
            s << "storage: CSR, " << l.csr.values.size() << " nonzeros\n";
            break;
        case cg::KernelKind::Dense:
            s << "storage: the dense weights\n";
            break;
    }
    const cg::Tuning& t = l.tuning;
    s << "tuning (" << t.source << "): " << t.filterBlock << " filters x "
      << (t.rows > 0 ? std::to_string(t.rows) : std::string("auto")) << " rows x " << t.unroll
      << " unroll, " << t.pixelBlock << " pixels per vector";
    if (t.measuredMs > 0) s << ", measured " << fixed(t.measuredMs, 3) << " ms";
    s << "\n";
    return s.str();
}

KernelsData kernelsDataFromLayer(const cg::LayerCode& layer,
                                 const std::vector<cg::PassRecord>& passes) {
    KernelsData d;
    d.layer = layer;
    for (const cg::PassRecord& p : passes)
        d.steps.push_back({p.pass, p.milliseconds, layerParagraph(p.dump, layer.index)});
    d.summary = layerSummary(layer);
    std::string why;
    if (!engine::cpu::canEmitLayer(layer, &why)) {
        d.noSource = "No generated code for this layer: " + why + ".";
    } else {
        auto source = engine::cpu::emitLayerSource(layer);
        if (source.ok())
            d.source = std::move(*source);
        else
            d.noSource = "The code generator failed: " + errorText(source.error()).toStdString();
    }
    return d;
}

void KernelsView::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        const bool dark = palette().color(QPalette::Base).lightness() < 128;
        m_highlighter->setDarkBackground(dark);
        m_gpuHighlighter->setDarkBackground(dark);
    }
}

KernelsView::KernelsView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    m_title = new QLabel(this);
    QFont bold = m_title->font();
    bold.setBold(true);
    bold.setPointSizeF(bold.pointSizeF() * 1.2);
    m_title->setFont(bold);
    // Wrapped (the name may break after a '/'): one line is wider than the tab on a 1024-pixel
    // screen.
    m_title->setWordWrap(true);
    // A text box, not a wrapped label: a label's height in a layout does not follow its wrapped
    // lines reliably, and the decision line can be long.
    m_summary = new QPlainTextEdit(this);
    m_summary->setReadOnly(true);
    m_summary->setFrameShape(QFrame::NoFrame);
    m_summary->setBackgroundVisible(false);
    m_summary->setFixedHeight(m_summary->fontMetrics().lineSpacing() * 7 + 8);
    auto* bar = new QToolBar(this);
    m_copy = bar->addAction(tr("Copy source"), this, &KernelsView::copySource);
    m_export = bar->addAction(tr("Export source..."), this, &KernelsView::exportSourceInteractive);
    m_copyGlsl = bar->addAction(tr("Copy GLSL"), this, &KernelsView::copyGlsl);
    m_copy->setShortcut(QKeySequence::Copy);
    m_copy->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(m_copy);

    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    m_steps = new QListWidget(this);
    m_stepText = new QPlainTextEdit(this);
    m_stepText->setReadOnly(true);
    m_stepText->setFont(mono);
    m_stepText->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_source = new QPlainTextEdit(this);
    m_source->setReadOnly(true);
    m_source->setFont(mono);
    m_source->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_highlighter = new CppHighlighter(m_source->document());
    m_highlighter->setDarkBackground(palette().color(QPalette::Base).lightness() < 128);
    // GLSL is C-like: the C++ colouring reads well enough on it (types, numbers, comments).
    m_gpuSource = new QPlainTextEdit(this);
    m_gpuSource->setObjectName(QStringLiteral("kernelsGlsl"));
    m_gpuSource->setReadOnly(true);
    m_gpuSource->setFont(mono);
    m_gpuSource->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_gpuHighlighter = new CppHighlighter(m_gpuSource->document());
    m_gpuHighlighter->setDarkBackground(m_highlighter->darkBackground());
    // One above the other, not a fourth column: side by side, neither is readable on a
    // 1024-pixel screen; not tabs: a student compares the two.
    auto titled = [this](QLabel* title, QPlainTextEdit* edit) {
        auto* box = new QWidget(this);
        auto* column = new QVBoxLayout(box);
        column->setContentsMargins(0, 0, 0, 0);
        column->setSpacing(2);
        title->setWordWrap(true);
        column->addWidget(title);
        column->addWidget(edit, 1);
        return box;
    };
    m_cppTitle = new QLabel(tr("<b>C++</b> the CPU runs (generated for this layer)"), this);
    m_gpuTitle = new QLabel(this);
    m_codeSplit = new QSplitter(Qt::Vertical, this);
    m_codeSplit->addWidget(titled(m_cppTitle, m_source));
    m_codeSplit->addWidget(titled(m_gpuTitle, m_gpuSource));
    m_diagram = new StorageDiagram(this);

    auto* left = new QSplitter(Qt::Vertical, this);
    left->addWidget(m_steps);
    left->addWidget(m_stepText);
    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(left);
    split->addWidget(m_codeSplit);
    split->addWidget(m_diagram);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 4);
    split->setStretchFactor(2, 3);
    // The step names are short; their text (a layer's paragraph) needs the room.
    left->setStretchFactor(0, 1);
    left->setStretchFactor(1, 3);
    split->setSizes({300, 600, 450});

    layout->addWidget(m_title);
    layout->addWidget(m_summary);
    layout->addWidget(bar);
    layout->addWidget(split, 1);
    connect(m_steps, &QListWidget::currentRowChanged, this, &KernelsView::showStep);
    setData({});
    setGpu({});
}

void KernelsView::setGpu(KernelsGpu gpu) {
    m_gpu = std::move(gpu);
    m_gpuSource->setPlainText(QString::fromStdString(
        !m_gpu.source.empty()     ? m_gpu.source
        : !m_gpu.noSource.empty() ? m_gpu.noSource
                                  : std::string("No GPU code for this layer.")));
    m_gpuTitle->setText(m_gpu.device.empty()
                            ? tr("<b>GLSL</b> the GPU runs")
                            : tr("<b>GLSL</b> the GPU runs (%1)")
                                  .arg(QString::fromStdString(m_gpu.device).toHtmlEscaped()));
    m_copyGlsl->setEnabled(!m_gpu.source.empty());
}

QString KernelsView::gpuTitle() const {
    return m_gpuTitle->text();
}

QString KernelsView::gpuText() const {
    return m_gpuSource->toPlainText();
}

void KernelsView::setData(KernelsData data) {
    m_data = std::move(data);
    const bool any = !m_data.layer.name.empty() || !m_data.steps.empty();
    m_title->setText(
        any ? tr("Layer %1: %2").arg(m_data.layer.index).arg(wrappableName(m_data.layer.name))
            : tr("No compiled layer selected"));
    m_title->setToolTip(any ? QString::fromStdString(m_data.layer.name) : QString());
    m_summary->setPlainText(QString::fromStdString(m_data.summary).trimmed());
    m_steps->clear();
    for (const KernelsStep& s : m_data.steps) {
        auto* item = new QListWidgetItem(
            tr("%1   %2 ms").arg(QString::fromStdString(s.pass)).arg(s.milliseconds, 0, 'f', 2),
            m_steps);
        item->setData(Qt::UserRole, QString::fromStdString(s.pass));
        if (s.aboutLayer.empty()) item->setForeground(palette().placeholderText());
    }
    m_source->setPlainText(
        QString::fromStdString(m_data.source.empty() ? m_data.noSource : m_data.source));
    const bool hasSource = !m_data.source.empty();
    m_copy->setEnabled(hasSource);
    m_export->setEnabled(hasSource);
    m_diagram->setLayer(m_data.layer);
    if (!m_data.steps.empty())
        m_steps->setCurrentRow(static_cast<int>(m_data.steps.size()) - 1);
    else
        showStep(-1);
}

int KernelsView::stepCount() const {
    return m_steps->count();
}

QString KernelsView::stepName(int row) const {
    const QListWidgetItem* item = m_steps->item(row);
    return item ? item->data(Qt::UserRole).toString() : QString();
}

void KernelsView::selectStep(int row) {
    m_steps->setCurrentRow(row);
}

QString KernelsView::stepText() const {
    return m_stepText->toPlainText();
}

QString KernelsView::sourceText() const {
    return m_source->toPlainText();
}

void KernelsView::showStep(int row) {
    if (row < 0 || row >= static_cast<int>(m_data.steps.size())) {
        m_stepText->clear();
        return;
    }
    const KernelsStep& s = m_data.steps[static_cast<size_t>(row)];
    m_stepText->setPlainText(
        s.aboutLayer.empty()
            ? tr("The %1 step says nothing about this layer (it left it as it was).")
                  .arg(QString::fromStdString(s.pass))
            : QString::fromStdString(s.aboutLayer));
}

void KernelsView::copySource() const {
    if (!m_data.source.empty())
        QApplication::clipboard()->setText(QString::fromStdString(m_data.source));
}

void KernelsView::copyGlsl() const {
    if (!m_gpu.source.empty())
        QApplication::clipboard()->setText(QString::fromStdString(m_gpu.source));
}

QString KernelsView::exportSource(const QString& path) const {
    const std::string& s = m_data.source;
    if (s.empty()) return tr("Layer %1 has no generated source to export.").arg(m_data.layer.index);
    // QSaveFile: a failed write never leaves a truncated file under the chosen name.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    if (file.write(s.data(), static_cast<qint64>(s.size())) != static_cast<qint64>(s.size()) ||
        !file.commit())
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    return {};
}

void KernelsView::exportSourceInteractive() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export generated source"), QStringLiteral("layer_%1.cpp").arg(m_data.layer.index),
        tr("C++ source (*.cpp)"));
    if (path.isEmpty()) return;
    const QString error = exportSource(path);
    if (!error.isEmpty()) QMessageBox::warning(this, tr("Export failed"), error);
}

}  // namespace prunelab::views
