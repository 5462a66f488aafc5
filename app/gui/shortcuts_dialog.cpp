// The keyboard shortcuts list (see shortcuts_dialog.h).
#include "app/gui/shortcuts_dialog.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QMenu>
#include <QMenuBar>
#include <QSet>
#include <QShortcut>
#include <QTableWidget>
#include <QVBoxLayout>

namespace prunelab::gui {

namespace {

void collect(const QList<QAction*>& actions, QList<QAction*>& out, QSet<QAction*>& seen) {
    for (QAction* a : actions) {
        if (seen.contains(a)) continue;
        seen.insert(a);
        if (!a->shortcuts().isEmpty() && !a->isSeparator()) out << a;
        if (QMenu* sub = a->menu()) collect(sub->actions(), out, seen);
    }
}

}  // namespace

QList<QAction*> actionsWithShortcuts(QWidget* window) {
    QList<QAction*> out;
    QSet<QAction*> seen;
    // Menus first, so the list reads in the order a person finds the actions; then any action
    // that lives only on a widget (a shortcut with no menu entry still takes its key).
    for (QMenuBar* bar : window->findChildren<QMenuBar*>()) collect(bar->actions(), out, seen);
    collect(window->actions(), out, seen);
    collect(window->findChildren<QAction*>(), out, seen);
    return out;
}

QList<QShortcut*> namedShortcuts(QWidget* window) {
    QList<QShortcut*> out;
    for (QShortcut* s : window->findChildren<QShortcut*>())
        if (!s->key().isEmpty() && !s->whatsThis().isEmpty()) out << s;
    return out;
}

QString actionName(const QAction* action) {
    QString name = action->text();
    // "&&" is a literal ampersand; a single '&' marks the mnemonic.
    name.replace(QLatin1String("&&"), QString(QChar(0x1)));
    name.remove(QLatin1Char('&'));
    name.replace(QChar(0x1), QLatin1Char('&'));
    if (name.endsWith(QLatin1String("..."))) name.chop(3);
    return name;
}

ShortcutsDialog::ShortcutsDialog(QWidget* window, QWidget* parent)
    : QDialog(parent), m_table(new QTableWidget(this)) {
    setWindowTitle(tr("Keyboard Shortcuts"));
    m_table->setColumnCount(2);
    m_table->setHorizontalHeaderLabels({tr("Action"), tr("Shortcut")});
    auto addRow = [this](const QString& name, const QList<QKeySequence>& sequences) {
        QStringList keys;
        for (const QKeySequence& k : sequences) keys << k.toString(QKeySequence::NativeText);
        const int row = m_table->rowCount();
        m_table->insertRow(row);
        m_table->setItem(row, 0, new QTableWidgetItem(name));
        m_table->setItem(row, 1, new QTableWidgetItem(keys.join(QLatin1String(", "))));
    };
    for (const QAction* a : actionsWithShortcuts(window)) addRow(actionName(a), a->shortcuts());
    for (const QShortcut* s : namedShortcuts(window)) addRow(s->whatsThis(), s->keys());
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->resizeColumnsToContents();
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_table);
    layout->addWidget(buttons);
    resize(420, 480);
}

}  // namespace prunelab::gui
