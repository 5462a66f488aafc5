// The prune panel builds its controls from each scheme's ParamSpec list (so a new scheme needs
// no GUI code) and turns them, or a preset, into the plan the engine would use.
#include <QComboBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QtTest>

#include "engine/prune/plan.h"
#include "engine/prune/scheme.h"
#include "views/prune/prune_panel.h"

using namespace prunelab;

class TestPrunePanel : public QObject {
    Q_OBJECT

  private slots:
    void everySchemeGetsOneControlPerParam() {
        views::PrunePanel panel;
        auto* scheme = panel.findChildren<QComboBox*>().at(1);
        QCOMPARE(scheme->count(), static_cast<int>(engine::prune::allSchemes().size()));
        for (int i = 0; i < scheme->count(); ++i) {
            scheme->setCurrentIndex(i);
            const auto* s = engine::prune::findScheme(scheme->itemData(i).toString().toStdString());
            QVERIFY(s);
            for (const engine::prune::ParamSpec& spec : s->params()) {
                QVERIFY2(panel.findChild<QWidget*>(QString::fromStdString(spec.key)),
                         spec.key.c_str());
            }
            // The defaults of every scheme make a valid plan.
            auto plan = panel.plan();
            QVERIFY2(plan.ok(), plan.ok() ? "" : plan.error().toString().c_str());
            QCOMPARE(plan->defaultEntry.scheme, std::string(s->id()));
        }
    }

    void presetIsTheEnginesPreset() {
        views::PrunePanel panel;
        QVERIFY(panel.selectPreset(QStringLiteral("patdnn-8")));
        auto plan = panel.plan();
        QVERIFY(plan.ok());
        QVERIFY(plan.value() == engine::prune::presetPlan("patdnn-8").value());
        QVERIFY(!panel.selectPreset(QStringLiteral("no-such-preset")));
    }

    void applyEmitsThePlan() {
        views::PrunePanel panel;
        panel.setActionsEnabled(true);
        QVERIFY(panel.selectPreset(QStringLiteral("uniform-50")));
        QSignalSpy spy(&panel, &views::PrunePanel::applyRequested);
        auto* apply = panel.findChild<QPushButton*>(QStringLiteral("apply"));
        QVERIFY(apply);
        QTest::mouseClick(apply, Qt::LeftButton);
        QCOMPARE(spy.count(), 1);
    }

    void showPlanShowsAPresetOrTheSchemeAndValues() {
        views::PrunePanel panel;
        QSignalSpy spy(&panel, &views::PrunePanel::applyRequested);
        auto* preset = panel.findChild<QComboBox*>(QStringLiteral("preset"));
        auto* scheme = panel.findChild<QComboBox*>(QStringLiteral("scheme"));
        QVERIFY(preset && scheme);

        panel.showPlan(engine::prune::presetPlan("patdnn-8").value());
        QCOMPARE(preset->currentData().toString(), QStringLiteral("patdnn-8"));

        // Not a preset: Custom, with the plan's scheme and its parameters in the controls.
        const engine::prune::Scheme* s = engine::prune::findScheme("non_structured");
        QVERIFY(s);
        engine::prune::ParamValues values;
        for (const engine::prune::ParamSpec& spec : s->params())
            if (spec.type == engine::prune::ParamSpec::Type::Real)
                values.set(spec.key, spec.defaultNumber > 0.5 ? 0.4 : 0.6);
        engine::prune::PruningPlan custom;
        custom.defaultEntry = engine::prune::PlanEntry::make("non_structured", values);
        panel.showPlan(custom);
        QCOMPARE(preset->currentIndex(), 0);
        QCOMPARE(scheme->currentData().toString(), QStringLiteral("non_structured"));
        auto shown = panel.plan();
        QVERIFY(shown.ok());
        for (const engine::prune::ParamSpec& spec : s->params())
            if (spec.type != engine::prune::ParamSpec::Type::Choice)
                QCOMPARE(shown->defaultEntry.params.number(spec.key, -1),
                         values.number(spec.key, spec.defaultNumber));
        // Showing is not applying.
        QCOMPARE(spy.count(), 0);
    }
};

QTEST_MAIN(TestPrunePanel)
#include "tst_prune_panel.moc"
