// Every lesson in lessons/, end to end, on the real window: for each step its checks fail before
// "Show me", Show me runs (the player's own call, on the lesson's "test" budget), and the checks
// pass after; the whole lesson within its stated minutes. One row per lesson folder, so a new
// lesson is tested without a new test (CMake adds a ctest per lesson: `tst_lessons lesson:<id>`).
// A lesson that needs what this machine lacks (a model not downloaded, a data set, libtorch)
// skips, naming it. Offscreen.
#include <QDir>
#include <QElapsedTimer>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <cstdio>
#include <filesystem>

#include "app/gui/lesson_bridge.h"
#include "app/gui/main_window.h"
#include "app/gui/retrainer.h"
#include "engine/lessons/lesson.h"
#include "engine/live/frame_source.h"
#include "engine/train/data.h"
#include "plugins/model-files/model_loader.h"
#include "tests/test_cache.h"
#include "views/common/engine_text.h"
#include "views/lessons/lesson_player.h"
#include "views/train/retrain_panel.h"

using namespace prunelab;
namespace lessons = engine::lessons;

namespace {

// The lessons under test: $PRUNELAB_LESSONS (ctest sets it to the source tree's), else where
// the app finds them.
std::string lessonsRoot() {
    return lessons::defaultLessonsRoot();
}

// What `lesson` needs that this machine lacks, in words; empty when it has everything.
QString missingFor(const lessons::Lesson& lesson) {
    auto catalog = plugins::bundledCatalog();
    for (const lessons::Step& step : lesson.steps) {
        if (!step.showMe) continue;
        const lessons::Action& a = *step.showMe;
        if (!a.model.empty() && catalog.ok()) {
            if (const engine::CatalogEntry* entry = (*catalog)->find(a.model)) {
                for (const std::string& file : entry->files) {
                    const std::string path = testing::cacheDir() + "/" + file;
                    if (!std::filesystem::exists(path))
                        return QStringLiteral(
                                   "the catalog model %1 is not downloaded (%2): run "
                                   "./prunelab setup")
                            .arg(QString::fromStdString(a.model), QString::fromStdString(path));
                }
            }
        }
        if (!a.data.empty()) {
            engine::train::PictureOptions picture;
            picture.channels = 1;
            picture.height = picture.width = 28;
            auto data = engine::train::openDataset(a.data, picture, 1);
            if (!data.ok() && data.error().code == engine::ErrorCode::NotFound)
                return QStringLiteral("the data %1: %2")
                    .arg(QString::fromStdString(a.data), views::errorText(data.error()));
        }
        if (a.kind == lessons::Action::Kind::Retrain && !gui::workbenchRetrainer())
            return QStringLiteral(
                "retraining: this build has no libtorch "
                "(PRUNELAB_WITH_TORCH=OFF)");
        if (a.kind == lessons::Action::Kind::StartLive &&
            !std::filesystem::exists(testing::cacheDir() + "/video/vtest.avi"))
            return QStringLiteral(
                "the bundled video vtest.avi is not in the asset cache: run "
                "./prunelab setup");
        // The live demo takes a camera when there is one (as a class wants); a test never does.
        if (a.kind == lessons::Action::Kind::StartLive && !engine::live::listCameras().empty())
            return QStringLiteral(
                "a machine without a camera: this one has one, and the live "
                "demo would read it instead of the bundled video");
    }
    return {};
}

bool allPass(const std::vector<lessons::Check>& checks, const lessons::State& state,
             std::string* why) {
    for (const lessons::Check& check : checks) {
        const lessons::CheckResult r = lessons::evaluate(check, state);
        if (!r.passed) {
            if (why) *why = check.name + ": " + r.why;
            return false;
        }
    }
    return true;
}

QString budgetText(const lessons::Action& a) {
    QStringList parts;
    if (a.testEpochs)
        parts << QStringLiteral("epochs %1 (not %2)").arg(*a.testEpochs).arg(a.epochs);
    if (a.testFineTuneEpochs)
        parts << QStringLiteral("fine-tune epochs %1 (not %2)")
                     .arg(*a.testFineTuneEpochs)
                     .arg(a.fineTuneEpochs);
    if (a.testLimit) parts << QStringLiteral("limit %1 (not %2)").arg(*a.testLimit).arg(a.limit);
    if (a.testFrames)
        parts << QStringLiteral("frames %1 (not %2)").arg(*a.testFrames).arg(a.frames);
    return parts.join(QStringLiteral(", "));
}

}  // namespace

