// The start page's cards (see start_page.h).
#include "views/start/start_page.h"

#include <QCommandLinkButton>
#include <QEnterEvent>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QPushButton>
#include <QScrollArea>
#include <QStyle>
#include <QVBoxLayout>

namespace prunelab::views {

namespace {

// Recent entries beyond these would push the page past a 768-pixel screen; the File menu's
// Open Recent keeps them all.
constexpr int kMaxRecentShown = 4;
// The content stops growing here: on a wide screen the cards keep a readable line length.
constexpr int kMaxContentWidth = 1280;

// A label in the widget's font scaled by `scale`, bold when asked, wrapping.
QLabel* textLabel(const QString& text, double scale, bool bold, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    QFont font = label->font();
    font.setPointSizeF(font.pointSizeF() * scale);
    font.setBold(bold);
    label->setFont(font);
    label->setWordWrap(true);
    // Top: a label given the card's spare height keeps its text under the title.
    label->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    return label;
}

// A button a child finds: bold, a little larger than the text around it.
QPushButton* bigButton(const QIcon& icon, const QString& text, QWidget* parent) {
    auto* button = new QPushButton(icon, text, parent);
    QFont font = button->font();
    font.setPointSizeF(font.pointSizeF() * 1.15);
    font.setBold(true);
    button->setFont(font);
    button->setMinimumHeight(button->sizeHint().height() * 5 / 4);
    return button;
}

// A card's photo, filling its width at a fixed height (cropped, never stretched); with
// `blockyLeftHalf` the left half is the same photo at a tenth of its resolution, the way the
// small picture looks before the zoom.
class CardPicture : public QWidget {
  public:
    CardPicture(QImage image, bool blockyLeftHalf, QWidget* parent)
        : QWidget(parent), m_image(std::move(image)) {
        if (blockyLeftHalf && !m_image.isNull()) {
            m_blocky =
                m_image
                    .scaled(std::max(1, m_image.width() / 10), std::max(1, m_image.height() / 10),
                            Qt::IgnoreAspectRatio, Qt::SmoothTransformation)
                    .scaled(m_image.size(), Qt::IgnoreAspectRatio, Qt::FastTransformation);
        }
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
        // Tall enough to see what is in it, short enough for two rows of cards at 768 pixels.
        setFixedHeight(fontMetrics().height() * 8);
    }

  protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing);
        p.setRenderHint(QPainter::SmoothPixmapTransform);
        QPainterPath clip;
        clip.addRoundedRect(QRectF(rect()), 8, 8);
        p.setClipPath(clip);
        // Aspect fill: the image's centre, scaled to cover the whole widget.
        const QSizeF target = QSizeF(m_image.size()).scaled(size(), Qt::KeepAspectRatioByExpanding);
        const QRectF drawn((width() - target.width()) / 2, (height() - target.height()) / 2,
                           target.width(), target.height());
        p.drawImage(drawn, m_image);
        if (m_blocky.isNull()) return;
        p.save();
        p.setClipRect(QRectF(0, 0, width() / 2.0, height()), Qt::IntersectClip);
        p.drawImage(drawn, m_blocky);
        p.restore();
        p.setPen(QPen(Qt::white, 2));
        p.drawLine(QPointF(width() / 2.0, 0), QPointF(width() / 2.0, height()));
    }

  private:
    QImage m_image, m_blocky;
};

// The photo at about the size a card shows it (JPEG decodes scaled, so a large photo is cheap).
QImage loadPicture(const QString& path) {
    if (path.isEmpty()) return {};
    QImageReader reader(path);
    constexpr int kWidth = 480;
    const QSize full = reader.size();
    if (full.isValid() && full.width() > kWidth)
        reader.setScaledSize(full.scaled(kWidth, full.height(), Qt::KeepAspectRatio));
    return reader.read();  // null when missing or unreadable: the card goes without
}

}  // namespace

StartCard::StartCard(bool clickable, QWidget* parent)
    : QFrame(parent), m_clickable(clickable), m_body(new QVBoxLayout(this)) {
    const int pad = fontMetrics().height();
    m_body->setContentsMargins(pad, pad, pad, pad);
    m_body->setSpacing(pad / 2);
    if (clickable) setCursor(Qt::PointingHandCursor);
    setAttribute(Qt::WA_Hover, clickable);
}

