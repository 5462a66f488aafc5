// The prune panel: a preset or a scheme with its parameters, and Apply / Reset. The parameter
// controls are generated from the scheme's typed ParamSpec list (engine/prune/scheme.h), so a
// new scheme appears here with no GUI code.
#pragma once

#include <QWidget>
#include <vector>

#include "engine/prune/plan.h"

class QComboBox;
class QFormLayout;
class QLabel;
class QPushButton;

namespace prunelab::views {

class PrunePanel : public QWidget {
    Q_OBJECT

  public:
    explicit PrunePanel(QWidget* parent = nullptr);

    // The plan the controls describe: the chosen preset as the engine defines it, or the chosen
    // scheme with these parameters for every layer (first and last kept dense).
    engine::Result<engine::prune::PruningPlan> plan() const;
    // Selects a preset by name ("patdnn-8"); false when there is none.
    bool selectPreset(const QString& name);
    // Shows a plan applied elsewhere (--plan, a .plab, a project, an undo): its preset when it
    // equals one (as JSON), else Custom with the scheme and parameters of its default entry.
    // A dense default entry leaves the scheme controls as they are. Emits nothing.
    void showPlan(const engine::prune::PruningPlan& plan);
    // Apply / Reset are disabled while there is no model or a job runs.
    void setActionsEnabled(bool enabled);
    // About 34 characters wide: a wrapped explanation would otherwise ask for a third of a
    // 1280-pixel screen, and the dock takes its width from here.
    QSize sizeHint() const override;

  signals:
    void applyRequested(const engine::prune::PruningPlan& plan);
    void resetRequested();
    // The controls describe no valid plan (a message naming the parameter and the range).
    void invalidPlan(const QString& message);

  private:
    void rebuildParams();
    void onPresetChosen();
    void onParamEdited();
    void updateExplanation();
    const engine::prune::Scheme* currentScheme() const;
    engine::prune::ParamValues currentValues() const;
    void setValues(const engine::prune::ParamValues& values);

    QComboBox* m_preset = nullptr;
    QComboBox* m_scheme = nullptr;
    QFormLayout* m_form = nullptr;
    QLabel* m_explain = nullptr;
    QPushButton* m_apply = nullptr;
    QPushButton* m_reset = nullptr;
    // One control per ParamSpec of the current scheme, in params() order.
    std::vector<engine::prune::ParamSpec> m_specs;
    std::vector<QWidget*> m_controls;
    bool m_filling = false;  // set while controls are filled from a preset: not a user edit
};

}  // namespace prunelab::views
