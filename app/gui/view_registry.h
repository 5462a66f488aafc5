// The workbench's views, listed once: the name --view and the lessons use, the title of its tab,
// where it sits and how it is made. --view, the tabs (built in this order), the View menu and
// the lessons all read this list; adding a view is one line in view_registry.cpp plus its files.
#pragma once

#include <QString>
#include <QStringList>
#include <span>

class QWidget;

namespace prunelab::views {
class ExperimentLog;
class ModelSession;
}  // namespace prunelab::views

namespace prunelab::gui {

class AnalysisTabs;

enum class ViewPlace {
    Table,  // the layer table beside the tabs (the window's own, made by MainWindow)
    Dock,   // the Prune dock (the window's own, made by MainWindow)
    Tab,    // a tab of the analysis tabs, made by the entry's factory
};

// What a tab's factory builds its page from; the page is a child of `tabs`.
struct ViewHost {
    AnalysisTabs* tabs = nullptr;
    views::ModelSession* session = nullptr;
    views::ExperimentLog* log = nullptr;  // null: the views that need one are left out
};

struct ViewInfo {
    const char* name;   // --view NAME, a lesson's "view", AnalysisTabs::page(name)
    const char* title;  // untranslated; viewTitle() translates it
    ViewPlace place;
    // Tab pages only (null otherwise): the page, or nullptr when this window has no such view
    // (Compare without an experiment log).
    QWidget* (*make)(const ViewHost& host);
};

// Every view, in the order of the tabs and the View menu.
std::span<const ViewInfo> workbenchViews();
// The view called `name`; nullptr when there is none.
const ViewInfo* findView(const QString& name);
// Every view's name in list order: for --view's help and its error.
QStringList viewNames();
// The view's title as its tab and menu item show it.
QString viewTitle(const ViewInfo& view);

}  // namespace prunelab::gui
