// The workbench's model opener (see model_opener.h): one loader for the CLI and the workbench, so
// a catalog id or a file opens the same way in both.
#include "app/gui/model_opener.h"

#include "plugins/model-files/model_loader.h"

namespace prunelab::gui {

views::ModelOpener workbenchOpener() {
    return [](const QString& source) -> engine::Result<engine::Graph> {
        plugins::ModelRequest request;
        request.path = source.toStdString();
        PL_TRY_ASSIGN(plugins::LoadedModel model, plugins::loadModel(request));
        return std::move(model.graph);
    };
}

engine::Result<std::vector<CatalogChoice>> catalogChoices() {
    PL_TRY_ASSIGN(const engine::Catalog* catalog, plugins::bundledCatalog());
    std::vector<CatalogChoice> choices;
    for (const engine::CatalogEntry& e : catalog->entries) {
        choices.push_back({QString::fromStdString(e.id), QString::fromStdString(e.name),
                           QString::fromStdString(e.kids)});
    }
    return choices;
}

std::optional<engine::CatalogEntry> catalogEntryFor(const QString& source) {
    plugins::ModelRequest request;
    request.path = source.toStdString();
    auto entry = plugins::resolveEntry(request);
    return entry.ok() ? *entry : std::nullopt;
}

}  // namespace prunelab::gui
