// The list of the workbench's views (see view_registry.h) and the factories of its tabs.
#include "app/gui/view_registry.h"

#include <QCoreApplication>
#include <filesystem>

#include "app/gui/analysis_tabs.h"
#include "app/gui/model_opener.h"
#include "app/gui/retrainer.h"
#include "plugins/model-files/demo_models.h"
#include "plugins/model-files/model_files.h"
#include "plugins/refrt/ort_lane.h"
#include "views/live/live_view.h"
#include "views/train/retrain_panel.h"

namespace prunelab::gui {

namespace {

// The bundled video (set-up downloads it): the Retrain tab's default data and the Live tab's
// fallback source.
QString bundledVideo() {
    return QString::fromStdString(plugins::assetCacheDir() + "/video/vtest.avi");
}

QWidget* makeRetrain(const ViewHost& h) {
    if (!h.log) return nullptr;  // a retrained model becomes an experiment of the log
    auto* panel = new views::RetrainPanel(h.session, h.log, workbenchRetrainer(), h.tabs);
    if (std::filesystem::exists(bundledVideo().toStdString()))
        panel->setDefaultVideo(bundledVideo());
    return panel;
}

// The live demo: the catalog entry says how to feed and draw the session's model.
QWidget* makeLive(const ViewHost& h) {
    views::LiveSetup live;
    live.entryFor = catalogEntryFor;
    live.bundledVideo = bundledVideo();
    live.onnxRuntimeLane = [](const engine::Graph& graph, int threads) {
        return refrt::onnxRuntimeLane(graph, threads, "the workbench's model");
    };
    live.demoFor = plugins::loadDemoModel;  // lane B's default: the bundled retrained model
    return new views::LiveView(h.session, std::move(live), h.tabs);
}

#define PL_TITLE(text) QT_TRANSLATE_NOOP("prunelab::gui::Views", text)

// The views in tab order. Retraining is a tab beside the views it changes: the charts and the
// W/Z/U animation need the room, and the sparsity map shows the result one click away.
const ViewInfo kViews[] = {
    {"layers", PL_TITLE("Layers"), ViewPlace::Table, nullptr},
    {"prune", PL_TITLE("Prune"), ViewPlace::Dock, nullptr},
    {"sparsity", PL_TITLE("Sparsity"), ViewPlace::Tab,
     [](const ViewHost& h) { return h.tabs->makeSparsityPage(); }},
    {"patterns", PL_TITLE("Patterns"), ViewPlace::Tab,
     [](const ViewHost& h) { return h.tabs->makePatternsPage(); }},
    {"kernels", PL_TITLE("Kernels"), ViewPlace::Tab,
     [](const ViewHost& h) { return h.tabs->makeKernelsPage(); }},
    {"speed", PL_TITLE("Speed"), ViewPlace::Tab,
     [](const ViewHost& h) { return h.tabs->makeSpeedPage(); }},
    {"compare", PL_TITLE("Compare"), ViewPlace::Tab,
     [](const ViewHost& h) { return h.log ? h.tabs->makeComparePage(h.log) : nullptr; }},
    {"retrain", PL_TITLE("Retrain"), ViewPlace::Tab, makeRetrain},
    {"live", PL_TITLE("Live"), ViewPlace::Tab, makeLive},
};

#undef PL_TITLE

}  // namespace

std::span<const ViewInfo> workbenchViews() {
    return kViews;
}

const ViewInfo* findView(const QString& name) {
    for (const ViewInfo& v : kViews)
        if (name == QLatin1String(v.name)) return &v;
    return nullptr;
}

QStringList viewNames() {
    QStringList names;
    for (const ViewInfo& v : kViews) names << QString::fromLatin1(v.name);
    return names;
}

QString viewTitle(const ViewInfo& view) {
    return QCoreApplication::translate("prunelab::gui::Views", view.title);
}

}  // namespace prunelab::gui
