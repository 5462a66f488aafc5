// The workbench window on BlazeFace (face-front): selecting a row names the layer for other
// views, and a bad file leaves the window and the open model as they were.
#include <QFile>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>

#include "app/gui/main_window.h"
#include "views/model/layer_table_model.h"
#include "views/session/model_session.h"

using namespace prunelab;

class TestMainWindow : public QObject {
    Q_OBJECT

  private slots:
    void selectionAndBadFile() {
        if (!std::filesystem::exists(PRUNELAB_CACHE_DIR "/models/blazeface")) {
            QSKIP("face-front (BlazeFace) is not in the asset cache " PRUNELAB_CACHE_DIR
                  ": run ./prunelab setup");
        }
        gui::MainWindow window(/*interactive=*/false);
        QSignalSpy loaded(window.session(), &views::ModelSession::modelLoaded);
        window.openModel(QStringLiteral("face-front"));
        QVERIFY(loaded.wait(60'000));

        auto* table = qobject_cast<QTableView*>(window.namedView(QStringLiteral("layers")));
        QVERIFY(table);
        QCOMPARE(table->model()->rowCount(), static_cast<int>(window.session()->layers().size()));
        QSignalSpy selected(&window, &gui::MainWindow::layerSelected);
        table->selectRow(2);
        QCOMPARE(selected.count(), 1);
        QCOMPARE(selected.front().at(0).toInt(), 2);
        QCOMPARE(selected.front().at(1).toString(),
                 QString::fromStdString(window.session()->layers()[2].name));

        QTemporaryDir dir;
        const QString bad = dir.filePath(QStringLiteral("bad.param"));
        QFile file(bad);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("7767517\nnot a layer count\n");
        file.close();
        QSignalSpy failed(window.session(), &views::ModelSession::failed);
        window.openModel(bad);
        QVERIFY(failed.wait(60'000));
        QVERIFY2(failed.front().front().toString().contains(QStringLiteral("bad.param")),
                 qPrintable(failed.front().front().toString()));
        QCOMPARE(window.session()->source(), QStringLiteral("face-front"));
        QCOMPARE(table->model()->rowCount(), static_cast<int>(window.session()->layers().size()));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
