// Engine values as workbench text (see engine_text.h).
#include "views/common/engine_text.h"

#include <QStringList>

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

}  // namespace prunelab::views
