// The sparsity map on BlazeFace pruned with patdnn-8 and tile-75: what it counts, reports under
// the pointer, paints and exports agrees with the engine's masks, patterns and tiles.
#include <QElapsedTimer>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <bit>
#include <random>

#include "tests/views/widgets_test_util.h"
#include "views/sparsity/colour_map.h"
#include "views/sparsity/sparsity_view.h"

using namespace prunelab;
using engine::prune::LayerPruning;
using views::SparsityData;
using views::SparsityMap;

namespace {

int64_t maskKept(const engine::Tensor& mask) {
    int64_t n = 0;
    for (uint8_t m : mask.span<uint8_t>()) n += m != 0;
    return n;
}

bool isViridis(QRgb pixel) {
    return pixel != SparsityMap::kBlank && pixel != SparsityMap::kGap &&
           pixel != SparsityMap::kPrunedColumn && pixel != SparsityMap::kPrunedRow;
}

// The centre of a weight's cell in an image rendered at `scale` pixels per unit.
QPoint centreAt(const SparsityMap& map, double scale, int64_t o, int64_t i, int y, int x) {
    const QRectF r = map.weightUnitRect(o, i, y, x);
    return QPoint(static_cast<int>(r.center().x() * scale),
                  static_cast<int>(r.center().y() * scale));
}

}  // namespace

class TestSparsityView : public QObject {
    Q_OBJECT

  private:
    std::optional<engine::prune::PrunedModel> m_patdnn, m_tile;
    QString m_whyPatdnn, m_whyTile;
    const LayerPruning* m_patternLayer = nullptr;  // most kernels, some removed and some kept
    const LayerPruning* m_tileLayer = nullptr;     // pruned columns and rows pruned in tiles

    static int64_t kernelsOf(const LayerPruning& l) {
        return l.layer.outChannels * l.layer.inPerGroup;
    }

  private slots:
    void initTestCase() {
        m_patdnn = views::testing::prunedBlazeFace("patdnn-8", m_whyPatdnn);
        m_tile = views::testing::prunedBlazeFace("tile-75", m_whyTile);
        if (m_patdnn) {
            for (const LayerPruning& l : m_patdnn->layers) {
                const auto& kp = l.projection.kernelPattern;
                if (l.projection.patternSet.empty() || l.layer.kh != 3 || l.layer.kw != 3) continue;
                const bool removed = std::count(kp.begin(), kp.end(), -1) > 0;
                const bool kept = std::count_if(kp.begin(), kp.end(), [](int p) { return p >= 0; });
                if (removed && kept &&
                    (!m_patternLayer || kernelsOf(l) > kernelsOf(*m_patternLayer)))
                    m_patternLayer = &l;
            }
        }
        if (m_tile) {
            for (const LayerPruning& l : m_tile->layers) {
                const auto& t = l.projection.tiles;
                if (t.tileWidth <= 0) continue;
                const auto columns = l.layer.inPerGroup * l.layer.kh * l.layer.kw;
                const bool prunedColumn = static_cast<int64_t>(t.keptColumns.size()) < columns;
                const bool prunedRow = std::any_of(
                    t.keptRows.begin(), t.keptRows.end(),
                    [&](auto& r) { return static_cast<int64_t>(r.size()) < l.layer.outChannels; });
                if (prunedColumn && prunedRow &&
                    (!m_tileLayer || kernelsOf(l) > kernelsOf(*m_tileLayer)))
                    m_tileLayer = &l;
            }
        }
    }

