// W, Z and U of one layer at each ADMM update, side by side and played in order: W (the trained
// weights) is pulled toward Z (W + U projected onto the scheme's constraint set) until the two
// agree and the hard prune changes almost nothing. Kernels are drawn as in the sparsity view.
#pragma once

#include <QString>
#include <QWidget>
#include <vector>

#include "engine/train/trainer.h"

class QLabel;
class QPushButton;
class QSlider;
class QTimer;

namespace prunelab::views {

class AdmmAnimation : public QWidget {
    Q_OBJECT

  public:
    explicit AdmmAnimation(QWidget* parent = nullptr);

    void clear();
    // Appends one update of the watched layer; the newest is shown unless the person moved the
    // slider back to look at an earlier one.
    void addSnapshot(const engine::train::AdmmSnapshot& snapshot, const QString& layerName);
    int frames() const { return static_cast<int>(m_frames.size()); }
    int currentFrame() const { return m_current; }
    void showFrame(int frame);
    void setPlaying(bool playing);
    bool isPlaying() const;
    // ||W - Z|| (Frobenius) at `frame`: what the animation shows shrinking.
    double distance(int frame) const;

  private:
    class Canvas;
    struct Frame {
        int iteration = 0;
        std::vector<float> w, z, u;
        double distance = 0;
        float uScale = 1;  // U's own peak: its values are far smaller than W's
    };
    void updateCaption();

    std::vector<Frame> m_frames;
    int64_t m_out = 0, m_in = 0, m_kh = 1, m_kw = 1;
    float m_scale = 1;  // |W| of the first frame's largest weight: fixed, so change is visible
    int m_current = -1;
    QString m_layerName;
    Canvas* m_canvas;
    QSlider* m_slider;
    QPushButton* m_play;
    QLabel* m_caption;
    QTimer* m_timer;
};

}  // namespace prunelab::views
