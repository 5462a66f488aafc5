// The prune panel (see prune_panel.h).
#include "views/prune/prune_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <climits>

#include "views/common/engine_text.h"

namespace prunelab::views {

using engine::prune::ParamSpec;
using engine::prune::ParamValues;

namespace {

int clampToInt(double v) {
    return static_cast<int>(
        std::clamp(v, static_cast<double>(INT_MIN), static_cast<double>(INT_MAX)));
}

}  // namespace

QSize PrunePanel::sizeHint() const {
    const QSize natural = QWidget::sizeHint();
    const int width = std::max(minimumSizeHint().width(), fontMetrics().averageCharWidth() * 34);
    // The wrapped explanation takes more lines at that width.
    const int height = layout() ? layout()->totalHeightForWidth(width) : -1;
    return QSize(width, std::max(natural.height(), height));
}

PrunePanel::PrunePanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* top = new QFormLayout;
    m_preset = new QComboBox(this);
    m_preset->setObjectName(QStringLiteral("preset"));
    m_preset->addItem(tr("Custom (scheme below)"));
    for (const std::string& name : engine::prune::presetNames())
        m_preset->addItem(QString::fromStdString(name), QString::fromStdString(name));
    m_preset->setToolTip(
        tr("Named plans from the literature; editing a parameter makes it custom"));
    top->addRow(tr("Preset"), m_preset);
    m_scheme = new QComboBox(this);
    m_scheme->setObjectName(QStringLiteral("scheme"));
    for (const engine::prune::Scheme* s : engine::prune::allSchemes()) {
        m_scheme->addItem(
            QString::fromUtf8(s->displayName().data(),
                              static_cast<qsizetype>(s->displayName().size())),
            QString::fromUtf8(s->id().data(), static_cast<qsizetype>(s->id().size())));
    }
    // Narrower than their longest entry (shown in full when open), so the dock leaves the tabs
    // and the layer table room on a 1024-pixel screen.
    for (QComboBox* combo : {m_preset, m_scheme}) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        combo->setMinimumContentsLength(14);
    }
    top->addRow(tr("Scheme"), m_scheme);
    layout->addLayout(top);
    m_form = new QFormLayout;
    layout->addLayout(m_form);
    m_explain = new QLabel(this);
    m_explain->setWordWrap(true);
    layout->addWidget(m_explain);
    auto* buttons = new QHBoxLayout;
    m_apply = new QPushButton(tr("Apply"), this);
    m_reset = new QPushButton(tr("Reset"), this);
    m_apply->setObjectName(QStringLiteral("apply"));
    m_reset->setObjectName(QStringLiteral("reset"));
    m_reset->setToolTip(tr("Back to the model as opened (undoable)"));
    buttons->addWidget(m_apply);
    buttons->addWidget(m_reset);
    layout->addLayout(buttons);
    layout->addStretch(1);

    connect(m_preset, &QComboBox::currentIndexChanged, this, &PrunePanel::onPresetChosen);
    connect(m_scheme, &QComboBox::currentIndexChanged, this, [this] {
        rebuildParams();
        onParamEdited();
    });
    connect(m_apply, &QPushButton::clicked, this, [this] {
        auto p = plan();
        if (p.ok()) {
            emit applyRequested(p.value());
        } else {
            emit invalidPlan(errorText(p.error()));
        }
    });
    connect(m_reset, &QPushButton::clicked, this, &PrunePanel::resetRequested);
    rebuildParams();
    setActionsEnabled(false);
}

const engine::prune::Scheme* PrunePanel::currentScheme() const {
    return engine::prune::findScheme(m_scheme->currentData().toString().toStdString());
}

void PrunePanel::rebuildParams() {
    while (m_form->rowCount() > 0) m_form->removeRow(0);
    m_controls.clear();
    m_specs.clear();
    const engine::prune::Scheme* scheme = currentScheme();
    if (!scheme) return;
    m_specs = scheme->params();
    for (const ParamSpec& spec : m_specs) {
        QWidget* control = nullptr;
        switch (spec.type) {
            case ParamSpec::Type::Real: {
                auto* box = new QDoubleSpinBox(this);
                box->setDecimals(3);
                box->setRange(spec.min, spec.max);
                box->setSingleStep((spec.max - spec.min) / 100);
                box->setValue(spec.defaultNumber);
                connect(box, &QDoubleSpinBox::valueChanged, this, &PrunePanel::onParamEdited);
                control = box;
                break;
            }
            case ParamSpec::Type::Integer:
                if (!spec.allowed.empty()) {
                    auto* box = new QComboBox(this);
                    for (int64_t v : spec.allowed)
                        box->addItem(QString::number(v), QVariant::fromValue(v));
                    box->setCurrentIndex(std::max(
                        0, box->findData(
                               QVariant::fromValue(static_cast<int64_t>(spec.defaultNumber)))));
                    connect(box, &QComboBox::currentIndexChanged, this, &PrunePanel::onParamEdited);
                    control = box;
                } else {
                    auto* box = new QSpinBox(this);
                    box->setRange(clampToInt(spec.min), clampToInt(spec.max));
                    box->setValue(clampToInt(spec.defaultNumber));
                    connect(box, &QSpinBox::valueChanged, this, &PrunePanel::onParamEdited);
                    control = box;
                }
                break;
            case ParamSpec::Type::Choice: {
                auto* box = new QComboBox(this);
                for (const std::string& c : spec.choices) box->addItem(QString::fromStdString(c));
                connect(box, &QComboBox::currentIndexChanged, this, &PrunePanel::onParamEdited);
                control = box;
                break;
            }
            case ParamSpec::Type::Flag: {
                auto* box = new QCheckBox(this);
                box->setChecked(spec.defaultNumber != 0);
                connect(box, &QCheckBox::toggled, this, &PrunePanel::onParamEdited);
                control = box;
                break;
            }
        }
        control->setToolTip(QString::fromStdString(spec.help));
        control->setObjectName(QString::fromStdString(spec.key));
        m_form->addRow(QString::fromStdString(spec.label), control);
        m_controls.push_back(control);
    }
    updateExplanation();
}

