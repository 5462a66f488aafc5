// One lane of the Live tab: the picture with its result drawn, the lane's name, FPS and
// latency on top; for image-to-image models a before/after split a person drags. Also the
// latency sparkline under the panes. Plain painting, no engine calls.
#pragma once

#include <QImage>
#include <QString>
#include <QWidget>
#include <vector>

namespace prunelab::views {

class LivePane : public QWidget {
    Q_OBJECT

  public:
    explicit LivePane(const QString& title, QWidget* parent = nullptr);

    // `after` is the lane's picture; `before`, when set, is shown left of the split.
    void setFrame(const QImage& after, const QImage& before = {});
    void setNumbers(const QString& numbers);  // "8.4 fps · 119 ms (p90 122 ms)"
    void setTitle(const QString& title);
    QString title() const { return m_title; }
    void setSplitEnabled(bool on);
    double split() const { return m_split; }  // 0..1 of the picture's width
    void setSplit(double split);
    bool hasFrame() const { return !m_after.isNull(); }
    QString numbers() const { return m_numbers; }

  signals:
    void splitMoved(double split);  // so the other pane follows

  protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

  private:
    QRect pictureRect() const;

    QString m_title, m_numbers;
    QImage m_after, m_before;
    bool m_splitEnabled = false;
    double m_split = 0.5;
};

// Two latency series over the last frames (lane A and lane B), ms on a shared scale.
class LatencySparkline : public QWidget {
    Q_OBJECT

  public:
    explicit LatencySparkline(QWidget* parent = nullptr);
    void add(double a, double b);
    void clear();
    int points() const { return static_cast<int>(m_a.size()); }
    QSize sizeHint() const override { return {400, 70}; }

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    std::vector<double> m_a, m_b;
};

}  // namespace prunelab::views
