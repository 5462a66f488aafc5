// Help > Keyboard Shortcuts: every shortcut of the window, read from its actions when the dialog
// opens, so the list can never disagree with what the keys do.
#pragma once

#include <QDialog>
#include <QList>

class QAction;
class QShortcut;
class QTableWidget;

namespace prunelab::gui {

// The actions of `window` (its own, its menus' and its children's, each once) that have at
// least one shortcut, in menu order where they are in a menu.
QList<QAction*> actionsWithShortcuts(QWidget* window);
// The views' own shortcuts (QShortcut, e.g. the sparsity map's zoom keys), those named with
// whatsThis: the only text a QShortcut has to show.
QList<QShortcut*> namedShortcuts(QWidget* window);
// An action's text as a person reads it: no '&' mnemonics and no trailing "...".
QString actionName(const QAction* action);

class ShortcutsDialog : public QDialog {
    Q_OBJECT

  public:
    // Lists actionsWithShortcuts(window), then namedShortcuts(window), as they are now.
    explicit ShortcutsDialog(QWidget* window, QWidget* parent = nullptr);

    // One row per action or shortcut: its name and its keys (native text, ", " between).
    QTableWidget* table() const { return m_table; }

  private:
    QTableWidget* m_table;
};

}  // namespace prunelab::gui
