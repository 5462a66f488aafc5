// The compiler view on BlazeFace compiled from patdnn-8 and tile-75: one step per PassRecord,
// the generated source exactly as the code generator wrote it (and coloured), the reason where
// there is none, a storage picture whose counts are the storage's, and an export that matches.
#include <QClipboard>
#include <QGuiApplication>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QTextLayout>
#include <QtTest>

#include <cmath>
#include <optional>

#include "engine/codegen/passes.h"
#include "engine/runtime/cpu/sparse/emit.h"
#include "tests/views/widgets_test_util.h"
#include "views/kernels/cpp_highlighter.h"
#include "views/kernels/kernels_view.h"
#include "views/kernels/storage_diagram.h"

using namespace prunelab;
namespace cg = engine::codegen;

namespace {

std::optional<cg::SparseModel> compileBlazeFace(const std::string& preset, QString& why) {
    auto pruned = views::testing::prunedBlazeFace(preset, why);
    if (!pruned) return std::nullopt;
    auto model = cg::compileLayers(*pruned);
    if (!model.ok()) {
        why = QStringLiteral("compiling BlazeFace %1 failed: %2")
                  .arg(QString::fromStdString(preset),
                       QString::fromStdString(model.error().toString()));
        return std::nullopt;
    }
    return std::move(*model);
}

const cg::LayerCode* firstLayer(const cg::SparseModel& model, bool emittable, cg::KernelKind kind) {
    for (const cg::LayerCode& l : model.layers)
        if (l.kind == kind && engine::cpu::canEmitLayer(l) == emittable) return &l;
    return nullptr;
}

// The layer of `kind` with the most stored kernels (FKW) or tiles: the richest picture.
const cg::LayerCode* largestLayer(const cg::SparseModel& model, cg::KernelKind kind) {
    const cg::LayerCode* best = nullptr;
    auto size = [](const cg::LayerCode& l) {
        return l.fkw.inputChannel.size() + l.tiles.rows.size();
    };
    for (const cg::LayerCode& l : model.layers)
        if (l.kind == kind && (!best || size(l) > size(*best))) best = &l;
    return best;
}

// The format the highlighter gave the character at `offset` of `block`.
QTextCharFormat formatAt(const QTextBlock& block, int offset) {
    for (const QTextLayout::FormatRange& r : block.layout()->formats())
        if (offset >= r.start && offset < r.start + r.length) return r.format;
    return {};
}

}  // namespace

class TestKernelsView : public QObject {
    Q_OBJECT

  private:
    std::optional<cg::SparseModel> m_pattern, m_tile;
    QString m_why;

  private slots:
    void initTestCase() {
        m_pattern = compileBlazeFace("patdnn-8", m_why);
        if (m_pattern) m_tile = compileBlazeFace("tile-75", m_why);
    }

    void oneStepPerPassRecord() {
        if (!m_tile) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        for (const cg::SparseModel* model : {&*m_pattern, &*m_tile}) {
            QVERIFY(model->passes.size() >= 4);
            const cg::LayerCode& layer = model->layers.back();
            views::KernelsView view;
            view.setData(views::kernelsDataFromLayer(layer, model->passes));
            QCOMPARE(view.stepCount(), static_cast<int>(model->passes.size()));
            for (int i = 0; i < view.stepCount(); ++i) {
                QCOMPARE(view.stepName(i),
                         QString::fromStdString(model->passes[static_cast<size_t>(i)].pass));
            }
            // What the choose step says about this layer holds its decision at that point (no
            // later step changed it: nothing was measured).
            for (int i = 0; i < view.stepCount(); ++i) {
                view.selectStep(i);
                const QString text = view.stepText();
                QVERIFY2(text.startsWith(QStringLiteral("layer %1 '").arg(layer.index)),
                         qPrintable(text));
                if (view.stepName(i) == QLatin1String("choose"))
                    QVERIFY(text.contains(QString::fromStdString(layer.decision)));
                // Another layer's paragraph never leaks in.
                for (const cg::LayerCode& other : model->layers) {
                    if (other.index == layer.index) continue;
                    QVERIFY(!text.contains(
                        QStringLiteral("'%1'").arg(QString::fromStdString(other.name))));
                }
            }
        }
    }