void StartCard::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const bool lit = m_clickable && m_hover;
    p.setPen(QPen(palette().color(lit ? QPalette::Highlight : QPalette::Mid), lit ? 3 : 1.5));
    p.setBrush(palette().base());
    p.drawRoundedRect(QRectF(rect()).adjusted(1.5, 1.5, -1.5, -1.5), 12, 12);
}

void StartCard::mousePressEvent(QMouseEvent* event) {
    // Accepted, so the release comes back here (a label inside passes its press on to us).
    if (m_clickable && event->button() == Qt::LeftButton) {
        event->accept();
        return;
    }
    QFrame::mousePressEvent(event);
}

void StartCard::mouseReleaseEvent(QMouseEvent* event) {
    if (m_clickable && event->button() == Qt::LeftButton && rect().contains(event->pos())) {
        emit clicked();
        return;
    }
    QFrame::mouseReleaseEvent(event);
}

void StartCard::enterEvent(QEnterEvent* event) {
    m_hover = true;
    update();
    QFrame::enterEvent(event);
}

void StartCard::leaveEvent(QEvent* event) {
    m_hover = false;
    update();
    QFrame::leaveEvent(event);
}

StartPage::StartPage(StartSetup setup, QWidget* parent)
    : QWidget(parent), m_setup(std::move(setup)) {
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    auto* scroll = new QScrollArea(this);
    scroll->setObjectName(QStringLiteral("startScroll"));
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    outer->addWidget(scroll);

    auto* canvas = new QWidget(scroll);
    auto* centred = new QHBoxLayout(canvas);
    auto* content = new QWidget(canvas);
    content->setMaximumWidth(kMaxContentWidth);
    centred->addStretch(0);
    centred->addWidget(content, 1);
    centred->addStretch(0);
    scroll->setWidget(canvas);

    const int em = fontMetrics().height();
    auto* column = new QVBoxLayout(content);
    column->setContentsMargins(em, em / 2, em, em);
    column->setSpacing(em);

    auto* heading = new QVBoxLayout;
    heading->setSpacing(em / 4);
    heading->addWidget(textLabel(tr("Welcome to PruneLab"), 1.8, true, content));
    heading->addWidget(textLabel(tr("A neural network can lose most of its connections and "
                                    "still do its job, faster. Pick a demo and watch."),
                                 1.1, false, content));
    column->addLayout(heading);

    auto* demos = new QHBoxLayout;
    demos->setSpacing(em);
    for (const StartDemo& demo : m_setup.demos) demos->addWidget(makeDemoCard(demo), 1);
    column->addLayout(demos);

    auto* more = new QHBoxLayout;
    more->setSpacing(em);
    more->addWidget(makeOpenCard(), 1);
    more->addWidget(makeRecentCard(), 1);
    more->addWidget(makeLessonsCard(), 1);
    column->addLayout(more);
    column->addStretch(1);
    refreshRecent();
}

StartCard* StartPage::makeDemoCard(const StartDemo& demo) {
    auto* card = new StartCard(/*clickable=*/true, this);
    card->setObjectName(QStringLiteral("demoCard:%1").arg(demo.id));
    card->setToolTip(demo.details);
    QVBoxLayout* body = card->body();
    const QImage picture = loadPicture(demo.picture);
    if (!picture.isNull()) body->addWidget(new CardPicture(picture, demo.blockyLeftHalf, card));
    body->addWidget(textLabel(demo.title, 1.35, true, card));
    body->addWidget(textLabel(demo.sentence, 1.0, false, card), 1);
    if (!demo.note.isEmpty()) {
        QLabel* note = textLabel(demo.note, 0.9, false, card);
        note->setForegroundRole(QPalette::PlaceholderText);
        body->addWidget(note);
    }
    // A text arrow, not the style's icon: it takes the palette's text colour (the icon stays
    // black on a dark button).
    auto* start = bigButton(QIcon(), tr("▶ Start"), card);
    start->setObjectName(QStringLiteral("demo:%1").arg(demo.id));
    start->setToolTip(tr("Open the model and start it on the camera or the bundled video"));
    body->addWidget(start);
    const QString id = demo.id;
    auto open = [this, id] {
        if (m_setup.openDemo) m_setup.openDemo(id);
    };
    connect(start, &QPushButton::clicked, this, open);
    connect(card, &StartCard::clicked, this, open);
    return card;
}

