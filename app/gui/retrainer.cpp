// The workbench's retrain function (see retrainer.h).
#include "app/gui/retrainer.h"

#include "engine/train/data.h"
#include "plugins/model-files/model_loader.h"

namespace prunelab::gui {

#ifndef PRUNELAB_HAVE_TORCH

views::RetrainFunction workbenchRetrainer() {
    return {};
}

#else

namespace {

using namespace prunelab::engine;
using namespace prunelab::engine::train;

Result<views::RetrainOutcome> run(views::RetrainRequest request) {
    plugins::ModelRequest modelRequest;
    modelRequest.path = request.model;
    modelRequest.keepBatchNorm = true;  // the trainer trains it with labels, folds it otherwise
    PL_TRY_ASSIGN(plugins::LoadedModel model, plugins::loadModel(modelRequest));
    const PictureOptions picture =
        model.entry ? pictureOptionsFor(model.graph, *model.entry) : pictureOptionsFor(model.graph);
    PL_TRY_ASSIGN(std::unique_ptr<Dataset> all, openDataset(request.data, picture, request.limit));
    PL_TRY(checkInputShape(model.graph, *all));

    // The metric needs examples the run never trained on: the data's own test split, else the
    // last tenth (for frames, the end of the clip: neighbouring frames are near copies).
    std::unique_ptr<Dataset> testOwned;
    const Dataset* train = all.get();
    std::unique_ptr<Dataset> trainPart;
    if (std::string spec = testSpecOf(request.data); !spec.empty()) {
        PL_TRY_ASSIGN(testOwned, openDataset(spec, picture, request.testLimit));
    } else if (all->size() >= 10) {
        const size_t cut = all->size() - all->size() / 10;
        trainPart = subsetView(*all, 0, cut);
        train = trainPart.get();
        testOwned = subsetView(*all, cut, std::min(all->size(), cut + request.testLimit));
    }
    views::RetrainOutcome outcome;
    outcome.distilled = request.retrain.distill || all->classNames().empty();
    request.retrain.distill = outcome.distilled;
    outcome.data = train->describe();
    request.options.test = testOwned.get();
    PL_TRY_ASSIGN(outcome.result, retrain(model.graph, request.plan, *train, request.options,
                                          request.retrain, request.resume));
    return outcome;
}

}  // namespace

views::RetrainFunction workbenchRetrainer() {
    return run;
}

#endif

}  // namespace prunelab::gui
