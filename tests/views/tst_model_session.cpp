// The workbench session and its layer table on a real model (BlazeFace, catalog id face-front,
// from the asset cache): the item model contract, real layer counts and statistics, undo back to
// the exact weights, a corrupt file that leaves the open model in place.
#include <QAbstractItemModelTester>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <filesystem>

#include "app/gui/model_opener.h"
#include "engine/onnx/plab_file.h"
#include "engine/prune/plan.h"
#include "engine/prune/pruned_model.h"
#include "engine/prune/stats.h"
#include "engine/tasks/catalog.h"
#include "tests/views/widgets_test_util.h"
#include "views/model/layer_table_model.h"
#include "views/session/model_session.h"

using namespace prunelab;
using views::LayerTableModel;

namespace {

constexpr int kTimeoutMs = 60'000;
const char* const kModel = "face-front";

// The model's file in the asset cache, or empty when ./prunelab setup has not fetched it.
QString cachedModelFile() {
    return views::testing::cachedModelFile(kModel);
}

// Each layer's weight tensor, for comparing states bit for bit.
std::vector<engine::Tensor> layerWeights(const views::ModelSession& s) {
    std::vector<engine::Tensor> weights;
    for (const engine::Layer& l : s.layers())
        weights.push_back(s.currentGraph().value(l.weight).constant);
    return weights;
}

}  // namespace

class TestModelSession : public QObject {
    Q_OBJECT

  private slots:
    void init() {
        if (cachedModelFile().isEmpty()) {
            QSKIP("face-front (BlazeFace) is not in the asset cache " PRUNELAB_CACHE_DIR
                  ": run ./prunelab setup");
        }
        m_session = std::make_unique<views::ModelSession>(gui::workbenchOpener());
        m_table = std::make_unique<LayerTableModel>(m_session.get());
        m_tester = std::make_unique<QAbstractItemModelTester>(
            m_table.get(), QAbstractItemModelTester::FailureReportingMode::Fatal);
        QSignalSpy loaded(m_session.get(), &views::ModelSession::modelLoaded);
        m_session->openModel(QString::fromLatin1(kModel));
        QVERIFY2(loaded.wait(kTimeoutMs), "face-front did not load");
    }
    void cleanup() {
        m_tester.reset();
        m_table.reset();
        m_session.reset();
    }

    void tableHasTheEnginesLayers() {
        auto graph = gui::workbenchOpener()(QString::fromLatin1(kModel));
        QVERIFY(graph.ok());
        const auto layers = engine::prunableLayers(graph.value());
        QVERIFY(!layers.empty());
        QCOMPARE(m_table->rowCount(), static_cast<int>(layers.size()));
        for (int r = 0; r < m_table->rowCount(); ++r) {
            const auto& l = layers[static_cast<size_t>(r)];
            // The full name by role; shown without the prefix every layer shares.
            QCOMPARE(m_table->index(r, LayerTableModel::Name)
                         .data(LayerTableModel::kFullNameRole)
                         .toString(),
                     QString::fromStdString(l.name));
            QVERIFY(QString::fromStdString(l.name).endsWith(
                m_table->index(r, LayerTableModel::Name).data().toString()));
            QCOMPARE(m_table->index(r, LayerTableModel::Macs)
                         .data(LayerTableModel::kSortRole)
                         .toLongLong(),
                     static_cast<qlonglong>(l.macs));
            QCOMPARE(m_table->index(r, LayerTableModel::Scheme).data().toString(),
                     QStringLiteral("dense"));
        }
    }

    void sortsThroughAProxy() {
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(m_table.get());
        proxy.setSortRole(LayerTableModel::kSortRole);
        proxy.sort(LayerTableModel::Macs, Qt::DescendingOrder);
        for (int r = 1; r < proxy.rowCount(); ++r) {
            QVERIFY(proxy.index(r - 1, LayerTableModel::Macs)
                        .data(LayerTableModel::kSortRole)
                        .toLongLong() >= proxy.index(r, LayerTableModel::Macs)
                                             .data(LayerTableModel::kSortRole)
                                             .toLongLong());
        }
    }

