// The workbench binary end to end: `prunelab face-front --view layers --screenshot X.png` renders
// offscreen, exits 0 and writes a PNG of the requested size with something drawn in it.
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>

class TestScreenshot : public QObject {
    Q_OBJECT

  private slots:
    void layersView() {
        if (!std::filesystem::exists(PRUNELAB_CACHE_DIR "/models/blazeface")) {
            QSKIP("face-front (BlazeFace) is not in the asset cache " PRUNELAB_CACHE_DIR
                  ": run ./prunelab setup");
        }
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString out = dir.filePath(QStringLiteral("layers.png"));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(PRUNELAB_GUI_BINARY),
                {QStringLiteral("face-front"), QStringLiteral("--view"), QStringLiteral("layers"),
                 QStringLiteral("--size"), QStringLiteral("1024x640"),
                 QStringLiteral("--screenshot"), out});
        QVERIFY(p.waitForFinished(120'000));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
                 p.readAllStandardError().constData());
        QImage image(out);
        QVERIFY2(!image.isNull(), qPrintable(out));
        QCOMPARE(image.size(), QSize(1024, 640));
        // A blank or single-colour picture would mean nothing was drawn.
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 7)
            for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 3, "the screenshot is (nearly) one colour");
    }

    void badModelExitsWithTheFileName() {
        QTemporaryDir dir;
        const QString model = dir.filePath(QStringLiteral("garbage.onnx"));
        QFile file(model);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("garbage");
        file.close();
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(PRUNELAB_GUI_BINARY),
                {model, QStringLiteral("--screenshot"), dir.filePath(QStringLiteral("x.png"))});
        QVERIFY(p.waitForFinished(120'000));
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromLocal8Bit(p.readAllStandardError());
        QVERIFY2(err.contains(QStringLiteral("garbage.onnx")), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestScreenshot)
#include "tst_screenshot.moc"
