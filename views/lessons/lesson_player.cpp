// The lesson player (see lesson_player.h).
#include "views/lessons/lesson_player.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QMap>
#include <QMessageBox>
#include <QPainter>
#include <QPainterPath>
#include <QPushButton>
#include <QSaveFile>
#include <QSplitter>
#include <QStackedWidget>
#include <QTextBrowser>
#include <QTimer>
#include <QTreeWidget>
#include <QUrl>
#include <QVBoxLayout>
#include <algorithm>

#include "views/common/engine_text.h"
#include "views/lessons/lesson_handout.h"

namespace prunelab::views {

namespace lessons = engine::lessons;

namespace {

// Often enough that a tick follows a click at once; rarely enough that a running live demo's
// frames (30 a second) cost one evaluation in a few.
constexpr int kEvaluateEveryMs = 200;

constexpr int kIdRole = Qt::UserRole + 1;

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

QString groupTitle(lessons::Audience audience) {
    switch (audience) {
        case lessons::Audience::K12:
            return QObject::tr("For school classes (K-12)");
        case lessons::Audience::Lab:
            return QObject::tr("Student labs");
        case lessons::Audience::Research:
            return QObject::tr("Research");
    }
    return {};
}

QString audienceShort(lessons::Audience audience) {
    switch (audience) {
        case lessons::Audience::K12:
            return QObject::tr("K-12");
        case lessons::Audience::Lab:
            return QObject::tr("Lab");
        case lessons::Audience::Research:
            return QObject::tr("Research");
    }
    return {};
}

// The classroom's large type (views/classroom): one and a half times the workbench's, within
// sizes that still fit a 1024x768 projector.
QFont classroomFont(QFont font) {
    if (font.pointSizeF() > 0) {
        font.setPointSizeF(std::clamp(font.pointSizeF() * 1.5, 14.0, 18.0));
    } else {
        font.setPixelSize(static_cast<int>(std::clamp(font.pixelSize() * 1.5, 19.0, 24.0)));
    }
    return font;
}

// The tick beside a step: a green disc with a white tick when done, a grey disc with a dash
// when skipped, an empty ring (bolder for the step on screen) when not yet.
QIcon markIcon(lessons::Mark mark, bool current, const QPalette& palette, int size) {
    QPixmap pixmap(size * 2, size * 2);
    pixmap.setDevicePixelRatio(2);
    pixmap.fill(Qt::transparent);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF disc(1.5, 1.5, size - 3, size - 3);
    switch (mark) {
        case lessons::Mark::Done: {
            p.setPen(Qt::NoPen);
            p.setBrush(QColor(46, 160, 67));
            p.drawEllipse(disc);
            QPainterPath tick;
            tick.moveTo(size * 0.28, size * 0.52);
            tick.lineTo(size * 0.44, size * 0.68);
            tick.lineTo(size * 0.74, size * 0.34);
            p.setPen(QPen(Qt::white, std::max(1.5, size / 8.0), Qt::SolidLine, Qt::RoundCap,
                          Qt::RoundJoin));
            p.setBrush(Qt::NoBrush);
            p.drawPath(tick);
            break;
        }
        case lessons::Mark::Skipped:
            p.setPen(Qt::NoPen);
            p.setBrush(palette.color(QPalette::Mid));
            p.drawEllipse(disc);
            p.setPen(QPen(palette.color(QPalette::Base), std::max(1.5, size / 8.0), Qt::SolidLine,
                          Qt::RoundCap));
            p.drawLine(QPointF(size * 0.3, size * 0.5), QPointF(size * 0.7, size * 0.5));
            break;
        case lessons::Mark::Todo:
            // The step on screen is the selected row: its ring in the text colour, bolder.
            p.setPen(QPen(palette.color(current ? QPalette::Text : QPalette::Mid),
                          std::max(1.5, size / (current ? 6.0 : 9.0))));
            p.setBrush(Qt::NoBrush);
            p.drawEllipse(disc);
            break;
    }
    return QIcon(pixmap);
}

QLabel* wrapped(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

QPushButton* makeButton(const QString& text, const QString& name, const QString& tip,
                        QWidget* parent) {
    auto* b = new QPushButton(text, parent);
    b->setObjectName(name);
    b->setToolTip(tip);
    return b;
}

}  // namespace

LessonPlayer::LessonPlayer(LessonSetup setup, QWidget* parent)
    : QWidget(parent), m_setup(std::move(setup)), m_debounce(new QTimer(this)) {
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kEvaluateEveryMs);
    connect(m_debounce, &QTimer::timeout, this, &LessonPlayer::evaluateNow);
    buildUi();
    m_baseFont = font();
    reload();
}

void LessonPlayer::buildUi() {
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(4, 4, 4, 4);
    m_pages = new QStackedWidget(this);
    outer->addWidget(m_pages);

    // The list of lessons.
    auto* listPage = new QWidget(m_pages);
    auto* listLayout = new QVBoxLayout(listPage);
    listLayout->setContentsMargins(0, 0, 0, 0);
    m_list = new QTreeWidget(listPage);
    m_list->setObjectName(QStringLiteral("lessonList"));
    m_list->setHeaderHidden(true);
    m_list->setColumnCount(1);
    m_list->setWordWrap(true);
    m_list->setUniformRowHeights(false);
    m_list->setTextElideMode(Qt::ElideNone);
    m_list->setRootIsDecorated(false);
    m_list->setIndentation(8);
    m_list->header()->setSectionResizeMode(QHeaderView::Stretch);
    listLayout->addWidget(m_list, 1);
    m_listNote = wrapped(listPage);
    listLayout->addWidget(m_listNote);
    auto* open = makeButton(tr("Open the lesson"), QStringLiteral("open"),
                            tr("Open the lesson selected above (or double-click it)"), listPage);
    listLayout->addWidget(open);
    m_pages->addWidget(listPage);
    auto openSelected = [this] {
        const QTreeWidgetItem* item = m_list->currentItem();
        if (item && !item->data(0, kIdRole).toString().isEmpty())
            openLesson(item->data(0, kIdRole).toString());
    };
    connect(open, &QPushButton::clicked, this, openSelected);
    connect(m_list, &QTreeWidget::itemActivated, this, openSelected);

    // One lesson: its steps above, the step on screen below.
    auto* lessonPage = new QWidget(m_pages);
    auto* lessonLayout = new QVBoxLayout(lessonPage);
    lessonLayout->setContentsMargins(0, 0, 0, 0);
    auto* back =
        makeButton(tr("◀ All lessons"), QStringLiteral("lessons"),
                   tr("Back to the list of lessons (this one keeps its progress)"), lessonPage);
    auto* backRow = new QHBoxLayout;
    backRow->addWidget(back);
    backRow->addStretch(1);
    lessonLayout->addLayout(backRow);
    m_title = wrapped(lessonPage);
    m_title->setObjectName(QStringLiteral("lessonTitle"));
    lessonLayout->addWidget(m_title);
    m_about = wrapped(lessonPage);
    m_about->setForegroundRole(QPalette::PlaceholderText);
    lessonLayout->addWidget(m_about);

    auto* split = new QSplitter(Qt::Vertical, lessonPage);
    split->setChildrenCollapsible(false);
    m_steps = new QListWidget(split);
    m_steps->setObjectName(QStringLiteral("steps"));
    m_steps->setWordWrap(true);
    m_steps->setTextElideMode(Qt::ElideNone);
    split->addWidget(m_steps);
    auto* stepPane = new QWidget(split);
    auto* stepLayout = new QVBoxLayout(stepPane);
    stepLayout->setContentsMargins(0, 0, 0, 0);
    m_text = new QTextBrowser(stepPane);
    m_text->setObjectName(QStringLiteral("stepText"));
    m_text->setOpenExternalLinks(true);
    stepLayout->addWidget(m_text, 1);
    m_hintLabel = wrapped(stepPane);
    m_hintLabel->setObjectName(QStringLiteral("hintText"));
    m_hintLabel->hide();
    stepLayout->addWidget(m_hintLabel);
    m_status = wrapped(stepPane);
    m_status->setTextFormat(Qt::RichText);
    m_status->setObjectName(QStringLiteral("stepStatus"));
    stepLayout->addWidget(m_status);
    split->addWidget(stepPane);
    // Room for six or so steps; the step's text takes the rest (and scrolls).
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    lessonLayout->addWidget(split, 1);

    auto* doRow = new QHBoxLayout;
    auto* showMeButton =
        makeButton(tr("Show me"), QStringLiteral("showMe"),
                   tr("Let PruneLab do this step for you, with the workbench's own "
                      "buttons"),
                   lessonPage);
    auto* hint =
        makeButton(tr("Hint"), QStringLiteral("hint"), tr("A hint for this step"), lessonPage);
    auto* skip =
        makeButton(tr("Skip"), QStringLiteral("skip"),
                   tr("Go on without doing this step; it stays marked as skipped"), lessonPage);
    doRow->addWidget(showMeButton);
    doRow->addWidget(hint);
    doRow->addWidget(skip);
    lessonLayout->addLayout(doRow);
    auto* moveRow = new QHBoxLayout;
    auto* previous =
        makeButton(tr("◀ Back"), QStringLiteral("previous"), tr("The step before"), lessonPage);
    auto* next = makeButton(tr("Next ▶"), QStringLiteral("next"), tr("The step after"), lessonPage);
    moveRow->addWidget(previous);
    moveRow->addWidget(next);
    lessonLayout->addLayout(moveRow);
    auto* lessonRow = new QHBoxLayout;
    auto* reset =
        makeButton(tr("Reset"), QStringLiteral("reset"),
                   tr("Forget this lesson's progress and start again from step 1"), lessonPage);
    auto* handout =
        makeButton(tr("Print handout…"), QStringLiteral("handout"),
                   tr("Write this lesson and its teacher notes as a PDF to print"), lessonPage);
    lessonRow->addWidget(reset);
    lessonRow->addWidget(handout);
    lessonLayout->addLayout(lessonRow);
    m_pages->addWidget(lessonPage);

    connect(back, &QPushButton::clicked, this, &LessonPlayer::closeLesson);
    connect(m_steps, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row != m_progress.current) setCurrentStep(row);
    });
    // A refusal shows with the step (showMe keeps it): nothing more to do with it here.
    connect(showMeButton, &QPushButton::clicked, this,
            [this] { static_cast<void>(showMe(m_progress.current)); });
    connect(hint, &QPushButton::clicked, this, &LessonPlayer::showHint);
    connect(skip, &QPushButton::clicked, this, &LessonPlayer::skipStep);
    connect(previous, &QPushButton::clicked, this,
            [this] { setCurrentStep(m_progress.current - 1); });
    connect(next, &QPushButton::clicked, this, [this] { setCurrentStep(m_progress.current + 1); });
    connect(reset, &QPushButton::clicked, this, &LessonPlayer::resetProgress);
    connect(handout, &QPushButton::clicked, this, &LessonPlayer::handoutInteractive);
}

