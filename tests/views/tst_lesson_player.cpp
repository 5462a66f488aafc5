// The lesson player on the real window and BlazeFace (face-front), with lessons written for the
// test: the list grouped by audience with a broken lesson and its error, ticks that turn on from
// the workbench's real state, Show me through the window's own code paths (open, preset, layer,
// view, measure, a sweep on LeNet-5 and Fashion-MNIST), hints, skip, reset, progress restored by
// a new window, classroom mode's K-12 list in large type, and the PDF handout. Offscreen.
#include <QDockWidget>
#include <QFile>
#include <QImage>
#include <QListWidget>
#include <QPushButton>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QTextDocument>
#include <QTreeWidget>
#include <QtTest>
#include <filesystem>
#include <memory>

#include "app/gui/analysis_tabs.h"
#include "app/gui/lesson_bridge.h"
#include "app/gui/main_window.h"
#include "engine/lessons/lesson.h"
#include "engine/onnx/onnx_import.h"
#include "engine/prune/plan.h"
#include "engine/train/zoo.h"
#include "tests/test_cache.h"
#include "views/classroom/classroom_view.h"
#include "views/lessons/lesson_handout.h"
#include "views/lessons/lesson_player.h"
#include "views/live/live_view.h"
#include "views/session/experiment.h"
#include "views/session/model_session.h"
#include "views/speed/speed_view.h"
#include "views/start/start_page.h"

using namespace prunelab;
namespace lessons = engine::lessons;
using lessons::Mark;

namespace {

constexpr int kTimeoutMs = 180'000;  // a busy 2-core machine opening, applying, compiling

void writeFile(const QString& path, const QByteArray& text) {
    std::filesystem::create_directories(std::filesystem::path(path.toStdString()).parent_path());
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(path));
    f.write(text);
}

// A lab lesson on face-front: open (with a picture), a reading step with two hints, a preset,
// a layer, the Kernels view, the Speed view's measure.
const char* const kLabLesson = R"({
  "version": 1,
  "title": "Test lab on the face finder",
  "audience": "lab",
  "minutes": 20,
  "bigIdea": "3 - Learning",
  "steps": [
    {"title": "Open the face finder", "text": "Open **face-front**.",
     "showMe": {"do": "open-model", "model": "face-front"},
     "checks": [{"check": "model-open", "model": "face-front"}],
     "pictures": ["pic.png"]},
    {"title": "Read this", "text": "A reading step.", "hints": ["first hint", "second hint"]},
    {"title": "Apply a plan", "text": "Apply patdnn-8.",
     "showMe": {"do": "apply-preset", "preset": "patdnn-8"},
     "checks": [{"check": "plan-applied"}, {"check": "density-at-most", "value": 0.6}],
     "hints": ["The Prune panel has presets."]},
    {"title": "Pick a layer", "text": "Select layer 3.",
     "showMe": {"do": "select-layer", "layer": "#3"},
     "checks": [{"check": "layer-selected", "layer": "#3"}]},
    {"title": "See the code", "text": "Open the Kernels view.",
     "showMe": {"do": "show-view", "view": "kernels"},
     "checks": [{"check": "view-shown", "view": "kernels"}]},
    {"title": "Time it", "text": "Measure.",
     "showMe": {"do": "measure"},
     "checks": [{"check": "speed-measured"}]}
  ]
})";

const char* const kK12Lesson = R"({
  "version": 1,
  "title": "Test lesson for a class",
  "audience": "k12",
  "minutes": 10,
  "bigIdea": "1 - Perception",
  "steps": [
    {"title": "Look at the start", "text": "The start page.",
     "showMe": {"do": "show-view", "view": "start"},
     "checks": [{"check": "view-shown", "view": "start"}]}
  ]
})";

// A typo in a check's name: listed with its error, never dropped, never a crash.
const char* const kBrokenLesson = R"({
  "version": 1,
  "title": "Broken",
  "audience": "lab",
  "minutes": 5,
  "bigIdea": "3 - Learning",
  "steps": [{"title": "x", "text": "x", "checks": [{"check": "densty", "value": 0.1}]}]
})";

// A sweep on an untrained LeNet-5: the points, not their accuracy, are what is checked.
const char* const kSweepLesson = R"({
  "version": 1,
  "title": "Test sweep",
  "audience": "research",
  "minutes": 10,
  "bigIdea": "3 - Learning",
  "steps": [
    {"title": "Open LeNet", "text": "x", "showMe": {"do": "open-model", "model": "lenet5.onnx"},
     "checks": [{"check": "model-open", "model": "lenet5.onnx"}]},
    {"title": "Sweep", "text": "x",
     "showMe": {"do": "sweep", "scheme": "non-structured", "rates": [0.25, 0.5, 0.9],
                "data": "fashion-mnist", "limit": 2000, "test": {"limit": 100}},
     "checks": [{"check": "sweep-done", "points": 3}]}
  ]
})";