class TestLessons : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("PruneLabTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_lessons"));
        QVERIFY(m_dir.isValid());
    }

    void lesson_data() {
        QTest::addColumn<QString>("folder");
        const auto entries = lessons::loadLessons(lessonsRoot());
        if (entries.empty()) QSKIP("no lessons found");
        for (const lessons::LessonEntry& entry : entries) {
            const QString folder = QString::fromStdString(entry.folder);
            const QByteArray id = QFileInfo(folder).fileName().toUtf8();
            QTest::newRow(id.constData()) << folder;
        }
    }

    void lesson() {
        QFETCH(QString, folder);
        auto loaded = lessons::loadLesson(folder.toStdString());
        QVERIFY2(loaded.ok(), loaded.ok() ? "" : qPrintable(views::errorText(loaded.error())));
        const lessons::Lesson& lesson = *loaded;
        const QString missing = missingFor(lesson);
        if (!missing.isEmpty()) {
            const QString words = QStringLiteral("SKIPPED %1: it needs %2")
                                      .arg(QString::fromStdString(lesson.id), missing);
            std::fprintf(stderr, "%s\n", qPrintable(words));
            QSKIP(qPrintable(words));
        }

        gui::MainWindow window(/*interactive=*/false);
        gui::LessonBridge* bridge = window.lessons();
        views::LessonPlayer* player = bridge->player();
        player->setProgressFolder(m_dir.filePath(QString::fromStdString(lesson.id)));
        player->reload(QFileInfo(folder).absolutePath());
        window.retrainPanel()->setRunsFolder(m_dir.filePath(QStringLiteral("runs")));
        window.resize(1280, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(bridge->showLessons(QString::fromStdString(lesson.id)));

        const qint64 budgetMs = qint64(lesson.minutes) * 60'000;
        QElapsedTimer clock;
        clock.start();
        for (size_t i = 0; i < lesson.steps.size(); ++i) {
            const lessons::Step& step = lesson.steps[i];
            const int n = static_cast<int>(i);
            const QByteArray where = QStringLiteral("%1 step %2 '%3'")
                                         .arg(QString::fromStdString(lesson.id))
                                         .arg(n + 1)
                                         .arg(QString::fromStdString(step.title))
                                         .toUtf8();
            // A step the student could pass without doing anything teaches nothing.
            if (!step.checks.empty()) {
                QVERIFY2(!allPass(step.checks, bridge->state(), nullptr),
                         (where + ": its checks pass before Show me").constData());
            }
            if (step.showMe) {
                const QString budget = budgetText(*step.showMe);
                if (!budget.isEmpty())
                    qInfo("%s: Show me on the lesson's test budget: %s", where.constData(),
                          qPrintable(budget));
                const engine::Status started = player->showMe(n, /*testBudget=*/true);
                QVERIFY2(started.ok(),
                         (where + ": Show me refused: " +
                          (started.ok() ? QString() : views::errorText(started.error())).toUtf8())
                             .constData());
            } else {
                player->setCurrentStep(n);
            }
            // Whatever is left of the lesson's minutes, and never less than a minute to notice.
            const int left = static_cast<int>(std::max<qint64>(60'000, budgetMs - clock.elapsed()));
            std::string why;
            QTRY_VERIFY2_WITH_TIMEOUT(
                allPass(step.checks, bridge->state(), &why),
                (where + ": after Show me: " + QByteArray::fromStdString(why)).constData(), left);
            QTRY_VERIFY2_WITH_TIMEOUT(player->mark(n) == lessons::Mark::Done,
                                      (where + ": the player did not tick it").constData(), 5'000);
            qInfo("%s: done at %.1f s", where.constData(), clock.elapsed() / 1000.0);
        }
        QVERIFY2(clock.elapsed() <= budgetMs,
                 qPrintable(QStringLiteral("%1 took %2 s, more than its %3 minutes")
                                .arg(QString::fromStdString(lesson.id))
                                .arg(clock.elapsed() / 1000.0, 0, 'f', 1)
                                .arg(lesson.minutes)));
    }

  private:
    QTemporaryDir m_dir;
};

QTEST_MAIN(TestLessons)
#include "tst_lessons.moc"