QPushButton* LessonPlayer::button(const QString& name) const {
    return findChild<QPushButton*>(name);
}

// ---- The list ----

void LessonPlayer::reload(const QString& root) {
    if (!root.isEmpty()) m_setup.root = root;
    closeLesson();
    m_entries = m_setup.root.isEmpty() ? std::vector<lessons::LessonEntry>{}
                                       : lessons::loadLessons(m_setup.root.toStdString());
    fillList();
    emit lessonsRead();
}

QString LessonPlayer::progressFile(const QString& id) const {
    if (m_setup.progressFolder.isEmpty()) return {};
    return QDir(m_setup.progressFolder).filePath(id + QStringLiteral(".json"));
}

QStringList LessonPlayer::listedIds() const {
    QStringList ids;
    for (int g = 0; g < m_list->topLevelItemCount(); ++g) {
        const QTreeWidgetItem* group = m_list->topLevelItem(g);
        for (int i = 0; i < group->childCount(); ++i)
            ids << group->child(i)->data(0, kIdRole).toString();
    }
    return ids;
}

QString LessonPlayer::listedText(const QString& id) const {
    for (int g = 0; g < m_list->topLevelItemCount(); ++g) {
        const QTreeWidgetItem* group = m_list->topLevelItem(g);
        for (int i = 0; i < group->childCount(); ++i)
            if (group->child(i)->data(0, kIdRole).toString() == id) return group->child(i)->text(0);
    }
    return {};
}

