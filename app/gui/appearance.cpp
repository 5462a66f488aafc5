// The workbench's palettes and projector mode (see appearance.h).
#include "app/gui/appearance.h"

#include <QApplication>
#include <QFont>
#include <QPalette>
#include <QSettings>
#include <QStyle>
#include <QStyleFactory>

namespace prunelab::gui {

namespace {

const char* const kDarkKey = "appearance/dark";
const char* const kProjectorKey = "appearance/projector";
const char* const kClassroomKey = "classroom/on";
// The font the application started with, kept on the application so that projector mode scales
// it rather than compounding on every toggle.
const char* const kBaseFontProperty = "prunelabBaseFont";
const char* const kAppliedDarkProperty = "prunelabDark";
const char* const kAppliedProjectorProperty = "prunelabProjector";
constexpr double kProjectorScale = 1.5;

QPalette darkPalette() {
    QPalette p;
    const QColor window(45, 45, 48), base(30, 30, 32), text(230, 230, 230);
    const QColor highlight(42, 130, 218), disabled(128, 128, 128);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Link, highlight);
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::PlaceholderText, disabled);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, disabled);
    return p;
}

}  // namespace

Appearance loadAppearance() {
    QSettings settings;
    Appearance a;
    a.dark = settings.value(kDarkKey, false).toBool();
    a.projector = settings.value(kProjectorKey, false).toBool();
    return a;
}

void saveAppearance(const Appearance& appearance) {
    QSettings settings;
    settings.setValue(kDarkKey, appearance.dark);
    settings.setValue(kProjectorKey, appearance.projector);
}

void applyAppearance(const Appearance& appearance) {
    auto* app = qobject_cast<QApplication*>(QCoreApplication::instance());
    if (!app) return;
    if (!app->property(kBaseFontProperty).isValid())
        app->setProperty(kBaseFontProperty, QApplication::font());
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QApplication::setPalette(appearance.dark ? darkPalette()
                                             : QApplication::style()->standardPalette());
    QFont font = app->property(kBaseFontProperty).value<QFont>();
    if (appearance.projector) {
        // A font set in pixels has no point size (-1).
        if (font.pointSizeF() > 0) {
            font.setPointSizeF(font.pointSizeF() * kProjectorScale);
        } else {
            font.setPixelSize(static_cast<int>(font.pixelSize() * kProjectorScale));
        }
    }
    QApplication::setFont(font);
    app->setProperty(kAppliedDarkProperty, appearance.dark);
    app->setProperty(kAppliedProjectorProperty, appearance.projector);
}

bool loadClassroomMode() {
    return QSettings().value(kClassroomKey, false).toBool();
}

void saveClassroomMode(bool on) {
    QSettings().setValue(kClassroomKey, on);
}

Appearance currentAppearance() {
    Appearance a;
    if (QCoreApplication* app = QCoreApplication::instance()) {
        a.dark = app->property(kAppliedDarkProperty).toBool();
        a.projector = app->property(kAppliedProjectorProperty).toBool();
    }
    return a;
}

}  // namespace prunelab::gui
