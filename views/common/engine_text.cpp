// Engine values as workbench text (see engine_text.h).
#include "views/common/engine_text.h"

#include <QCoreApplication>
#include <QStringList>
#include <algorithm>
#include <cmath>

namespace prunelab::views {

QString errorText(const engine::Error& error) {
    return QString::fromStdString(error.toString());
}

QString shapeText(const engine::Shape& shape) {
    if (shape.empty()) return QStringLiteral("scalar");
    QStringList dims;
    for (int64_t d : shape) dims << QString::number(d);
    return dims.join(QLatin1Char('x'));
}

QString countText(int64_t count) {
    // Three significant digits are enough to compare layers; the exact value is in the tooltip
    // or the sort role.
    const double c = static_cast<double>(count);
    if (count >= 1'000'000'000) return QString::number(c / 1e9, 'f', 2) + QStringLiteral(" G");
    if (count >= 1'000'000) return QString::number(c / 1e6, 'f', 2) + QStringLiteral(" M");
    if (count >= 1'000) return QString::number(c / 1e3, 'f', 2) + QStringLiteral(" k");
    return QString::number(count);
}

QString speedupText(double speedup, bool warmingUp, double noise) {
    auto tr = [](const char* text) { return QCoreApplication::translate("prunelab::views", text); };
    if (!std::isfinite(speedup) || speedup <= 0) return tr("Measuring…");
    const double band = std::max(noise, 0.05);
    // A "slower" while the stand-in runs would teach the wrong lesson; a stand-in that is
    // already faster is a true result.
    if (warmingUp && speedup < 1.0 + band) return tr("Warming up…");
    if (speedup >= 1.0 + band) return tr("%1x faster").arg(speedup, 0, 'f', 1);
    if (speedup > 1.0 / (1.0 + band)) return tr("About the same speed");
    return tr("%1x slower").arg(1.0 / speedup, 0, 'f', 1);
}

}  // namespace prunelab::views