void LessonPlayer::fillList() {
    m_list->clear();
    QMap<int, QTreeWidgetItem*> groups;  // by audience; broken lessons last
    constexpr int kBroken = 100;
    auto groupFor = [&groups](int key, const QString& title) {
        if (!groups.contains(key)) {
            auto* group = new QTreeWidgetItem(QStringList{title});
            QFont bold = group->font(0);
            bold.setBold(true);
            group->setFont(0, bold);
            group->setFlags(Qt::ItemIsEnabled);
            groups.insert(key, group);
        }
        return groups.value(key);
    };
    int broken = 0;
    for (const lessons::LessonEntry& entry : m_entries) {
        const QString folderName = QFileInfo(q(entry.folder)).fileName();
        if (!entry.lesson) {
            ++broken;
            if (m_classroom) continue;  // a class needs no errors; the workbench shows them
            auto* item = new QTreeWidgetItem(groupFor(kBroken, tr("Could not be read")));
            const QString error = entry.error ? errorText(*entry.error) : tr("unknown error");
            item->setText(0, tr("%1 (broken)\n%2").arg(folderName, error));
            item->setToolTip(0, error);
            item->setForeground(0, QColor(200, 40, 40));
            item->setData(0, kIdRole, folderName);
            item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
            continue;
        }
        const lessons::Lesson& lesson = *entry.lesson;
        if (m_classroom && lesson.audience != lessons::Audience::K12) continue;
        auto* item = new QTreeWidgetItem(
            groupFor(static_cast<int>(lesson.audience), groupTitle(lesson.audience)));
        const QString id = q(lesson.id);
        QString second = tr("%1 min").arg(lesson.minutes);
        // The saved progress, read as the player reads it when the lesson opens.
        QFile saved(progressFile(id));
        if (!saved.fileName().isEmpty() && saved.open(QIODevice::ReadOnly)) {
            auto progress = lessons::progressFromJson(saved.readAll().toStdString(), lesson);
            if (progress.ok()) {
                const auto done =
                    std::count_if(progress->marks.begin(), progress->marks.end(),
                                  [](lessons::Mark m) { return m != lessons::Mark::Todo; });
                second += tr(" · %1 of %2 steps done").arg(done).arg(lesson.steps.size());
            }
        }
        item->setText(0, QStringLiteral("%1\n%2").arg(q(lesson.title), second));
        item->setToolTip(0, tr("%1: %2 steps, AI4K12 big idea %3")
                                .arg(id)
                                .arg(lesson.steps.size())
                                .arg(q(lesson.bigIdea)));
        item->setData(0, kIdRole, id);
    }
    for (QTreeWidgetItem* group : groups) {
        m_list->addTopLevelItem(group);
        group->setExpanded(true);
    }
    if (m_entries.empty()) {
        m_listNote->setText(tr("No lessons in %1.").arg(m_setup.root));
    } else if (m_classroom) {
        m_listNote->setText(tr("Lessons for school classes. Pick one and press Open."));
    } else if (broken > 0) {
        m_listNote->setText(tr("%n lesson(s) could not be read: the list says why.", "", broken));
    } else {
        m_listNote->setText(tr("Pick a lesson and press Open (or double-click it)."));
    }
}

