// The demo models that ship with PruneLab: catalog models pruned and retrained by PruneLab's own
// trainer (bench/demo/make.sh), committed under assets/demo/ with their sha256 in the catalog, so
// a class never waits for training. Thread-safe (no shared state); never throws.
#pragma once

#include <string>

#include "engine/ir/graph.h"
#include "engine/ir/result.h"
#include "engine/prune/plan.h"
#include "engine/tasks/catalog.h"

namespace prunelab::plugins {

// The folder demo files are relative to: the catalog's own (assets/ in the source tree,
// share/prunelab/ installed).
std::string demoBaseDir();

// Lowercase hex sha256 of a file's bytes; NotFound / IoError name the file.
engine::Result<std::string> fileSha256(const std::string& path);

// Absolute path of the entry's demo file, checked against its sha256. NotFound when the entry
// has none or the file is missing; Corrupt on a checksum mismatch (a damaged or swapped file
// is never run in front of a class).
engine::Result<std::string> demoModelPath(const engine::CatalogEntry& entry);

// The demo's retrained weights, masks and plan on `dense`: the same catalog model imported at
// any input size (the session's original graph, the live demo's). Ready for the compiler.
engine::Result<engine::prune::PrunedModel> loadDemoModel(const engine::CatalogEntry& entry,
                                                         const engine::Graph& dense);

}  // namespace prunelab::plugins