StartCard* StartPage::makeLessonsCard() {
    m_lessons = new StartCard(/*clickable=*/false, this);
    m_lessons->setObjectName(QStringLiteral("lessonsCard"));
    QVBoxLayout* body = m_lessons->body();
    body->addWidget(textLabel(tr("Lessons"), 1.35, true, m_lessons));
    m_lessonsComing = textLabel(tr("Coming soon: short lessons that show, one step at a time, "
                                   "how a network is made smaller and what it keeps."),
                                1.0, false, m_lessons);
    body->addWidget(m_lessonsComing);
    body->addStretch(1);
    return m_lessons;
}

void StartPage::setLessonsContent(QWidget* content) {
    QVBoxLayout* body = m_lessons->body();
    if (m_lessonsComing) {
        body->removeWidget(m_lessonsComing);
        delete m_lessonsComing;
        m_lessonsComing = nullptr;
    }
    content->setParent(m_lessons);
    body->insertWidget(1, content, 1);
}

StartCard* StartPage::makeOpenCard() {
    auto* card = new StartCard(/*clickable=*/true, this);
    card->setObjectName(QStringLiteral("openCard"));
    QVBoxLayout* body = card->body();
    body->addWidget(textLabel(tr("Open your own model"), 1.35, true, card));
    body->addWidget(textLabel(tr("An ONNX, ncnn or waifu2x model, or a saved project. You can "
                                 "also drop a file onto this window."),
                              1.0, false, card),
                    1);
    // One above the other: side by side they widen the card past its share in projector mode.
    auto* open =
        bigButton(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("Open a file…"), card);
    open->setObjectName(QStringLiteral("openFile"));
    body->addWidget(open);
    auto choose = [this] {
        if (m_setup.chooseFile) m_setup.chooseFile();
    };
    connect(open, &QPushButton::clicked, this, choose);
    connect(card, &StartCard::clicked, this, choose);
    if (m_setup.chooseCatalogModel) {
        auto* catalog = bigButton(QIcon(), tr("Bundled models…"), card);
        catalog->setObjectName(QStringLiteral("openCatalog"));
        catalog->setToolTip(tr("Every model that comes with PruneLab, with what it does"));
        connect(catalog, &QPushButton::clicked, this, [this] { m_setup.chooseCatalogModel(); });
        body->addWidget(catalog);
    }
    return card;
}

StartCard* StartPage::makeRecentCard() {
    auto* card = new StartCard(/*clickable=*/false, this);
    card->setObjectName(QStringLiteral("recentCard"));
    QVBoxLayout* body = card->body();
    body->addWidget(textLabel(tr("Recent projects and models"), 1.35, true, card));
    m_recentEmpty =
        textLabel(tr("The models and projects you open will be listed here."), 1.0, false, card);
    body->addWidget(m_recentEmpty);
    m_recentList = new QVBoxLayout;
    m_recentList->setSpacing(0);
    body->addLayout(m_recentList);
    body->addStretch(1);
    return card;
}

void StartPage::refreshRecent() {
    while (QLayoutItem* item = m_recentList->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    const QList<StartRecent> recent = m_setup.recent ? m_setup.recent() : QList<StartRecent>{};
    m_recentEmpty->setVisible(recent.isEmpty());
    for (int i = 0; i < recent.size() && i < kMaxRecentShown; ++i) {
        const StartRecent& r = recent[i];
        auto* button = new QCommandLinkButton(
            r.name, r.missing ? tr("%1, no longer there").arg(r.kind) : r.kind, this);
        button->setObjectName(QStringLiteral("recent:%1").arg(i));
        button->setToolTip(r.source);
        button->setEnabled(!r.missing);
        const QString source = r.source;
        connect(button, &QPushButton::clicked, this, [this, source] {
            if (m_setup.openRecent) m_setup.openRecent(source);
        });
        m_recentList->addWidget(button);
    }
}

QPushButton* StartPage::demoButton(const QString& id) const {
    return findChild<QPushButton*>(QStringLiteral("demo:%1").arg(id));
}

QList<QPushButton*> StartPage::recentButtons() const {
    QList<QPushButton*> out;
    for (int i = 0; i < m_recentList->count(); ++i)
        if (auto* b = qobject_cast<QPushButton*>(m_recentList->itemAt(i)->widget())) out << b;
    return out;
}

}  // namespace prunelab::views