// ---- One lesson ----

const lessons::Lesson* LessonPlayer::lesson() const {
    if (m_open < 0 || m_open >= static_cast<int>(m_entries.size())) return nullptr;
    const auto& entry = m_entries[static_cast<size_t>(m_open)];
    return entry.lesson ? &*entry.lesson : nullptr;
}

bool LessonPlayer::openLesson(const QString& id) {
    for (size_t i = 0; i < m_entries.size(); ++i) {
        const auto& entry = m_entries[i];
        if (!entry.lesson || q(entry.lesson->id) != id) continue;
        if (m_classroom && entry.lesson->audience != lessons::Audience::K12) return false;
        m_open = static_cast<int>(i);
        loadProgress();
        showLesson();
        emit lessonOpened(id);
        evaluateNow();
        return true;
    }
    return false;
}

void LessonPlayer::closeLesson() {
    m_open = -1;
    m_progress = {};
    m_debounce->stop();
    m_pages->setCurrentIndex(0);
    // The list shows each lesson's progress: this one's may have changed.
    if (!m_entries.empty()) fillList();
}

void LessonPlayer::loadProgress() {
    const lessons::Lesson* l = lesson();
    m_progress = {};
    m_progress.lessonId = l->id;
    m_progress.marks.assign(l->steps.size(), lessons::Mark::Todo);
    QFile saved(progressFile(q(l->id)));
    if (saved.fileName().isEmpty() || !saved.open(QIODevice::ReadOnly)) return;
    auto progress = lessons::progressFromJson(saved.readAll().toStdString(), *l);
    // A file from an older version of the lesson (steps added or removed) starts it afresh.
    if (progress.ok() && progress->marks.size() == l->steps.size()) m_progress = *progress;
    m_progress.current =
        std::clamp(m_progress.current, 0, std::max(0, static_cast<int>(l->steps.size()) - 1));
}