    void keptCellsEqualTheMask() {
        if (!m_patdnn) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_whyPatdnn));
        QVERIFY2(m_patternLayer,
                 "patdnn-8 left no 3x3 pattern layer with removed and kept kernels");
        const SparsityData d =
            views::sparsityDataFromLayer(m_patternLayer->projection, m_patternLayer->layer.name);
        QCOMPARE(d.mode, SparsityData::Mode::Kernels3x3);
        const int64_t expected = maskKept(m_patternLayer->projection.mask);
        QVERIFY(expected > 0);
        QCOMPARE(d.keptCount(), expected);
        // Drawn at one pixel per unit, every coloured pixel is one kept weight.
        SparsityMap map;
        map.setData(d);
        const QImage image = map.renderImage(1);
        QCOMPARE(image.size(), map.unitSize());
        int64_t coloured = 0;
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x) coloured += isViridis(image.pixel(x, y));
        QCOMPARE(coloured, expected);
    }

    // Every layer of both models, in whatever mode it is drawn: one coloured pixel per kept
    // weight (per kernel with a kept weight when kernels larger than 1x1 are cells).
    void everyLayerDrawsItsKeptWeights() {
        if (!m_patdnn || !m_tile) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_whyPatdnn));
        int modes[3] = {0, 0, 0};
        for (const auto* model : {&*m_patdnn, &*m_tile}) {
            for (const LayerPruning& l : model->layers) {
                const SparsityData d = views::sparsityDataFromLayer(l.projection, l.layer.name);
                QCOMPARE(d.outChannels, l.layer.outChannels);
                QCOMPARE(d.inPerGroup, l.layer.inPerGroup);
                ++modes[static_cast<int>(d.mode)];
                int64_t expected = maskKept(l.projection.mask);
                if (d.mode == SparsityData::Mode::KernelDensity && d.kernelSize() > 1) {
                    expected = 0;
                    const auto mask = l.projection.mask.span<uint8_t>();
                    for (size_t k = 0; k < mask.size(); k += static_cast<size_t>(d.kernelSize()))
                        expected += std::any_of(
                            mask.begin() + static_cast<std::ptrdiff_t>(k),
                            mask.begin() + static_cast<std::ptrdiff_t>(k + d.kernelSize()),
                            [](uint8_t m) { return m != 0; });
                }
                SparsityMap map;
                map.setData(d);
                const QImage image = map.renderImage(1);
                int64_t coloured = 0;
                for (int y = 0; y < image.height(); ++y)
                    for (int x = 0; x < image.width(); ++x)
                        coloured += isViridis(image.pixel(x, y));
                QVERIFY2(coloured == expected, l.layer.name.c_str());
            }
        }
        QVERIFY2(modes[0] > 0 && modes[1] > 0 && modes[2] > 0, "all three modes occur");
    }

    void zoomsWithWheelAndKeys() {
        if (!m_patdnn) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_whyPatdnn));
        QVERIFY(m_patternLayer);
        SparsityMap map;
        map.resize(500, 400);
        map.show();
        map.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&map));
        map.setData(
            views::sparsityDataFromLayer(m_patternLayer->projection, m_patternLayer->layer.name));
        // The wheel zooms about the pointer: the weight under it stays under it (when the map
        // is larger than the viewport, so that it can scroll).
        map.setZoom(20);
        map.scrollToWeight(m_patternLayer->layer.outChannels / 2, 0, 1, 1);
        const QPoint at = map.weightRect(m_patternLayer->layer.outChannels / 2, 0, 1, 1).center();
        const views::SparsityCell before = map.cellAt(at);
        QVERIFY(before.valid);
        QWheelEvent up(at, map.viewport()->mapToGlobal(at), QPoint(), QPoint(0, 120), Qt::NoButton,
                       Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(map.viewport(), &up);
        QVERIFY(map.zoom() > 20);
        const views::SparsityCell after = map.cellAt(at);
        QCOMPARE(after.filter, before.filter);
        QCOMPARE(after.y, before.y);
        QCOMPARE(after.x, before.x);
        const double wheeled = map.zoom();
        QTest::keyClick(&map, Qt::Key_Equal, Qt::ControlModifier);
        QVERIFY(map.zoom() > wheeled);
        QTest::keyClick(&map, Qt::Key_Minus, Qt::ControlModifier);
        QTest::keyClick(&map, Qt::Key_Minus, Qt::ControlModifier);
        QVERIFY(map.zoom() < wheeled);
    }

    void hoverReportsTheEnginesKernel() {
        if (!m_patdnn) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_whyPatdnn));
        QVERIFY(m_patternLayer);
        const auto& proj = m_patternLayer->projection;
        const int64_t in = m_patternLayer->layer.inPerGroup;
        views::SparsityView view;
        view.resize(900, 700);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setData(views::sparsityDataFromLayer(proj, m_patternLayer->layer.name));
        qInfo("pattern layer %s: %lld x %lld kernels", m_patternLayer->layer.name.c_str(),
              static_cast<long long>(m_patternLayer->layer.outChannels),
              static_cast<long long>(in));
        QCoreApplication::processEvents();  // the title's new height reaches the layout
        views::testing::dumpForReview(view.grab().toImage(), QStringLiteral("sparsity_view"));
        SparsityMap* map = view.map();
        // The last kept kernel and the last removed one: far from the origin, so the scrolling
        // and the zoom take part in the mapping.
        int64_t keptK = -1, removedK = -1;
        for (int64_t k = 0; k < static_cast<int64_t>(proj.kernelPattern.size()); ++k)
            (proj.kernelPattern[static_cast<size_t>(k)] >= 0 ? keptK : removedK) = k;
        QVERIFY(keptK >= 0 && removedK >= 0);
        for (double zoom : {3.0, 11.7, 30.0}) {
            map->setZoom(zoom);
            map->scrollToWeight(keptK / in, keptK % in, 1, 2);
            const QRect r = map->weightRect(keptK / in, keptK % in, 1, 2);
            QVERIFY2(map->viewport()->rect().contains(r.center()), "scrolled into view");
            const views::SparsityCell cell = map->cellAt(r.center());
            QVERIFY(cell.valid);
            QCOMPARE(cell.filter, keptK / in);
            QCOMPARE(cell.channel, keptK % in);
            QCOMPARE(cell.y, 1);
            QCOMPARE(cell.x, 2);
            QCOMPARE(cell.patternId, proj.kernelPattern[static_cast<size_t>(keptK)]);
            QVERIFY(!cell.kernelRemoved);
            const auto bits = proj.patternSet[static_cast<size_t>(cell.patternId)];
            QCOMPARE(cell.keptWeights, std::popcount(static_cast<unsigned>(bits)));
            QCOMPARE(cell.weightKept, (bits & (1u << 5)) != 0);
            const QString text = map->describeAt(r.center());
            QVERIFY2(
                text.contains(
                    QStringLiteral("Filter %1, input channel %2").arg(keptK / in).arg(keptK % in)),
                qPrintable(text));
            QVERIFY2(text.contains(QStringLiteral("Pattern id %1").arg(cell.patternId)),
                     qPrintable(text));

            map->scrollToWeight(removedK / in, removedK % in);
            const QPoint p = map->weightRect(removedK / in, removedK % in, 0, 0).center();
            const views::SparsityCell gone = map->cellAt(p);
            QCOMPARE(gone.filter, removedK / in);
            QCOMPARE(gone.channel, removedK % in);
            QVERIFY(gone.kernelRemoved);
            QCOMPARE(gone.patternId, -1);
            QCOMPARE(gone.keptWeights, 0);
            QVERIFY2(map->describeAt(p).contains(QStringLiteral("removed by connectivity")),
                     qPrintable(map->describeAt(p)));
        }
        // Between kernels there is no kernel.
        map->setZoom(10);
        map->scrollToWeight(0, 0);
        QVERIFY(!map->cellAt(map->weightRect(0, 0, 2, 2).center() + QPoint(10, 0)).valid);
    }

    void paintsKeptAndBlanksRemoved() {
        if (!m_patdnn) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_whyPatdnn));
        QVERIFY(m_patternLayer);
        const auto& proj = m_patternLayer->projection;
        const auto mask = proj.mask.span<uint8_t>();
        SparsityMap map;
        map.resize(640, 480);
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        map.setData(views::sparsityDataFromLayer(proj, m_patternLayer->layer.name));
        const double scale = 5;
        const QImage image = map.renderImage(scale);
        const int64_t in = m_patternLayer->layer.inPerGroup;
        int checkedKept = 0, checkedPruned = 0;
        for (int64_t k = 0; k < static_cast<int64_t>(proj.kernelPattern.size()); ++k) {
            for (int p = 0; p < 9; ++p) {
                const QPoint c = centreAt(map, scale, k / in, k % in, p / 3, p % 3);
                const QRgb pixel = image.pixel(c);
                if (mask[static_cast<size_t>(k * 9 + p)]) {
                    QVERIFY2(isViridis(pixel), "a kept weight is coloured");
                    ++checkedKept;
                } else {
                    QCOMPARE(pixel, SparsityMap::kBlank);
                    ++checkedPruned;
                }
            }
        }
        QVERIFY(checkedKept > 0 && checkedPruned > 0);
        // The widget paints the same colours where it shows a weight.
        map.setZoom(12);
        const int64_t keptK =
            std::distance(proj.kernelPattern.begin(),
                          std::find_if(proj.kernelPattern.begin(), proj.kernelPattern.end(),
                                       [](int32_t id) { return id >= 0; }));
        map.scrollToWeight(keptK / in, keptK % in, 1, 1);
        const QImage shown = map.viewport()->grab().toImage().convertToFormat(QImage::Format_RGB32);
        views::testing::dumpForReview(shown, QStringLiteral("sparsity_pattern_zoom12"));
        const QRgb centre = shown.pixel(map.weightRect(keptK / in, keptK % in, 1, 1).center());
        QCOMPARE(centre, image.pixel(centreAt(map, scale, keptK / in, keptK % in, 1, 1)));
    }

    void exportsLoadBack() {
        if (!m_patdnn) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_whyPatdnn));
        QVERIFY(m_patternLayer);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        views::SparsityView view;
        view.setData(
            views::sparsityDataFromLayer(m_patternLayer->projection, m_patternLayer->layer.name));
        const QString png = dir.filePath(QStringLiteral("map.png"));
        const QString svg = dir.filePath(QStringLiteral("map.svg"));
        QVERIFY(view.exportPng(png));
        QVERIFY(view.exportSvg(svg));
        views::testing::dumpForReview(QImage(png), QStringLiteral("sparsity_export"));
        const QImage loaded(png);
        QVERIFY(!loaded.isNull());
        const QSize units = view.map()->unitSize();
        QCOMPARE(loaded.width() * units.height(), loaded.height() * units.width());
        QSvgRenderer renderer(svg);
        QVERIFY(renderer.isValid());
        QVERIFY(!renderer.defaultSize().isEmpty());
        QVERIFY(!view.exportPng(dir.filePath(QStringLiteral("missing/folder/map.png"))));
    }

    void tileLayerShowsTheGemmAndItsTiles() {
        if (!m_tile) QSKIP(qPrintable(QStringLiteral("SKIPPED: ") + m_whyTile));
        QVERIFY2(m_tileLayer, "tile-75 left no layer with pruned columns and rows");
        const auto& proj = m_tileLayer->projection;
        const auto& tiles = proj.tiles;
        const SparsityData d = views::sparsityDataFromLayer(proj, m_tileLayer->layer.name);
        QCOMPARE(d.mode, SparsityData::Mode::Gemm);
        QCOMPARE(d.keptCount(), maskKept(proj.mask));
        SparsityMap map;
        map.resize(800, 600);
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        map.setData(d);
        const int64_t columns = d.gemmColumns(), kernel = d.kernelSize();
        const double scale = 3;
        const QImage image = map.renderImage(scale);
        auto pixelOf = [&](int64_t row, int64_t column) {
            return image.pixel(centreAt(map, scale, row, column / kernel,
                                        static_cast<int>((column % kernel) / d.kw),
                                        static_cast<int>((column % kernel) % d.kw)));
        };
        auto cellOf = [&](int64_t row, int64_t column) {
            const int y = static_cast<int>((column % kernel) / d.kw);
            const int x = static_cast<int>((column % kernel) % d.kw);
            map.scrollToWeight(row, column / kernel, y, x);
            return map.cellAt(map.weightRect(row, column / kernel, y, x).center());
        };
        // A pruned column: marked in every row.
        int64_t pruned = 0;
        while (std::binary_search(tiles.keptColumns.begin(), tiles.keptColumns.end(), pruned))
            ++pruned;
        QVERIFY(pruned < columns);
        const views::SparsityCell gone = cellOf(d.outChannels - 1, pruned);
        QVERIFY(gone.valid && gone.columnPruned);
        QCOMPARE(gone.tile, -1);
        QCOMPARE(gone.column, pruned);
        for (int64_t r = 0; r < d.outChannels; ++r)
            QCOMPARE(pixelOf(r, pruned), SparsityMap::kPrunedColumn);
        // Each tile: its kept rows coloured where the mask keeps them, its other rows marked.
        int prunedRows = 0;
        for (size_t t = 0; t < tiles.keptRows.size(); ++t) {
            const int64_t column = tiles.keptColumns[t * static_cast<size_t>(tiles.tileWidth)];
            for (int64_t r = 0; r < d.outChannels; ++r) {
                const bool rowKept =
                    std::binary_search(tiles.keptRows[t].begin(), tiles.keptRows[t].end(), r);
                const bool weightKept =
                    proj.mask.span<uint8_t>()[static_cast<size_t>(r * columns + column)] != 0;
                const QRgb pixel = pixelOf(r, column);
                if (!rowKept) {
                    QCOMPARE(pixel, SparsityMap::kPrunedRow);
                    ++prunedRows;
                } else {
                    QCOMPARE(isViridis(pixel), weightKept);
                }
            }
            const views::SparsityCell cell = cellOf(0, column);
            QCOMPARE(cell.tile, static_cast<int>(t));
            QCOMPARE(cell.rowPrunedInTile,
                     !std::binary_search(tiles.keptRows[t].begin(), tiles.keptRows[t].end(), 0));
        }
        QVERIFY(prunedRows > 0);
        qInfo("tile layer %s: %lld x %lld GEMM, %zu tiles", m_tileLayer->layer.name.c_str(),
              static_cast<long long>(d.outChannels), static_cast<long long>(columns),
              tiles.keptRows.size());
        map.setZoom(6);
        map.scrollToWeight(0, 0);
        views::testing::dumpForReview(map.grab().toImage(), QStringLiteral("sparsity_tile"));
        // The tile grid: a dark line at the first column of every tile after the first.
        if (tiles.keptRows.size() > 1) {
            const int64_t c = tiles.keptColumns[static_cast<size_t>(tiles.tileWidth)];
            const QImage big = map.renderImage(8);
            const QRgb line = big.pixel(static_cast<int>(c * 8), 4);
            QCOMPARE(line, SparsityMap::kTileLine);
        }
    }

    // 512 x 512 3x3 kernels (2048 x 2048 units): the map paints only what is visible, so a
    // repaint at a high zoom costs what a small layer does (the time is printed, not asserted).
    void largeLayerPaintsTheVisiblePart() {
        engine::prune::LayerProjection p;
        p.weights = engine::Tensor(engine::DataType::Float32, {512, 512, 3, 3});
        p.mask = engine::Tensor(engine::DataType::UInt8, {512, 512, 3, 3});
        std::mt19937 rng(7);
        auto w = p.weights.span<float>();
        auto m = p.mask.span<uint8_t>();
        for (size_t k = 0; k < w.size(); ++k) {
            m[k] = rng() % 4 == 0;
            w[k] = m[k] ? static_cast<float>(rng() % 1000) / 1000.0f + 0.001f : 0.0f;
        }
        SparsityMap map;
        map.resize(1000, 800);
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        map.setData(views::sparsityDataFromLayer(p, "large"));
        QCOMPARE(map.unitSize(), QSize(2048, 2048));
        map.setZoom(20);
        map.scrollToWeight(511, 511, 2, 2);
        const views::SparsityCell cell = map.cellAt(map.weightRect(511, 511, 2, 2).center());
        QCOMPARE(cell.filter, int64_t{511});
        QCOMPARE(cell.channel, int64_t{511});
        QCOMPARE(cell.weightKept, m.back() != 0);
        QElapsedTimer timer;
        timer.start();
        for (int k = 0; k < 10; ++k) map.viewport()->repaint();
        qInfo("512x512 3x3 layer at 20 px per cell: %.2f ms per repaint",
              static_cast<double>(timer.nsecsElapsed()) / 1e7);
        // Past a few hundred thousand cells the SVG embeds the picture instead of rectangles.
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString svg = dir.filePath(QStringLiteral("large.svg"));
        const QString png = dir.filePath(QStringLiteral("large.png"));
        timer.restart();
        QVERIFY(map.exportSvg(svg));
        QVERIFY(map.exportPng(png));
        qInfo("exports: %.0f ms, SVG %lld kB, PNG %lld kB",
              static_cast<double>(timer.nsecsElapsed()) / 1e6,
              static_cast<long long>(QFileInfo(svg).size() / 1024),
              static_cast<long long>(QFileInfo(png).size() / 1024));
        QVERIFY(QSvgRenderer(svg).isValid());
        const QImage loaded(png);
        QCOMPARE(loaded.width(), loaded.height());
        QVERIFY(loaded.width() >= 2048);
    }
};

int runSparsityViewTests(int argc, char** argv) {
    TestSparsityView test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_sparsity_view.moc"
