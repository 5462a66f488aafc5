// Painting of the Live tab's panes and sparkline (see live_pane.h).
#include "views/live/live_pane.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <algorithm>

namespace prunelab::views {

namespace {
constexpr size_t kSparkPoints = 120;  // 12 s of frames at 10 fps
}

LivePane::LivePane(const QString& title, QWidget* parent) : QWidget(parent), m_title(title) {
    setMinimumSize(160, 120);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void LivePane::setFrame(const QImage& after, const QImage& before) {
    m_after = after;
    m_before = before;
    update();
}

void LivePane::setNumbers(const QString& numbers) {
    m_numbers = numbers;
    update();
}

void LivePane::setTitle(const QString& title) {
    m_title = title;
    update();
}

void LivePane::setSplitEnabled(bool on) {
    m_splitEnabled = on;
    setCursor(on ? Qt::SplitHCursor : Qt::ArrowCursor);
    update();
}

void LivePane::setSplit(double split) {
    m_split = std::clamp(split, 0.0, 1.0);
    update();
}

QRect LivePane::pictureRect() const {
    if (m_after.isNull()) return {};
    QSize size = m_after.size().scaled(this->size(), Qt::KeepAspectRatio);
    return QRect(QPoint((width() - size.width()) / 2, (height() - size.height()) / 2), size);
}

void LivePane::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), Qt::black);  // a picture's frame: black in either palette
    const QRect r = pictureRect();
    if (!m_after.isNull()) {
        p.setRenderHint(QPainter::SmoothPixmapTransform);
        p.drawImage(r, m_after);
        if (m_splitEnabled && !m_before.isNull()) {
            // Before on the left of the split, after on the right, on the same rectangle: the
            // low-resolution picture is scaled up as a plain resize would.
            const int x = r.left() + static_cast<int>(m_split * r.width());
            const QRect left(r.left(), r.top(), x - r.left(), r.height());
            p.save();
            p.setClipRect(left);
            p.drawImage(r, m_before);
            p.restore();
            p.setPen(QPen(Qt::white, 2));
            p.drawLine(x, r.top(), x, r.bottom());
            p.drawText(QRect(r.left() + 6, r.bottom() - 24, 200, 20), Qt::AlignLeft, tr("before"));
            p.drawText(QRect(r.right() - 206, r.bottom() - 24, 200, 20), Qt::AlignRight,
                       tr("after"));
        }
    }
    // Title and numbers on a dark band, readable on any picture and from the back of a room.
    // As big as fits: 1.4x the UI font on a wide pane, down to the UI font on a narrow one (a
    // lesson's panel open at 1024x768), then elided rather than cut mid-word.
    const QString numbers = m_numbers.isEmpty() ? tr("waiting for frames…") : m_numbers;
    const int room = width() - 16;
    const qreal smallest = font().pointSizeF();
    QFont big = font();
    big.setBold(true);
    for (qreal size = smallest * 1.4; size >= smallest; size -= 0.5) {
        big.setPointSizeF(size);
        const QFontMetrics m(big);
        if (std::max(m.horizontalAdvance(m_title), m.horizontalAdvance(numbers)) <= room) break;
    }
    p.setFont(big);
    const QFontMetrics metrics(big);
    const int band = metrics.height() * 2 + 10;
    p.fillRect(QRect(0, 0, width(), band), QColor(0, 0, 0, 170));
    p.setPen(Qt::white);
    p.drawText(QRect(8, 4, room, band / 2), Qt::AlignLeft | Qt::AlignVCenter,
               metrics.elidedText(m_title, Qt::ElideRight, room));
    p.drawText(QRect(8, band / 2, room, band / 2 - 4), Qt::AlignLeft | Qt::AlignVCenter,
               metrics.elidedText(numbers, Qt::ElideRight, room));
}

void LivePane::mousePressEvent(QMouseEvent* event) {
    mouseMoveEvent(event);
}

void LivePane::mouseMoveEvent(QMouseEvent* event) {
    const QRect r = pictureRect();
    if (!m_splitEnabled || r.width() <= 0 || !(event->buttons() & Qt::LeftButton)) return;
    setSplit((event->position().x() - r.left()) / r.width());
    emit splitMoved(m_split);
}

LatencySparkline::LatencySparkline(QWidget* parent) : QWidget(parent) {
    setMinimumHeight(50);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void LatencySparkline::add(double a, double b) {
    m_a.push_back(a);
    m_b.push_back(b);
    if (m_a.size() > kSparkPoints) {
        m_a.erase(m_a.begin());
        m_b.erase(m_b.begin());
    }
    update();
}

void LatencySparkline::clear() {
    m_a.clear();
    m_b.clear();
    update();
}

void LatencySparkline::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    if (m_a.empty()) return;
    double top = 1;
    for (size_t i = 0; i < m_a.size(); ++i) top = std::max({top, m_a[i], m_b[i]});
    top *= 1.1;
    const QRectF area = QRectF(rect()).adjusted(4, 4, -120, -4);
    auto line = [&](const std::vector<double>& v) {
        QPainterPath path;
        for (size_t i = 0; i < v.size(); ++i) {
            const double x = area.left() + area.width() * static_cast<double>(i) /
                                               static_cast<double>(kSparkPoints - 1);
            const double y = area.bottom() - area.height() * v[i] / top;
            if (i == 0) {
                path.moveTo(x, y);
            } else {
                path.lineTo(x, y);
            }
        }
        return path;
    };
    p.setRenderHint(QPainter::Antialiasing);
    // Lane colours as the panes' legends below name them: orange dense, blue pruned.
    const QColor dense(230, 120, 20), pruned(30, 120, 220);
    p.setPen(QPen(dense, 2));
    p.drawPath(line(m_a));
    p.setPen(QPen(pruned, 2));
    p.drawPath(line(m_b));
    p.setPen(palette().color(QPalette::Text));
    const QRect legend(static_cast<int>(area.right()) + 8, 4, 112, height() - 8);
    p.drawText(legend, Qt::AlignLeft | Qt::AlignTop, tr("%1 ms max\n").arg(top / 1.1, 0, 'f', 0));
    p.setPen(dense);
    p.drawText(legend, Qt::AlignLeft | Qt::AlignVCenter, tr("— dense"));
    p.setPen(pruned);
    p.drawText(legend, Qt::AlignLeft | Qt::AlignBottom, tr("— pruned"));
}

}  // namespace prunelab::views
