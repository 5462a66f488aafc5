// The workbench's settings and their dialog (see settings_dialog.h).
#include "app/gui/settings_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>
#include <algorithm>

namespace prunelab::gui {

namespace {

const char* const kThreadsKey = "measure/threads";
const char* const kRunsKey = "measure/runs";
const char* const kAutosaveKey = "project/autosaveSeconds";

}  // namespace

int WorkbenchSettings::effectiveMeasureThreads() const {
    return measureThreads > 0 ? measureThreads : std::max(1, QThread::idealThreadCount());
}

WorkbenchSettings loadSettings() {
    QSettings stored;
    WorkbenchSettings s;
    s.appearance = loadAppearance();
    s.measureThreads = std::clamp(stored.value(kThreadsKey, s.measureThreads).toInt(), 0,
                                  WorkbenchSettings::kMaxThreads);
    s.measureRuns = std::clamp(stored.value(kRunsKey, s.measureRuns).toInt(),
                               WorkbenchSettings::kMinRuns, WorkbenchSettings::kMaxRuns);
    s.autosaveSeconds =
        std::clamp(stored.value(kAutosaveKey, s.autosaveSeconds).toInt(),
                   WorkbenchSettings::kMinAutosaveSeconds, WorkbenchSettings::kMaxAutosaveSeconds);
    return s;
}

void saveSettings(const WorkbenchSettings& settings) {
    saveAppearance(settings.appearance);
    QSettings stored;
    stored.setValue(kThreadsKey, settings.measureThreads);
    stored.setValue(kRunsKey, settings.measureRuns);
    stored.setValue(kAutosaveKey, settings.autosaveSeconds);
}

SettingsDialog::SettingsDialog(QWidget* parent)
    : QDialog(parent),
      m_dark(new QCheckBox(tr("Dark palette"), this)),
      m_projector(new QCheckBox(tr("Projector mode (text 1.5 times larger)"), this)),
      m_threads(new QSpinBox(this)),
      m_runs(new QSpinBox(this)),
      m_autosave(new QSpinBox(this)),
      m_clearRecent(new QPushButton(tr("Clear the recent files"), this)) {
    setWindowTitle(tr("PruneLab Settings"));
    m_dark->setObjectName(QStringLiteral("dark"));
    m_projector->setObjectName(QStringLiteral("projector"));
    m_threads->setObjectName(QStringLiteral("measureThreads"));
    m_runs->setObjectName(QStringLiteral("measureRuns"));
    m_autosave->setObjectName(QStringLiteral("autosaveSeconds"));
    m_clearRecent->setObjectName(QStringLiteral("clearRecent"));

    m_threads->setRange(0, WorkbenchSettings::kMaxThreads);
    // 0 reads as what it means; the core count is this machine's, so say it.
    m_threads->setSpecialValueText(
        tr("One per core (%1)").arg(std::max(1, QThread::idealThreadCount())));
    m_threads->setToolTip(
        tr("Threads the Speed tab's Measure times both models with. Compare timings only "
           "when they were taken with the same count."));
    m_runs->setRange(WorkbenchSettings::kMinRuns, WorkbenchSettings::kMaxRuns);
    m_runs->setToolTip(
        tr("Runs of the dense and the compiled model per Measure; the medians "
           "decide. More runs: steadier numbers, a longer wait."));
    m_autosave->setRange(WorkbenchSettings::kMinAutosaveSeconds,
                         WorkbenchSettings::kMaxAutosaveSeconds);
    m_autosave->setSuffix(tr(" s"));
    m_autosave->setToolTip(
        tr("How long after a change the project (or, before it is saved, "
           "the recovery file) is written."));

    auto* form = new QFormLayout;
    form->addRow(tr("Look:"), m_dark);
    form->addRow(QString(), m_projector);
    form->addRow(tr("Measure threads:"), m_threads);
    form->addRow(tr("Measure runs:"), m_runs);
    form->addRow(tr("Autosave after:"), m_autosave);
    form->addRow(tr("Open Recent:"), m_clearRecent);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);

    showSettings(loadSettings());
    connect(m_dark, &QCheckBox::toggled, this, &SettingsDialog::controlChanged);
    connect(m_projector, &QCheckBox::toggled, this, &SettingsDialog::controlChanged);
    for (QSpinBox* box : {m_threads, m_runs, m_autosave})
        connect(box, &QSpinBox::valueChanged, this, &SettingsDialog::controlChanged);
    connect(m_clearRecent, &QPushButton::clicked, this, [this] {
        QSettings().remove(QLatin1String(kRecentFilesKey));
        emit recentFilesCleared();
    });
}

WorkbenchSettings SettingsDialog::settings() const {
    WorkbenchSettings s;
    s.appearance.dark = m_dark->isChecked();
    s.appearance.projector = m_projector->isChecked();
    s.measureThreads = m_threads->value();
    s.measureRuns = m_runs->value();
    s.autosaveSeconds = m_autosave->value();
    return s;
}

void SettingsDialog::showSettings(const WorkbenchSettings& settings) {
    const QSignalBlocker b1(m_dark), b2(m_projector), b3(m_threads), b4(m_runs), b5(m_autosave);
    m_dark->setChecked(settings.appearance.dark);
    m_projector->setChecked(settings.appearance.projector);
    m_threads->setValue(settings.measureThreads);
    m_runs->setValue(settings.measureRuns);
    m_autosave->setValue(settings.autosaveSeconds);
}

void SettingsDialog::controlChanged() {
    const WorkbenchSettings s = settings();
    saveSettings(s);
    emit settingsChanged(s);
}

}  // namespace prunelab::gui