void LessonPlayer::saveProgress() {
    const lessons::Lesson* l = lesson();
    const QString path = l ? progressFile(q(l->id)) : QString();
    if (path.isEmpty()) return;
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile file(path);
    const std::string text = lessons::progressToJson(m_progress);
    // Progress is a convenience: a full disk costs the ticks, never the lesson.
    if (file.open(QIODevice::WriteOnly)) {
        file.write(text.data(), static_cast<qint64>(text.size()));
        file.commit();
    }
}

void LessonPlayer::showLesson() {
    const lessons::Lesson* l = lesson();
    if (!l) return;
    m_title->setText(q(l->title));
    QFont titleFont = font();
    titleFont.setBold(true);
    if (titleFont.pointSizeF() > 0) titleFont.setPointSizeF(titleFont.pointSizeF() * 1.25);
    m_title->setFont(titleFont);
    m_about->setText(tr("%1 · %2 min · big idea %3")
                         .arg(audienceShort(l->audience))
                         .arg(l->minutes)
                         .arg(q(l->bigIdea)));
    m_text->document()->setBaseUrl(QUrl::fromLocalFile(q(l->folder) + QLatin1Char('/')));
    m_text->setSearchPaths({q(l->folder)});
    m_steps->clear();
    for (size_t i = 0; i < l->steps.size(); ++i)
        m_steps->addItem(QStringLiteral("%1. %2").arg(i + 1).arg(q(l->steps[i].title)));
    button(QStringLiteral("handout"))->setVisible(!m_classroom);
    m_pages->setCurrentIndex(1);
    showStep();
}

void LessonPlayer::setCurrentStep(int step) {
    const lessons::Lesson* l = lesson();
    if (!l || step < 0 || step >= static_cast<int>(l->steps.size())) return;
    if (step == m_progress.current) return;
    m_progress.current = step;
    m_hint = -1;
    m_showMeError.clear();
    saveProgress();
    showStep();
    emit progressChanged();
    evaluateNow();
}