struct Fixture {
    QTemporaryDir dir;
    QString root, progress;
    Fixture() {
        root = dir.filePath(QStringLiteral("lessons"));
        progress = dir.filePath(QStringLiteral("progress"));
    }
};

std::unique_ptr<gui::MainWindow> makeWindow(const Fixture& f) {
    auto w = std::make_unique<gui::MainWindow>(/*interactive=*/false);
    // "Show me" measures: with the generic kernels, no host compile (tst_workbench_tabs and the
    // speed screenshot measure the generated ones).
    w->analysisTabs()->setMeasureGenerated(false);
    gui::LessonBridge* bridge = w->lessons();
    bridge->player()->setProgressFolder(f.progress);
    bridge->player()->reload(f.root);
    w->resize(1280, 800);
    w->show();
    bridge->showLessons();
    return w;
}

bool stepPasses(gui::MainWindow& w, int step) {
    return w.lessons()->player()->evaluateStep(step).passed;
}

}  // namespace

class TestLessonPlayer : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("PruneLabTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_lesson_player"));
        if (!std::filesystem::exists(testing::cacheDir() + "/models/blazeface"))
            QSKIP("BlazeFace (face-front) is not in the asset cache: run ./prunelab setup");
        QVERIFY(m_fixture.dir.isValid());
        const QString root = m_fixture.root;
        writeFile(root + QStringLiteral("/10-test-lab/lesson.json"), kLabLesson);
        writeFile(root + QStringLiteral("/10-test-lab/teacher.md"),
                  "# Goals\n\nStudents see a **pruned** layer.\n\nExpected: density 0.5.\n");
        QImage picture(40, 20, QImage::Format_RGB32);
        picture.fill(Qt::darkGreen);
        QVERIFY(picture.save(root + QStringLiteral("/10-test-lab/pic.png")));
        writeFile(root + QStringLiteral("/01-test-class/lesson.json"), kK12Lesson);
        writeFile(root + QStringLiteral("/20-test-broken/lesson.json"), kBrokenLesson);
    }

    // Grouped by audience, each with its minutes; the broken lesson listed with the check it
    // misspelt, as the window's player lists it.
    void listsLessonsAndTheBrokenOneWithItsError() {
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        const QStringList ids = player->listedIds();
        QCOMPARE(ids, (QStringList{QStringLiteral("01-test-class"), QStringLiteral("10-test-lab"),
                                   QStringLiteral("20-test-broken")}));
        QTreeWidget* list = player->lessonList();
        QCOMPARE(list->topLevelItemCount(), 3);
        QVERIFY(list->topLevelItem(0)->text(0).contains(QStringLiteral("K-12")));
        QVERIFY(list->topLevelItem(1)->text(0).contains(QStringLiteral("labs")));
        QVERIFY(
            player->listedText(QStringLiteral("10-test-lab")).contains(QStringLiteral("20 min")));
        const QString broken = player->listedText(QStringLiteral("20-test-broken"));
        QVERIFY2(broken.contains(QStringLiteral("densty")), qPrintable(broken));
        QVERIFY2(broken.contains(QStringLiteral("/steps/0/checks/0")), qPrintable(broken));
        // It does not open, and the list stays.
        QVERIFY(!player->openLesson(QStringLiteral("20-test-broken")));
        QVERIFY(!player->lesson());
        // The dock is in the View menu, and the start page's card opens it.
        QVERIFY(w->lessons()->dock()->isVisible());
        w->lessons()->dock()->hide();
        auto* open = w->startPage()->findChild<QPushButton*>(QStringLiteral("openLessons"));
        QVERIFY(open);
        open->click();
        QVERIFY(w->lessons()->dock()->isVisible());
    }

    // Every view a lesson can name is a place in the window, and the state says it is shown.
    void everyLessonViewIsAPlaceInTheWindow() {
        auto w = makeWindow(m_fixture);
        gui::LessonBridge* bridge = w->lessons();
        lessons::Lesson lesson;
        lesson.folder = m_fixture.root.toStdString();
        for (const std::string& view : lessons::viewNames()) {
            if (view == "classroom") continue;  // below, with a model open
            lessons::Action show;
            show.kind = lessons::Action::Kind::ShowView;
            show.view = view;
            const engine::Status done = bridge->perform(lesson, show, false);
            QVERIFY2(done.ok(), view.c_str());
            QCOMPARE(bridge->state().view, view);
        }
        lessons::Action bad;
        bad.kind = lessons::Action::Kind::ShowView;
        bad.view = "nowhere";
        QVERIFY(!bridge->perform(lesson, bad, false).ok());
    }

    // The ticks come from the real state, whoever changed it: here the window itself.
    void ticksTurnOnFromRealState() {
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        QVERIFY(player->openLesson(QStringLiteral("10-test-lab")));
        player->resetProgress();  // what an earlier test function left
        QCOMPARE(player->mark(0), Mark::Todo);
        QVERIFY(!stepPasses(*w, 0));
        QTRY_VERIFY(player->statusText().startsWith(QStringLiteral("Not yet")));

        w->openModel(QStringLiteral("face-front"));
        QTRY_COMPARE_WITH_TIMEOUT(player->mark(0), Mark::Done, kTimeoutMs);
        // On to the reading step, done as soon as it is on screen; it waits to be read.
        QCOMPARE(player->currentStep(), 1);
        QCOMPARE(player->mark(1), Mark::Done);
        QVERIFY(player->button(QStringLiteral("next"))->isEnabled());
        QTest::mouseClick(player->button(QStringLiteral("next")), Qt::LeftButton);
        QCOMPARE(player->currentStep(), 2);
        QCOMPARE(player->mark(2), Mark::Todo);
        // Applied from the window (as the Prune panel's Apply does), not from the lesson.
        w->experiments()->applyPlan(engine::prune::presetPlan("uniform-50").value());
        QTRY_VERIFY_WITH_TIMEOUT(w->session()->currentPlan().has_value(), kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(player->mark(2), Mark::Done, kTimeoutMs);
        QCOMPARE(player->currentStep(), 3);
        // Undo takes the plan away: a step once done stays done (the student did it).
        w->session()->resetPlan();
        QTRY_VERIFY_WITH_TIMEOUT(!w->session()->currentPlan().has_value(), kTimeoutMs);
        player->evaluateNow();
        QCOMPARE(player->mark(2), Mark::Done);
        // The state the checks read is the session's own.
        const lessons::State state = w->lessons()->state();
        QCOMPARE(state.model, std::string("face-front"));
        QCOMPARE(state.catalogId, std::string("face-front"));
        QCOMPARE(state.layers.size(), w->session()->layers().size());
        QVERIFY(!state.planApplied);
        QCOMPARE(w->experiments()->experiments().size(), size_t(1));
        QCOMPARE(state.experiments.size(), size_t(1));
        QCOMPARE(state.experiments.front().scheme, std::string("non_structured"));
    }

    // Show me through the buttons, each step failing before and ticked after; the state says
    // the preset, the layer, the view, the measure are in.
    void showMeDoesEachStep() {
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        QVERIFY(player->openLesson(QStringLiteral("10-test-lab")));
        player->resetProgress();
        QPushButton* showMe = player->button(QStringLiteral("showMe"));
        for (int step : {0, 2, 3, 4, 5}) {
            player->setCurrentStep(step);
            QVERIFY2(!stepPasses(*w, step), qPrintable(QString::number(step)));
            QVERIFY(showMe->isEnabled());
            QTest::mouseClick(showMe, Qt::LeftButton);
            QTRY_VERIFY2_WITH_TIMEOUT(player->mark(step) == Mark::Done,
                                      player->evaluateStep(step).why.c_str(), kTimeoutMs);
        }
        const lessons::State state = w->lessons()->state();
        QCOMPARE(state.planScheme, std::string("pattern"));
        QVERIFY(state.density <= 0.6);
        QCOMPARE(state.selectedLayer, w->session()->layers()[3].name);
        QCOMPARE(state.view, std::string("speed"));  // measure shows the Speed view
        QVERIFY(state.speedMeasured);
        bool timed = false;
        for (const lessons::LayerState& l : state.layers) timed = timed || l.denseMs.has_value();
        QVERIFY(timed);
        // A refusal is said with the step, not lost: no such preset.
        lessons::Lesson lesson = *player->lesson();
        lessons::Action bad;
        bad.kind = lessons::Action::Kind::ApplyPreset;
        bad.preset = "no-such-preset";
        QVERIFY(!w->lessons()->perform(lesson, bad, false).ok());
    }

    void hintsSkipAndReset() {
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        QVERIFY(player->openLesson(QStringLiteral("10-test-lab")));
        player->resetProgress();
        player->setCurrentStep(1);
        QPushButton* hint = player->button(QStringLiteral("hint"));
        QVERIFY(hint->isEnabled());
        hint->click();
        QVERIFY2(player->hintText().contains(QStringLiteral("first hint")),
                 qPrintable(player->hintText()));
        hint->click();
        QVERIFY(player->hintText().contains(QStringLiteral("second hint")));
        hint->click();
        QVERIFY(player->hintText().contains(QStringLiteral("first hint")));
        // Step 0 has no hint: the button says so by being off.
        player->setCurrentStep(0);
        QVERIFY(!hint->isEnabled());

        // Skipped: marked so, the next step on screen, and it stays skipped when its checks
        // would pass later.
        QTest::mouseClick(player->button(QStringLiteral("skip")), Qt::LeftButton);
        QCOMPARE(player->mark(0), Mark::Skipped);
        QCOMPARE(player->currentStep(), 1);
        w->openModel(QStringLiteral("face-front"));
        QTRY_VERIFY_WITH_TIMEOUT(w->session()->hasModel(), kTimeoutMs);
        player->evaluateNow();
        QCOMPARE(player->mark(0), Mark::Skipped);
        QVERIFY(QFile::exists(player->progressFile(QStringLiteral("10-test-lab"))));

        QTest::mouseClick(player->button(QStringLiteral("reset")), Qt::LeftButton);
        // From step 1 again: the model is open, so it is done at once and the reading step
        // after it is on screen; the others are not done.
        QCOMPARE(player->mark(0), Mark::Done);
        QCOMPARE(player->currentStep(), 1);
        for (int i = 2; i < 6; ++i) QCOMPARE(player->mark(i), Mark::Todo);
    }

    // A new window (as after a restart) reads the saved marks and the step on screen.
    void progressIsRestoredAfterARestart() {
        std::vector<Mark> marks;
        int current = 0;
        {
            auto w = makeWindow(m_fixture);
            views::LessonPlayer* player = w->lessons()->player();
            QVERIFY(player->openLesson(QStringLiteral("10-test-lab")));
            player->resetProgress();
            QVERIFY(player->showMe(0).ok());
            QTRY_COMPARE_WITH_TIMEOUT(player->mark(0), Mark::Done, kTimeoutMs);
            player->setCurrentStep(2);
            player->skipStep();
            QCOMPARE(player->currentStep(), 3);
            marks = player->progress().marks;
            current = player->currentStep();
        }
        QCOMPARE(marks[0], Mark::Done);
        QCOMPARE(marks[2], Mark::Skipped);
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        // The list says how far it got before it is opened.
        const QString listed = player->listedText(QStringLiteral("10-test-lab"));
        QVERIFY2(listed.contains(QStringLiteral("3 of 6 steps done")), qPrintable(listed));
        QVERIFY(player->openLesson(QStringLiteral("10-test-lab")));
        QCOMPARE(player->progress().marks, marks);
        QCOMPARE(player->currentStep(), current);
        // A damaged progress file starts the lesson afresh instead of failing.
        writeFile(player->progressFile(QStringLiteral("10-test-lab")), "{not json");
        player->closeLesson();
        QVERIFY(player->openLesson(QStringLiteral("10-test-lab")));
        QCOMPARE(player->currentStep(), 0);
        QCOMPARE(player->mark(2), Mark::Todo);
    }

    // Markdown with the step's picture from the lesson folder, and what Show me will do.
    void stepTextIsMarkdownWithPictures() {
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        QVERIFY(player->openLesson(QStringLiteral("10-test-lab")));
        player->setCurrentStep(0);
        QVERIFY(player->stepMarkdown().contains(QStringLiteral("**face-front**")));
        QTextBrowser* text = player->stepBrowser();
        QVERIFY(!text->toPlainText().contains(QStringLiteral("**")));  // rendered, not raw
        QVERIFY(text->toPlainText().contains(QStringLiteral("Opens the model face-front")));
        const QVariant picture =
            text->loadResource(QTextDocument::ImageResource, QUrl(QStringLiteral("pic.png")));
        QVERIFY(picture.isValid());
    }

    // K-12 lessons only, larger, and no handout (it asks where to write a file).
    void classroomModeShowsK12LessonsInLargeType() {
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        views::LiveView* room = w->classroomView()->liveView();
        room->setGenerated(false);
        room->setMeasured(false);
        room->setThreads(1);
        w->openModel(QStringLiteral("face-front"));
        QTRY_VERIFY_WITH_TIMEOUT(w->session()->hasModel(), kTimeoutMs);
        const qreal before = QFontInfo(player->font()).pointSizeF();
        w->setClassroomMode(true);
        QCOMPARE(player->listedIds(), QStringList{QStringLiteral("01-test-class")});
        QVERIFY2(QFontInfo(player->font()).pointSizeF() > before * 1.2,
                 qPrintable(QStringLiteral("%1 -> %2")
                                .arg(before)
                                .arg(QFontInfo(player->font()).pointSizeF())));
        QVERIFY(!player->openLesson(QStringLiteral("10-test-lab")));
        QVERIFY(player->openLesson(QStringLiteral("01-test-class")));
        QVERIFY(!player->button(QStringLiteral("handout"))->isVisibleTo(player));
        QCOMPARE(w->lessons()->state().view, std::string("classroom"));
        // The dock's key works with the menu bar hidden.
        QVERIFY(w->actions().contains(w->lessons()->dock()->toggleViewAction()));
        w->setClassroomMode(false);
        QCOMPARE(player->listedIds().size(), 3);
        QVERIFY(QFontInfo(player->font()).pointSizeF() < before * 1.1);
    }

    void handoutHasTheStepsAndTheTeacherNotes() {
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        QVERIFY(player->openLesson(QStringLiteral("10-test-lab")));
        auto doc = views::lessonHandout(*player->lesson());
        const QString text = doc->toPlainText();
        for (const char* expected : {"Test lab on the face finder", "Open the face finder",
                                     "Applies the preset plan patdnn-8", "first hint",
                                     "Teacher notes", "Expected: density 0.5."})
            QVERIFY2(text.contains(QString::fromUtf8(expected)), expected);
        const QString pdf = m_fixture.dir.filePath(QStringLiteral("handout.pdf"));
        const QString error = player->printHandout(pdf);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QFile file(pdf);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.read(5) == "%PDF-");
        QVERIFY(file.size() > 2000);
        // A folder that is not there is an error naming the file, not a crash.
        const QString nowhere = m_fixture.dir.filePath(QStringLiteral("no/such/dir/x.pdf"));
        QVERIFY(player->printHandout(nowhere).contains(nowhere));
    }

    // The sweep Show me: the whole model pruned at each rate, accuracy on Fashion-MNIST's test
    // split, off the UI thread, points as they come.
    void sweepRecordsItsPoints() {
        if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
            QSKIP("Fashion-MNIST is not installed (the dataset-fashion-mnist package)");
        const QString folder = m_fixture.dir.filePath(QStringLiteral("sweep/30-test-sweep"));
        writeFile(folder + QStringLiteral("/lesson.json"), kSweepLesson);
        auto lenet = engine::train::buildLenet5(7);
        QVERIFY(lenet.ok());
        QVERIFY(
            engine::exportOnnxFile(*lenet, (folder + QStringLiteral("/lenet5.onnx")).toStdString())
                .ok());
        auto w = makeWindow(m_fixture);
        views::LessonPlayer* player = w->lessons()->player();
        player->reload(m_fixture.dir.filePath(QStringLiteral("sweep")));
        QVERIFY(player->openLesson(QStringLiteral("30-test-sweep")));
        QVERIFY(player->showMe(0, true).ok());
        QTRY_COMPARE_WITH_TIMEOUT(player->mark(0), Mark::Done, kTimeoutMs);
        QVERIFY(!stepPasses(*w, 1));
        QVERIFY(player->showMe(1, true).ok());
        QTRY_VERIFY_WITH_TIMEOUT(w->lessons()->sweepRunning(), 10'000);
        QTRY_COMPARE_WITH_TIMEOUT(player->mark(1), Mark::Done, kTimeoutMs);
        const auto& points = w->lessons()->sweepPoints();
        QCOMPARE(points.size(), size_t(3));
        for (size_t i = 0; i < points.size(); ++i) {
            QCOMPARE(points[i].scheme, std::string("non_structured"));
            QVERIFY(points[i].accuracy >= 0 && points[i].accuracy <= 1);
        }
        QCOMPARE(points[2].rate, 0.9);
        QVERIFY(player->statusText().contains(QStringLiteral("90 % removed")));
        // Data without labels cannot say how many are right: said, not crashed.
        lessons::Action unlabelled = *player->lesson()->steps[1].showMe;
        unlabelled.data = "frames:" + testing::cacheDir() + "/video/vtest.avi";
        QVERIFY(w->lessons()->perform(*player->lesson(), unlabelled, true).ok());
        QSignalSpy failed(w->lessons(), &gui::LessonBridge::failed);
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), kTimeoutMs);
    }

  private:
    Fixture m_fixture;
};

QTEST_MAIN(TestLessonPlayer)
#include "tst_lesson_player.moc"