    void presetUpdatesSchemeAndDensity() {
        auto plan = engine::prune::presetPlan("patdnn-8");
        QVERIFY(plan.ok());
        QSignalSpy applied(m_session.get(), &views::ModelSession::planApplied);
        m_session->applyPlan(plan.value());
        QVERIFY2(applied.wait(kTimeoutMs), "patdnn-8 was not applied");

        auto expected = engine::prune::applyPlan(m_session->originalGraph(), plan.value());
        QVERIFY(expected.ok());
        const engine::prune::ModelStats stats = engine::prune::modelStats(expected.value());
        QCOMPARE(static_cast<int>(stats.layers.size()), m_table->rowCount());
        int pattern = 0;
        for (int r = 0; r < m_table->rowCount(); ++r) {
            const auto& s = stats.layers[static_cast<size_t>(r)];
            // The scheme by its sort role: a dense layer's cell also says why it is dense.
            QCOMPARE(m_table->index(r, LayerTableModel::Scheme)
                         .data(LayerTableModel::kSortRole)
                         .toString(),
                     QString::fromStdString(s.scheme));
            QCOMPARE(m_table->index(r, LayerTableModel::Density)
                         .data(LayerTableModel::kSortRole)
                         .toDouble(),
                     s.density);
            QCOMPARE(m_table->index(r, LayerTableModel::KeptMacs)
                         .data(LayerTableModel::kSortRole)
                         .toLongLong(),
                     static_cast<qlonglong>(s.keptMacs));
            pattern += s.scheme == "pattern";
        }
        QVERIFY2(pattern > 0, "patdnn-8 pruned no layer with patterns");
    }

    void undoRestoresTheExactWeights() {
        const std::vector<engine::Tensor> before = layerWeights(*m_session);
        auto plan = engine::prune::presetPlan("uniform-75");
        QVERIFY(plan.ok());
        QSignalSpy applied(m_session.get(), &views::ModelSession::planApplied);
        m_session->applyPlan(plan.value());
        QVERIFY(applied.wait(kTimeoutMs));
        const std::vector<engine::Tensor> pruned = layerWeights(*m_session);
        int changed = 0;
        for (size_t i = 0; i < before.size(); ++i) changed += !pruned[i].identical(before[i]);
        QVERIFY2(changed > 0, "uniform-75 changed no weights");

        QVERIFY(m_session->undoStack()->canUndo());
        m_session->undoStack()->undo();
        QVERIFY(!m_session->currentPlan());
        const std::vector<engine::Tensor> restored = layerWeights(*m_session);
        for (size_t i = 0; i < before.size(); ++i) QVERIFY(restored[i].identical(before[i]));
        QCOMPARE(m_table->index(1, LayerTableModel::Scheme).data().toString(),
                 QStringLiteral("dense"));

        m_session->undoStack()->redo();
        const std::vector<engine::Tensor> again = layerWeights(*m_session);
        for (size_t i = 0; i < before.size(); ++i) QVERIFY(again[i].identical(pruned[i]));
    }

    void corruptFileKeepsTheOpenModel() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("broken_model.onnx"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("this is not a protobuf \x01\x02\x03\xff");
        file.close();
        const int rows = m_table->rowCount();

        QSignalSpy failed(m_session.get(), &views::ModelSession::failed);
        QSignalSpy loaded(m_session.get(), &views::ModelSession::modelLoaded);
        m_session->openModel(path);
        QVERIFY(failed.wait(kTimeoutMs));
        const QString message = failed.front().front().toString();
        QVERIFY2(message.contains(QStringLiteral("broken_model.onnx")), qPrintable(message));
        QCOMPARE(loaded.count(), 0);
        QVERIFY(m_session->hasModel());
        QCOMPARE(m_session->source(), QString::fromLatin1(kModel));
        QCOMPARE(m_table->rowCount(), rows);
    }

    void plabOpensWithItsOwnPruning() {
        auto plan = engine::prune::presetPlan("patdnn-8");
        QVERIFY(plan.ok());
        auto pruned = engine::prune::applyPlan(m_session->originalGraph(), plan.value());
        QVERIFY(pruned.ok());
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("face-patdnn8.plab"));
        QVERIFY(engine::prune::savePlabFile(pruned.value(), path.toStdString()).ok());

        QSignalSpy loaded(m_session.get(), &views::ModelSession::modelLoaded);
        m_session->openModel(path);
        QVERIFY(loaded.wait(kTimeoutMs));
        QVERIFY(m_session->currentPlan() == plan.value());
        const engine::prune::ModelStats stats = engine::prune::modelStats(pruned.value());
        for (int r = 0; r < m_table->rowCount(); ++r) {
            QCOMPARE(m_table->index(r, LayerTableModel::Scheme)
                         .data(LayerTableModel::kSortRole)
                         .toString(),
                     QString::fromStdString(stats.layers[static_cast<size_t>(r)].scheme));
        }
        // Nothing to reset to: the .plab as opened is the baseline.
        m_session->resetPlan();
        QVERIFY(!m_session->undoStack()->canUndo());
    }

  private:
    std::unique_ptr<views::ModelSession> m_session;
    std::unique_ptr<LayerTableModel> m_table;
    std::unique_ptr<QAbstractItemModelTester> m_tester;
};

QTEST_GUILESS_MAIN(TestModelSession)
#include "tst_model_session.moc"