lessons::Mark LessonPlayer::mark(int step) const {
    if (step < 0 || step >= static_cast<int>(m_progress.marks.size())) return lessons::Mark::Todo;
    return m_progress.marks[static_cast<size_t>(step)];
}

QString LessonPlayer::stepMarkdown() const {
    const lessons::Lesson* l = lesson();
    if (!l || l->steps.empty()) return {};
    const lessons::Step& step = l->steps[static_cast<size_t>(m_progress.current)];
    QString md = QStringLiteral("### %1. %2\n\n%3\n")
                     .arg(m_progress.current + 1)
                     .arg(q(step.title), q(step.text));
    for (const std::string& picture : step.pictures)
        md += QStringLiteral("\n![%1](%1)\n").arg(q(picture));
    if (step.showMe) md += tr("\n*Show me:* %1\n").arg(actionText(*step.showMe));
    return md;
}

QString LessonPlayer::hintText() const {
    return m_hintLabel->isVisible() || m_hint >= 0 ? m_hintLabel->text() : QString();
}

QString LessonPlayer::statusText() const {
    return m_statusText;
}

void LessonPlayer::showStep() {
    const lessons::Lesson* l = lesson();
    if (!l) return;
    const int current = m_progress.current;
    const bool hasSteps = !l->steps.empty();
    {
        const QSignalBlocker block(m_steps);
        m_steps->setCurrentRow(current);
    }
    m_text->setMarkdown(stepMarkdown());
    m_hintLabel->hide();
    m_hintLabel->clear();
    const lessons::Step* step = hasSteps ? &l->steps[static_cast<size_t>(current)] : nullptr;
    button(QStringLiteral("showMe"))->setEnabled(step && step->showMe && m_setup.perform);
    button(QStringLiteral("hint"))->setEnabled(step && !step->hints.empty());
    button(QStringLiteral("skip"))->setEnabled(step && mark(current) == lessons::Mark::Todo);
    button(QStringLiteral("previous"))->setEnabled(current > 0);
    button(QStringLiteral("next"))->setEnabled(current + 1 < static_cast<int>(l->steps.size()));
    updateMarks();
}

void LessonPlayer::updateMarks() {
    const int size = fontMetrics().height();
    for (int i = 0; i < m_steps->count(); ++i) {
        QListWidgetItem* item = m_steps->item(i);
        const lessons::Mark m = mark(i);
        item->setIcon(markIcon(m, i == m_progress.current, palette(), size));
        item->setToolTip(m == lessons::Mark::Done      ? tr("Done")
                         : m == lessons::Mark::Skipped ? tr("Skipped")
                                                       : tr("Not done yet"));
    }
    m_steps->setIconSize(QSize(size, size));
}

lessons::CheckResult LessonPlayer::evaluateStep(int step) const {
    const lessons::Lesson* l = lesson();
    if (!l || step < 0 || step >= static_cast<int>(l->steps.size()) || !m_setup.state)
        return {false, tr("No lesson is open.").toStdString()};
    const lessons::State state = m_setup.state();
    for (const lessons::Check& check : l->steps[static_cast<size_t>(step)].checks) {
        lessons::CheckResult r = lessons::evaluate(check, state);
        if (!r.passed) return r;
    }
    return {true, {}};
}

void LessonPlayer::stateChanged() {
    // A throttle, not a restarted timer: a steady stream of changes (live frames) must still
    // be evaluated every so often.
    if (lesson() && !m_debounce->isActive()) m_debounce->start();
}

