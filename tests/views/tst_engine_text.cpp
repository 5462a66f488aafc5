// Engine values as workbench text: errors keep the file they name, shapes and counts read well.
#include <QtTest>

#include "views/common/engine_text.h"

using namespace prunelab;

class TestEngineText : public QObject {
    Q_OBJECT

  private slots:
    void errorNamesFileAndProblem() {
        const engine::Error e =
            engine::makeError(engine::ErrorCode::Corrupt, "not a protobuf", "broken.onnx");
        const QString text = views::errorText(e);
        QVERIFY2(text.contains(QStringLiteral("broken.onnx")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("not a protobuf")), qPrintable(text));
    }
    void shapes() {
        QCOMPARE(views::shapeText({1, 3, 128, 128}), QStringLiteral("1x3x128x128"));
        QCOMPARE(views::shapeText({}), QStringLiteral("scalar"));
    }
    void counts() {
        QCOMPARE(views::countText(12), QStringLiteral("12"));
        QCOMPARE(views::countText(1234), QStringLiteral("1.23 k"));
        QCOMPARE(views::countText(1234567), QStringLiteral("1.23 M"));
    }
    // The big speed figure never says "slower" for noise, a stand-in or no measurement.
    void speedWords() {
        QCOMPARE(views::speedupText(0, false), QStringLiteral("Measuring…"));
        QCOMPARE(views::speedupText(0.92, true), QStringLiteral("Warming up…"));
        QCOMPARE(views::speedupText(1.8, true), QStringLiteral("1.8x faster"));
        QCOMPARE(views::speedupText(0.97, false), QStringLiteral("About the same speed"));
        QCOMPARE(views::speedupText(1.04, false), QStringLiteral("About the same speed"));
        QCOMPARE(views::speedupText(3.26, false), QStringLiteral("3.3x faster"));
        QCOMPARE(views::speedupText(0.5, false), QStringLiteral("2.0x slower"));
        // Within the lanes' noise two equal lanes read the same, not "1.6x faster".
        QCOMPARE(views::speedupText(1.6, false, 0.7), QStringLiteral("About the same speed"));
        QCOMPARE(views::speedupText(0.7, false, 0.5), QStringLiteral("About the same speed"));
        QCOMPARE(views::speedupText(1.6, false, 0.5), QStringLiteral("1.6x faster"));
        QCOMPARE(views::speedupText(0.6, false, 0.5), QStringLiteral("1.7x slower"));
        QCOMPARE(views::speedupText(1.3, true, 0.4), QStringLiteral("Warming up…"));
    }
};

QTEST_GUILESS_MAIN(TestEngineText)
#include "tst_engine_text.moc"
