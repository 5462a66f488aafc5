// The workbench's View menu looks: the dark palette darkens the application, projector mode
// scales the starting font by 1.5 without compounding, and both survive a restart via QSettings.
#include <QApplication>
#include <QStandardPaths>
#include <QtTest>

#include "app/gui/appearance.h"

using namespace prunelab;

class TestAppearance : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        // Keeps the test's settings away from a person's own.
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("PruneLabTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_appearance"));
    }

    void paletteAndProjector() {
        const QFont base = QApplication::font();
        const double basePoints =
            base.pointSizeF() > 0 ? base.pointSizeF() : static_cast<double>(base.pixelSize());
        auto size = [] {
            const QFont f = QApplication::font();
            return f.pointSizeF() > 0 ? f.pointSizeF() : static_cast<double>(f.pixelSize());
        };

        gui::applyAppearance({.dark = true, .projector = false});
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 100);
        QVERIFY(QApplication::palette().color(QPalette::WindowText).lightness() > 150);
        QVERIFY(gui::currentAppearance().dark);

        gui::applyAppearance({.dark = true, .projector = true});
        QVERIFY(qAbs(size() - basePoints * 1.5) <= 1.0);
        // Applying again must not grow the text again.
        gui::applyAppearance({.dark = false, .projector = true});
        QVERIFY(qAbs(size() - basePoints * 1.5) <= 1.0);
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() > 150);

        gui::applyAppearance({});
        QVERIFY(qAbs(size() - basePoints) <= 0.5);
        QVERIFY(!gui::currentAppearance().projector);
    }

    void remembered() {
        gui::saveAppearance({.dark = true, .projector = true});
        gui::Appearance a = gui::loadAppearance();
        QVERIFY(a.dark && a.projector);
        gui::saveAppearance({});
        a = gui::loadAppearance();
        QVERIFY(!a.dark && !a.projector);
    }
};

QTEST_MAIN(TestAppearance)
#include "tst_appearance.moc"