void LessonPlayer::evaluateNow() {
    m_debounce->stop();
    const lessons::Lesson* l = lesson();
    if (!l || l->steps.empty() || !m_setup.state) return;
    const lessons::State state = m_setup.state();
    const int current = m_progress.current;
    bool changed = false;
    bool currentPassedNow = false;
    QString why;
    // The step on screen and any the student passed by without doing.
    for (int i = 0; i <= current; ++i) {
        if (mark(i) != lessons::Mark::Todo) continue;
        const lessons::Step& step = l->steps[static_cast<size_t>(i)];
        bool passed = true;
        for (const lessons::Check& check : step.checks) {
            lessons::CheckResult r = lessons::evaluate(check, state);
            if (!r.passed) {
                passed = false;
                if (i == current) why = q(r.why);
                break;
            }
        }
        if (!passed) continue;
        m_progress.marks[static_cast<size_t>(i)] = lessons::Mark::Done;
        changed = true;
        if (i == current && !step.checks.empty()) currentPassedNow = true;
    }

    QString status;
    if (currentPassedNow) {
        status = tr("✓ Step %1 is done.").arg(current + 1);
        // On to the next step not done yet; a reading step (no checks) waits to be read.
        for (int i = current + 1; i < static_cast<int>(l->steps.size()); ++i) {
            if (mark(i) != lessons::Mark::Todo) continue;
            m_progress.current = i;
            m_hint = -1;
            m_showMeError.clear();
            // A reading step is done when it is on screen.
            if (l->steps[static_cast<size_t>(i)].checks.empty())
                m_progress.marks[static_cast<size_t>(i)] = lessons::Mark::Done;
            showStep();
            status += QLatin1Char(' ') + tr("Now step %1.").arg(i + 1);
            break;
        }
        if (m_progress.current == current &&
            std::all_of(m_progress.marks.begin(), m_progress.marks.end(),
                        [](lessons::Mark m) { return m != lessons::Mark::Todo; }))
            status += QLatin1Char(' ') + tr("That was the last one: the lesson is done.");
    } else {
        const lessons::Mark m = mark(current);
        if (m == lessons::Mark::Done) {
            status = tr("✓ Done.");
        } else if (m == lessons::Mark::Skipped) {
            status = tr("Skipped.");
        } else if (!why.isEmpty()) {
            status = tr("Not yet: %1").arg(why);
        }
    }
    if (!m_showMeError.isEmpty()) status = tr("Show me could not do it: %1").arg(m_showMeError);
    // A sweep's points, where this step is about them: the numbers a student reads.
    const lessons::Step& shown = l->steps[static_cast<size_t>(m_progress.current)];
    const bool aboutSweep =
        (shown.showMe && shown.showMe->kind == lessons::Action::Kind::Sweep) ||
        std::any_of(shown.checks.begin(), shown.checks.end(),
                    [](const lessons::Check& c) { return c.name.rfind("sweep", 0) == 0; });
    if (aboutSweep && !state.sweep.empty()) {
        QStringList points;
        for (const lessons::SweepPoint& p : state.sweep)
            points << tr("%1 % removed: %2 % right")
                          .arg(p.rate * 100, 0, 'f', 0)
                          .arg(p.accuracy * 100, 0, 'f', 1);
        status += QStringLiteral("\n") +
                  tr("Sweep (%1): %2")
                      .arg(q(state.sweep.front().scheme), points.join(QStringLiteral("; ")));
    }
    // Coloured as rich text: a style sheet would stop the label following the player's font
    // (the classroom's large type).
    m_statusText = status;
    QString html = status.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
    if (!m_showMeError.isEmpty()) {
        html = QStringLiteral("<span style=\"color: #c82828\">%1</span>").arg(html);
    } else if (mark(m_progress.current) == lessons::Mark::Done) {
        html = QStringLiteral("<b style=\"color: #2ea043\">%1</b>").arg(html);
    }
    m_status->setText(html);
    button(QStringLiteral("skip"))->setEnabled(mark(m_progress.current) == lessons::Mark::Todo);
    updateMarks();
    if (changed) {
        saveProgress();
        emit progressChanged();
    }
}