ParamValues PrunePanel::currentValues() const {
    ParamValues values;
    for (size_t i = 0; i < m_specs.size(); ++i) {
        const ParamSpec& spec = m_specs[i];
        QWidget* c = m_controls[i];
        switch (spec.type) {
            case ParamSpec::Type::Real:
                values.set(spec.key, static_cast<QDoubleSpinBox*>(c)->value());
                break;
            case ParamSpec::Type::Integer:
                if (auto* combo = qobject_cast<QComboBox*>(c)) {
                    values.set(spec.key, combo->currentData().value<int64_t>());
                } else {
                    values.set(spec.key, int64_t{static_cast<QSpinBox*>(c)->value()});
                }
                break;
            case ParamSpec::Type::Choice:
                values.set(spec.key, static_cast<QComboBox*>(c)->currentText().toStdString());
                break;
            case ParamSpec::Type::Flag:
                values.set(spec.key, static_cast<QCheckBox*>(c)->isChecked());
                break;
        }
    }
    return values;
}

void PrunePanel::setValues(const ParamValues& values) {
    for (size_t i = 0; i < m_specs.size(); ++i) {
        const ParamSpec& spec = m_specs[i];
        if (!values.has(spec.key)) continue;
        QWidget* c = m_controls[i];
        switch (spec.type) {
            case ParamSpec::Type::Real:
                static_cast<QDoubleSpinBox*>(c)->setValue(
                    values.number(spec.key, spec.defaultNumber));
                break;
            case ParamSpec::Type::Integer:
                if (auto* combo = qobject_cast<QComboBox*>(c)) {
                    const auto v =
                        static_cast<int64_t>(values.number(spec.key, spec.defaultNumber));
                    combo->setCurrentIndex(std::max(0, combo->findData(QVariant::fromValue(v))));
                } else {
                    static_cast<QSpinBox*>(c)->setValue(
                        clampToInt(values.number(spec.key, spec.defaultNumber)));
                }
                break;
            case ParamSpec::Type::Choice: {
                auto* combo = static_cast<QComboBox*>(c);
                combo->setCurrentIndex(std::max(
                    0, combo->findText(QString::fromStdString(values.choice(spec.key, {})))));
                break;
            }
            case ParamSpec::Type::Flag:
                static_cast<QCheckBox*>(c)->setChecked(values.number(spec.key, 0) != 0);
                break;
        }
    }
}

void PrunePanel::onPresetChosen() {
    const QString name = m_preset->currentData().toString();
    if (name.isEmpty()) return;
    auto preset = engine::prune::presetPlan(name.toStdString());
    if (!preset.ok() || preset->defaultEntry.dense) return;
    // Show what the preset does to most layers; plan() still returns the engine's own preset
    // (its fallback for non-3x3 layers is not shown here).
    m_filling = true;
    m_scheme->setCurrentIndex(
        std::max(0, m_scheme->findData(QString::fromStdString(preset->defaultEntry.scheme))));
    setValues(preset->defaultEntry.params);
    m_filling = false;
    updateExplanation();
}

void PrunePanel::onParamEdited() {
    if (!m_filling) {
        const QSignalBlocker block(m_preset);
        m_preset->setCurrentIndex(0);
    }
    updateExplanation();
}

void PrunePanel::updateExplanation() {
    const engine::prune::Scheme* scheme = currentScheme();
    m_explain->setText(scheme ? QString::fromStdString(scheme->explain(currentValues()))
                              : QString());
}

engine::Result<engine::prune::PruningPlan> PrunePanel::plan() const {
    const QString preset = m_preset->currentData().toString();
    if (!preset.isEmpty()) return engine::prune::presetPlan(preset.toStdString());
    const engine::prune::Scheme* scheme = currentScheme();
    if (!scheme) return engine::makeError(engine::ErrorCode::NotFound, "no pruning scheme chosen");
    engine::prune::PruningPlan plan;
    plan.defaultEntry = engine::prune::PlanEntry::make(std::string(scheme->id()), currentValues());
    PL_TRY(engine::prune::validatePlan(plan));
    return plan;
}

bool PrunePanel::selectPreset(const QString& name) {
    const int i = m_preset->findData(name);
    if (i < 0) return false;
    m_preset->setCurrentIndex(i);
    return true;
}

void PrunePanel::showPlan(const engine::prune::PruningPlan& plan) {
    const std::string json = engine::prune::planToJson(plan);
    for (const std::string& name : engine::prune::presetNames()) {
        auto preset = engine::prune::presetPlan(name);
        if (preset.ok() && engine::prune::planToJson(*preset) == json) {
            selectPreset(QString::fromStdString(name));
            return;
        }
    }
    // Filling, not editing: the preset goes to Custom here once, not per control.
    m_filling = true;
    {
        const QSignalBlocker block(m_preset);
        m_preset->setCurrentIndex(0);
    }
    if (!plan.defaultEntry.dense) {
        m_scheme->setCurrentIndex(
            std::max(0, m_scheme->findData(QString::fromStdString(plan.defaultEntry.scheme))));
        setValues(plan.defaultEntry.params);
    }
    m_filling = false;
    updateExplanation();
}

void PrunePanel::setActionsEnabled(bool enabled) {
    m_apply->setEnabled(enabled);
    m_reset->setEnabled(enabled);
}

}  // namespace prunelab::views
