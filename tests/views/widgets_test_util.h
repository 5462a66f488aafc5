// Shared by the workbench's tests: a catalog model's file in the asset cache, and BlazeFace
// pruned with a preset (the layer a test looks at is chosen by what the engine produced).
#pragma once

#include <QDir>
#include <QImage>
#include <QString>

#include <filesystem>
#include <optional>
#include <string>

#include "engine/prune/plan.h"
#include "engine/tasks/catalog.h"
#include "plugins/model-files/model_files.h"

namespace prunelab::views::testing {

// The catalog model's file in the asset cache, or empty when ./prunelab setup has not fetched
// it (the tests then skip, naming it).
inline QString cachedModelFile(const std::string& id) {
    auto catalog = engine::loadCatalog(std::string(PRUNELAB_SOURCE_DIR) + "/assets/catalog.json");
    if (!catalog.ok()) return {};
    const engine::CatalogEntry* e = catalog->find(id);
    if (!e || e->files.empty()) return {};
    const std::string path = std::string(PRUNELAB_CACHE_DIR) + "/" + e->files[0];
    return std::filesystem::exists(path) ? QString::fromStdString(path) : QString();
}

// BlazeFace (catalog id "face-front") pruned with `preset`; the reason in `why` when the model
// is not in the cache or pruning fails (the tests skip, naming it).
inline std::optional<engine::prune::PrunedModel> prunedBlazeFace(const std::string& preset,
                                                                 QString& why) {
    const std::string catalogPath = std::string(PRUNELAB_SOURCE_DIR) + "/assets/catalog.json";
    auto catalog = engine::loadCatalog(catalogPath);
    if (!catalog.ok()) {
        why = QStringLiteral("cannot read %1").arg(QString::fromStdString(catalogPath));
        return std::nullopt;
    }
    const engine::CatalogEntry* entry = catalog->find("face-front");
    if (!entry) {
        why = QStringLiteral("the catalog has no face-front entry");
        return std::nullopt;
    }
    auto graph = plugins::loadCatalogModel(*entry, PRUNELAB_CACHE_DIR, 128, 128);
    if (!graph.ok()) {
        why = QStringLiteral(
                  "BlazeFace (face-front: models/blazeface/"
                  "face_detection_front_128x128_barracuda.onnx) is not in the asset "
                  "cache %1; run ./prunelab setup (%2)")
                  .arg(QStringLiteral(PRUNELAB_CACHE_DIR),
                       QString::fromStdString(graph.error().toString()));
        return std::nullopt;
    }
    auto plan = engine::prune::presetPlan(preset);
    if (!plan.ok()) {
        why = QString::fromStdString(plan.error().toString());
        return std::nullopt;
    }
    auto pruned = engine::prune::applyPlan(*graph, *plan);
    if (!pruned.ok()) {
        why = QString::fromStdString(pruned.error().toString());
        return std::nullopt;
    }
    return std::move(*pruned);
}

// With PRUNELAB_VIEWS_DUMP=<folder> set, tests save what they drew there, so a person can look
// at the widgets without a display; otherwise nothing is written.
inline void dumpForReview(const QImage& image, const QString& name) {
    const QString folder = qEnvironmentVariable("PRUNELAB_VIEWS_DUMP");
    if (folder.isEmpty() || image.isNull()) return;
    QDir().mkpath(folder);
    image.save(QDir(folder).filePath(name + QStringLiteral(".png")));
}

}  // namespace prunelab::views::testing