engine::Status LessonPlayer::showMe(int step, bool testBudget) {
    const lessons::Lesson* l = lesson();
    if (!l || step < 0 || step >= static_cast<int>(l->steps.size()))
        return engine::makeError(engine::ErrorCode::InvalidArgument,
                                 "no such step: " + std::to_string(step + 1));
    const lessons::Step& s = l->steps[static_cast<size_t>(step)];
    if (!s.showMe || !m_setup.perform)
        return engine::makeError(engine::ErrorCode::InvalidArgument,
                                 "step " + std::to_string(step + 1) + " has no Show me");
    if (step != m_progress.current) setCurrentStep(step);
    const lessons::Lesson copy = *l;  // the action may reload nothing, but keep it stable
    engine::Status done = m_setup.perform(copy, *s.showMe, testBudget);
    m_showMeError = done.ok() ? QString() : errorText(done.error());
    evaluateNow();
    return done;
}

void LessonPlayer::showMeFailed(const QString& message) {
    m_showMeError = message;
    evaluateNow();
}

QSize LessonPlayer::sizeHint() const {
    const QSize natural = QWidget::sizeHint();
    return {std::max(minimumSizeHint().width(), fontMetrics().averageCharWidth() * 36),
            natural.height()};
}

void LessonPlayer::showHint() {
    const lessons::Lesson* l = lesson();
    if (!l || l->steps.empty()) return;
    const auto& hints = l->steps[static_cast<size_t>(m_progress.current)].hints;
    if (hints.empty()) return;
    m_hint = (m_hint + 1) % static_cast<int>(hints.size());
    m_hintLabel->setText(hints.size() > 1 ? tr("Hint %1 of %2: %3")
                                                .arg(m_hint + 1)
                                                .arg(hints.size())
                                                .arg(q(hints[static_cast<size_t>(m_hint)]))
                                          : tr("Hint: %1").arg(q(hints.front())));
    m_hintLabel->show();
}

void LessonPlayer::skipStep() {
    const lessons::Lesson* l = lesson();
    if (!l || l->steps.empty() || mark(m_progress.current) != lessons::Mark::Todo) return;
    m_progress.marks[static_cast<size_t>(m_progress.current)] = lessons::Mark::Skipped;
    saveProgress();
    emit progressChanged();
    if (m_progress.current + 1 < static_cast<int>(l->steps.size())) {
        setCurrentStep(m_progress.current + 1);
    } else {
        showStep();
        evaluateNow();
    }
}

void LessonPlayer::resetProgress() {
    const lessons::Lesson* l = lesson();
    if (!l) return;
    const QString path = progressFile(q(l->id));
    if (!path.isEmpty()) QFile::remove(path);
    m_progress.current = 0;
    m_progress.marks.assign(l->steps.size(), lessons::Mark::Todo);
    m_hint = -1;
    m_showMeError.clear();
    showStep();
    emit progressChanged();
    evaluateNow();
}

// ---- Classroom, handout ----

void LessonPlayer::setClassroom(bool on) {
    if (on == m_classroom) return;
    m_classroom = on;
    applyFont();
    const lessons::Lesson* l = lesson();
    if (l && on && l->audience != lessons::Audience::K12) {
        closeLesson();
        return;
    }
    fillList();
    if (l) {
        showLesson();
        evaluateNow();
    }
}

void LessonPlayer::applyFont() {
    setFont(m_classroom ? classroomFont(m_baseFont) : m_baseFont);
    if (lesson()) showLesson();
}

QString LessonPlayer::printHandout(const QString& pdfPath) const {
    const lessons::Lesson* l = lesson();
    if (!l) return tr("No lesson is open.");
    return writeLessonHandout(*l, pdfPath);
}

void LessonPlayer::handoutInteractive() {
    const lessons::Lesson* l = lesson();
    if (!l) return;
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Print a handout"), QDir::home().filePath(q(l->id) + QStringLiteral(".pdf")),
        tr("PDF (*.pdf)"));
    if (path.isEmpty()) return;
    const QString error = printHandout(path);
    if (!error.isEmpty()) QMessageBox::warning(this, tr("PruneLab"), error);
}

}  // namespace prunelab::views
