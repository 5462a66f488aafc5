// How the workbench opens a model: the CLI's loader (a file in any format the plugins read, or a
// catalog id bound to its catalog size), wrapped as the session's ModelOpener.
#pragma once

#include <optional>

#include "engine/tasks/catalog.h"
#include "views/session/model_session.h"

namespace prunelab::gui {

views::ModelOpener workbenchOpener();

// The catalog entry that says how to feed and draw `source` (a catalog id, or a model that
// recorded one); nullopt for a plain file. The Live tab's LiveSetup::entryFor.
std::optional<engine::CatalogEntry> catalogEntryFor(const QString& source);

// The bundled catalog's models as (id, friendly name) for the catalog picker; empty with a
// message when the catalog cannot be read.
struct CatalogChoice {
    QString id, name, description;
};
engine::Result<std::vector<CatalogChoice>> catalogChoices();

}  // namespace prunelab::gui
