// Layer names and pruning reasons as text (see layer_text.h).
#include "views/model/layer_text.h"

#include <QCoreApplication>
#include <utility>

namespace prunelab::views {

namespace {

QString tr(const char* text) {
    return QCoreApplication::translate("LayerText", text);
}

// The engine's reason is "<why>" or "<why>; <group note>; ..." (structured plans add notes on
// the layer's channel group): the head says why the layer is dense, the rest stays as written.
std::pair<std::string, std::string> splitReason(const std::string& reason) {
    const auto semicolon = reason.find("; ");
    if (semicolon == std::string::npos) return {reason, {}};
    return {reason.substr(0, semicolon), reason.substr(semicolon + 2)};
}

bool startsWith(const std::string& text, const char* head) {
    return text.rfind(head, 0) == 0;
}

}  // namespace

QString sharedNamePrefix(const std::vector<std::string>& names) {
    if (names.size() < 2) return {};
    std::string prefix = names.front();
    for (const std::string& name : names) {
        size_t n = 0;
        while (n < prefix.size() && n < name.size() && prefix[n] == name[n]) ++n;
        prefix.resize(n);
    }
    // Cut at a path separator: "conv2d" and "conv2d_1" share "conv2d", which says nothing.
    const auto slash = prefix.rfind('/');
    if (slash == std::string::npos) return {};
    return QString::fromStdString(prefix.substr(0, slash + 1));
}

QString shortLayerName(const std::string& name, const QString& prefix) {
    QString full = QString::fromStdString(name);
    // A TFLite converter names a tensor after every TensorFlow op fused into it, joined by ';'
    // ("activation_1/Relu;...;model_1/model/conv2d_1/Conv2D_preact"): the last is the layer's own.
    if (const qsizetype semicolon = full.lastIndexOf(QLatin1Char(';')); semicolon >= 0) {
        full = full.mid(semicolon + 1);
    }
    if (prefix.isEmpty() || !full.startsWith(prefix) || full.size() == prefix.size()) return full;
    return full.mid(prefix.size());
}

QString wrappableName(const std::string& name) {
    return QString::fromStdString(name).replace(QLatin1Char('/'), QStringLiteral("/\u200b"));
}

QString keptDenseSentence(const std::string& reason) {
    if (reason.empty()) return {};
    const auto [head, rest] = splitReason(reason);
    QString sentence;
    if (startsWith(head, "first prunable layer kept dense")) {
        sentence =
            tr("Kept dense: the first layer reads the picture itself, so the plan keeps "
               "it whole (keepFirstLast).");
    } else if (startsWith(head, "last prunable layer kept dense")) {
        sentence =
            tr("Kept dense: the last layer gives the model's answer, so the plan keeps "
               "it whole (keepFirstLast).");
    } else if (head == "kept dense (named in the plan)") {
        sentence = tr("Kept dense: the plan names this layer and keeps it whole.");
    } else if (head == "kept dense (default entry)") {
        sentence =
            tr("Kept dense: the plan keeps every layer it does not name whole (its "
               "default entry is dense).");
    } else {
        sentence = tr("Kept dense: %1.").arg(QString::fromStdString(head));
    }
    if (!rest.empty()) sentence += QStringLiteral(" (%1)").arg(QString::fromStdString(rest));
    return sentence;
}

QString keptDenseShort(const std::string& reason) {
    const std::string head = splitReason(reason).first;
    if (startsWith(head, "first prunable layer kept dense")) return tr("first layer");
    if (startsWith(head, "last prunable layer kept dense")) return tr("last layer");
    if (head == "kept dense (named in the plan)") return tr("plan names it");
    if (head == "kept dense (default entry)") return tr("plan default");
    return {};
}

QString layerPruningNote(const engine::prune::LayerPruning& layer) {
    using How = engine::prune::LayerPruning::How;
    switch (layer.how) {
        case How::Dense:
            return keptDenseSentence(layer.reason);
        case How::Fallback:
            return tr("Pruned by the plan's fallback: %1.")
                .arg(QString::fromStdString(layer.reason));
        case How::Scheme:
            return {};
    }
    return {};
}

}  // namespace prunelab::views
