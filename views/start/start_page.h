// The start page: what the workbench shows when no model is open (and on File > Start Page), as
// big cards a child can click: demos one click away, lessons, open your own model, recent work.
// The app fills a StartSetup with the words, pictures and callbacks; views link no app code.
#pragma once

#include <QFrame>
#include <QImage>
#include <QList>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <functional>

class QLabel;
class QPushButton;
class QVBoxLayout;

namespace prunelab::views {

// One demo card.
struct StartDemo {
    QString id;        // what openDemo receives (a catalog id, e.g. "zoom-x2")
    QString title;     // a few words: "Find the faces"
    QString sentence;  // one sentence a child reads
    QString note;      // a short line under it, e.g. what the small brain is; may be empty
    QString details;   // the tooltip, for a researcher (architecture, which pruned model)
    QString picture;   // a photo for the card; empty or missing: no picture
    // Draws the picture's left half blocky, as the small picture before the zoom.
    bool blockyLeftHalf = false;
};

// One entry of the recent list: a model file, a catalog id or a .prunelab project.
struct StartRecent {
    QString source;        // what openRecent receives
    QString name;          // shown on the card: a file name or a catalog id
    QString kind;          // "project", "model" or "catalog model"
    bool missing = false;  // a file that is no longer there: shown, not clickable
};

struct StartSetup {
    QList<StartDemo> demos;
    std::function<void(const QString& id)> openDemo;
    std::function<void()> chooseFile;
    std::function<void()> chooseCatalogModel;  // empty: no "bundled models" button
    std::function<void(const QString& source)> openRecent;
    // Newest first; read again by refreshRecent().
    std::function<QList<StartRecent>()> recent;
};

// A rounded card in the palette's colours (base on window, a mid border). A clickable card is
// clicked as a whole by the mouse; the keyboard reaches the same action through its button.
class StartCard : public QFrame {
    Q_OBJECT

  public:
    explicit StartCard(bool clickable, QWidget* parent = nullptr);
    QVBoxLayout* body() const { return m_body; }

  signals:
    void clicked();

  protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void enterEvent(QEnterEvent* event) override;
    void leaveEvent(QEvent* event) override;

  private:
    bool m_clickable;
    bool m_hover = false;
    QVBoxLayout* m_body;
};

class StartPage : public QWidget {
    Q_OBJECT

  public:
    explicit StartPage(StartSetup setup, QWidget* parent = nullptr);

    // Reads the recent list again (after a model was opened, or the list was cleared).
    void refreshRecent();
    // Puts `content` in the Lessons card in place of its "coming soon" text (the page owns it).
    void setLessonsContent(QWidget* content);

    // The buttons a test or a keyboard user presses: "demo:<id>", "openFile", "openCatalog",
    // "recent:<n>" (objectName).
    QPushButton* demoButton(const QString& id) const;
    QList<QPushButton*> recentButtons() const;

  private:
    StartCard* makeDemoCard(const StartDemo& demo);
    StartCard* makeLessonsCard();
    StartCard* makeOpenCard();
    StartCard* makeRecentCard();

    StartSetup m_setup;
    QVBoxLayout* m_recentList = nullptr;
    QLabel* m_recentEmpty = nullptr;
    StartCard* m_lessons = nullptr;
    QWidget* m_lessonsComing = nullptr;
};

}  // namespace prunelab::views