    void layerParagraphDoesNotConfuseIndices() {
        const std::string dump =
            "layer 1 'a' (node 3): conv\n  kind dense: x\nlayer 12 'b' (node 9): conv\n  kind "
            "pattern: y\nlayer 1: measured pattern 1.000 ms vs dense 2.000 ms (7 runs): kept\n";
        QCOMPARE(views::layerParagraph(dump, 1),
                 std::string("layer 1 'a' (node 3): conv\n  kind dense: x\nlayer 1: measured "
                             "pattern 1.000 ms vs dense 2.000 ms (7 runs): kept\n"));
        QCOMPARE(views::layerParagraph(dump, 12),
                 std::string("layer 12 'b' (node 9): conv\n  kind pattern: y\n"));
        QCOMPARE(views::layerParagraph(dump, 2), std::string());
    }

    void patternLayerShowsTheEmittedSourceHighlighted() {
        if (!m_pattern) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        const cg::LayerCode* layer = firstLayer(*m_pattern, true, cg::KernelKind::Pattern);
        QVERIFY2(layer, "patdnn-8 gave BlazeFace an emittable pattern layer");
        auto expected = engine::cpu::emitLayerSource(*layer);
        QVERIFY2(expected.ok(), expected.ok() ? "" : expected.error().toString().c_str());
        views::KernelsView view;
        view.resize(1400, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setData(views::kernelsDataFromLayer(*layer, m_pattern->passes));
        QCOMPARE(view.sourceText(), QString::fromStdString(*expected));
        QVERIFY(view.sourceEdit()->isReadOnly());
        QVERIFY(view.copyAction()->isEnabled());

        // Every whole-word "void" / "float" / "const" outside comments and preprocessor lines
        // carries the keyword format; a comment line the comment format; "#" lines theirs.
        const views::CppHighlighter* h = view.highlighter();
        const QRegularExpression keyword(QStringLiteral("\\b(void|float|const|for)\\b"));
        int keywords = 0, comments = 0, preprocessor = 0, numbers = 0;
        const QRegularExpression number(QStringLiteral("(?<![\\w.])[0-9]+(?![\\w.])"));
        for (QTextBlock b = view.sourceEdit()->document()->begin(); b.isValid(); b = b.next()) {
            const QString text = b.text();
            const QString trimmed = text.trimmed();
            if (trimmed.startsWith('#')) {
                QCOMPARE(formatAt(b, static_cast<int>(text.indexOf('#'))).foreground(),
                         h->preprocessorFormat().foreground());
                ++preprocessor;
                continue;
            }
            if (trimmed.startsWith(QStringLiteral("//"))) {
                QCOMPARE(formatAt(b, static_cast<int>(text.indexOf('/'))).foreground(),
                         h->commentFormat().foreground());
                ++comments;
                continue;
            }
            if (text.contains('"') || text.contains(QStringLiteral("/*")) ||
                text.contains(QStringLiteral("*/")) || text.contains(QStringLiteral("//")))
                continue;
            auto it = keyword.globalMatch(text);
            while (it.hasNext()) {
                const auto m = it.next();
                const QTextCharFormat f = formatAt(b, static_cast<int>(m.capturedStart()));
                QCOMPARE(f.foreground(), h->keywordFormat().foreground());
                QCOMPARE(f.fontWeight(), h->keywordFormat().fontWeight());
                ++keywords;
            }
            auto nt = number.globalMatch(text);
            while (nt.hasNext()) {
                const auto m = nt.next();
                QCOMPARE(formatAt(b, static_cast<int>(m.capturedStart())).foreground(),
                         h->numberFormat().foreground());
                ++numbers;
            }
        }
        QVERIFY2(keywords > 10, qPrintable(QString::number(keywords)));
        QVERIFY(comments > 0);
        QVERIFY(preprocessor > 0);
        QVERIFY(numbers > 10);
        views::testing::dumpForReview(view.grab().toImage(), QStringLiteral("kernels_view"));

        // Copy puts exactly the source on the clipboard.
        view.copySource();
        QCOMPARE(QGuiApplication::clipboard()->text(), QString::fromStdString(*expected));
    }

    void nonEmittableLayerSaysWhy() {
        if (!m_tile) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        for (const cg::LayerCode* layer : {firstLayer(*m_tile, false, cg::KernelKind::TileWise),
                                           firstLayer(*m_pattern, false, cg::KernelKind::Dense)}) {
            QVERIFY2(layer, "both a tile-wise and a dense layer");
            std::string why;
            QVERIFY(!engine::cpu::canEmitLayer(*layer, &why));
            QVERIFY(!why.empty());
            views::KernelsView view;
            view.setData(views::kernelsDataFromLayer(*layer, m_tile->passes));
            QVERIFY2(view.sourceText().contains(QString::fromStdString(why)),
                     qPrintable(view.sourceText()));
            QVERIFY(!view.copyAction()->isEnabled());
            QVERIFY(!view.exportAction()->isEnabled());
            QTemporaryDir dir;
            const QString path = dir.filePath(QStringLiteral("none.cpp"));
            QVERIFY(!view.exportSource(path).isEmpty());
            QVERIFY(!QFile::exists(path));
        }
    }

    void fkwDiagramCountsTheStoragesKernels() {
        if (!m_pattern) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        int checked = 0;
        for (const cg::LayerCode& layer : m_pattern->layers) {
            if (layer.kind != cg::KernelKind::Pattern) continue;
            views::StorageDiagram diagram;
            diagram.resize(500, 400);
            diagram.setLayer(layer);
            const auto& s = diagram.summary();
            QCOMPARE(s.kernels, static_cast<int64_t>(layer.fkw.inputChannel.size()));
            QCOMPARE(s.kernels * 4, static_cast<int64_t>(layer.fkw.weights.size()));
            QCOMPARE(s.filters, static_cast<int64_t>(layer.fkw.filterOrder.size()));
            QCOMPARE(s.patterns, static_cast<int64_t>(layer.fkw.patterns.size()));
            QVERIFY(diagram.caption().contains(QLocale().toString(s.kernels)));
            QVERIFY(s.shownFilters > 0 && s.shownFilters <= s.filters);
            ++checked;
        }
        QVERIFY(checked > 0);
        // The view draws the selected layer's storage, and larger windows show more filters.
        const cg::LayerCode* layer = largestLayer(*m_pattern, cg::KernelKind::Pattern);
        views::KernelsView view;
        view.resize(1400, 400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setData(views::kernelsDataFromLayer(*layer, m_pattern->passes));
        const int few = view.storageDiagram()->summary().shownFilters;
        view.resize(1400, 1000);
        QTRY_VERIFY(view.storageDiagram()->summary().shownFilters > few ||
                    few == static_cast<int>(layer->fkw.filterOrder.size()));
        QCOMPARE(view.storageDiagram()->summary().kernels,
                 static_cast<int64_t>(layer->fkw.inputChannel.size()));
        const QImage image = view.storageDiagram()->grab().toImage();
        views::testing::dumpForReview(image, QStringLiteral("storage_fkw"));
        QVERIFY(!image.isNull());
    }

    void tileDiagramCountsTheTiles() {
        if (!m_tile) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        const cg::LayerCode* layer = largestLayer(*m_tile, cg::KernelKind::TileWise);
        QVERIFY(layer);
        views::StorageDiagram diagram;
        diagram.resize(600, 400);
        diagram.setLayer(*layer);
        const auto& s = diagram.summary();
        QCOMPARE(s.tiles, static_cast<int64_t>(layer->tiles.rows.size()));
        // Each tile stores its kept rows x kept columns as one dense block.
        int64_t block = 0, rows = 0;
        for (size_t t = 0; t < layer->tiles.rows.size(); ++t) {
            block +=
                static_cast<int64_t>(layer->tiles.rows[t].size() * layer->tiles.columns[t].size());
            rows += static_cast<int64_t>(layer->tiles.rows[t].size());
        }
        QCOMPARE(s.nonzeros, block);
        QCOMPARE(s.keptRowSegments, rows);
        QCOMPARE(s.filters, layer->conv.outChannels);
        QVERIFY(diagram.caption().startsWith(QStringLiteral("Tiles: %1 tiles").arg(s.tiles)));
        const QImage image = diagram.grab().toImage();
        views::testing::dumpForReview(image, QStringLiteral("storage_tiles"));
        // Kept blocks are inked: some pixels differ from the background.
        const QRgb base = diagram.palette().alternateBase().color().rgb();
        int inked = 0;
        for (int y = 80; y < image.height(); y += 2)
            for (int x = 0; x < image.width(); x += 2)
                inked += image.pixel(x, y) != base &&
                         image.pixel(x, y) != diagram.palette().base().color().rgb();
        QVERIFY(inked > 100);
    }

    void csrDiagramCountsTheNonzeros() {
        if (!m_pattern) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        // patdnn-8 leaves BlazeFace's 1x1 convs to non-structured pruning: CSR layers.
        const cg::LayerCode* layer = largestLayer(*m_pattern, cg::KernelKind::Csr);
        QVERIFY2(layer, "patdnn-8 gave BlazeFace a CSR layer");
        views::StorageDiagram diagram;
        diagram.resize(600, 400);
        diagram.setLayer(*layer);
        const auto& s = diagram.summary();
        QCOMPARE(s.nonzeros, static_cast<int64_t>(layer->csr.values.size()));
        QCOMPARE(s.filters, layer->conv.outChannels);
        // The compiler's density counts the same weights from the other side.
        QCOMPARE(s.nonzeros, static_cast<int64_t>(std::llround(
                                 layer->density * static_cast<double>(s.filters * s.columns))));
        QVERIFY(diagram.caption().contains(QLocale().toString(s.nonzeros)));
        const QImage image = diagram.grab().toImage();
        views::testing::dumpForReview(image, QStringLiteral("storage_csr"));
        QVERIFY(!image.isNull());
    }

    void highlighterCarriesBlockComments() {
        QPlainTextEdit edit;
        views::CppHighlighter h(edit.document());
        edit.setPlainText(QStringLiteral("/* for\nint 12 */ int x = 34;\n#include <x>\nfloat y;"));
        const QTextBlock first = edit.document()->begin();
        const QTextBlock second = first.next();
        QCOMPARE(formatAt(first, 3).foreground(), h.commentFormat().foreground());    // "for"
        QCOMPARE(formatAt(second, 0).foreground(), h.commentFormat().foreground());   // "int"
        QCOMPARE(formatAt(second, 4).foreground(), h.commentFormat().foreground());   // "12"
        QCOMPARE(formatAt(second, 10).foreground(), h.keywordFormat().foreground());  // int
        QCOMPARE(formatAt(second, 18).foreground(), h.numberFormat().foreground());   // 34
        QCOMPARE(formatAt(second.next(), 1).foreground(), h.preprocessorFormat().foreground());
        QCOMPARE(formatAt(second.next().next(), 0).foreground(), h.keywordFormat().foreground());
    }

    // The GPU's pane under the C++: the shader and the device when there is one, else the
    // reason; Copy GLSL only with a shader, and the C++ untouched either way.
    void gpuPaneShowsTheShaderOrWhyNot() {
        if (!m_pattern) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        const cg::LayerCode* layer = firstLayer(*m_pattern, true, cg::KernelKind::Pattern);
        QVERIFY(layer);
        views::KernelsView view;
        view.setData(views::kernelsDataFromLayer(*layer, m_pattern->passes));
        const QString cpp = view.sourceText();
        QVERIFY(!view.copyGlslAction()->isEnabled());
        const std::string glsl = "#version 450\nvoid main() {}\n";
        view.setGpu({"GPU through Vulkan: a test device", glsl, ""});
        QCOMPARE(view.gpuText().toStdString(), glsl);
        QVERIFY2(view.gpuTitle().contains(QStringLiteral("a test device")),
                 qPrintable(view.gpuTitle()));
        QVERIFY(view.copyGlslAction()->isEnabled());
        view.copyGlsl();
        QCOMPARE(QGuiApplication::clipboard()->text().toStdString(), glsl);
        view.setGpu({"GPU through Vulkan: a test device", "", "Runs on the CPU: because."});
        QCOMPARE(view.gpuText(), QStringLiteral("Runs on the CPU: because."));
        QVERIFY(!view.copyGlslAction()->isEnabled());
        view.setGpu({});
        QVERIFY(!view.gpuText().isEmpty());  // never an empty pane
        QCOMPARE(view.sourceText(), cpp);
    }

    void exportWritesTheSource() {
        if (!m_pattern) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_why));
        const cg::LayerCode* layer = firstLayer(*m_pattern, true, cg::KernelKind::Pattern);
        QVERIFY(layer);
        views::KernelsView view;
        view.setData(views::kernelsDataFromLayer(*layer, m_pattern->passes));
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("layer.cpp"));
        QCOMPARE(view.exportSource(path), QString());
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(file.readAll().toStdString(), *engine::cpu::emitLayerSource(*layer));
        // A folder that does not exist: the reason, not a crash or a silent success.
        QVERIFY(
            !view.exportSource(dir.filePath(QStringLiteral("no/such/dir/layer.cpp"))).isEmpty());
    }
};

int runKernelsViewTests(int argc, char** argv) {
    TestKernelsView test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_kernels_view.moc"
