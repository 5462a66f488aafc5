// The W / Z / U animation of the retrain panel (see admm_animation.h).
#include "views/train/admm_animation.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QSlider>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "views/sparsity/colour_map.h"

namespace prunelab::views {

namespace {
// A corner of the layer is enough to see convergence; all of a 64x64 layer would be dots.
constexpr int64_t kMaxFilters = 12, kMaxKernels = 12;
constexpr int kIntervalMs = 500;  // two updates a second: slow enough to follow
}  // namespace

// Paints the three matrices of the current frame.
class AdmmAnimation::Canvas : public QWidget {
  public:
    explicit Canvas(AdmmAnimation* owner) : QWidget(owner), m_owner(owner) {
        setMinimumSize(360, 140);
    }

  protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.fillRect(rect(), palette().base());
        const AdmmAnimation& a = *m_owner;
        if (a.m_current < 0) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                       tr("W, Z and U of the selected layer appear here at each ADMM update."));
            return;
        }
        const Frame& f = a.m_frames[static_cast<size_t>(a.m_current)];
        const int64_t rows = std::min(a.m_out, kMaxFilters);
        const int64_t kernels = std::min(a.m_in, kMaxKernels);
        const int64_t cols = kernels * a.m_kw;
        const int label = fontMetrics().height() + 4;
        const int panelWidth = (width() - 40) / 3;
        const int cell =
            std::max(1, static_cast<int>(std::min<int64_t>(
                            panelWidth / std::max<int64_t>(cols + kernels, 1),
                            (height() - label - 8) / std::max<int64_t>(rows * (a.m_kh + 1), 1))));
        const struct {
            const std::vector<float>* values;
            float scale;
            QString title, shortTitle;  // the short one where the long one does not fit
        } panels[] = {{&f.w, a.m_scale, tr("W (weights)"), tr("W")},
                      {&f.z, a.m_scale, tr("Z (projected)"), tr("Z")},
                      // U is a small accumulated gap; on W's scale it would be all dark.
                      {&f.u, f.uScale, tr("U (running gap, own scale)"), tr("U (own scale)")}};
        int x0 = 10;
        for (const auto& panel : panels) {
            p.setPen(palette().color(QPalette::Text));
            const bool fits = fontMetrics().horizontalAdvance(panel.title) <= panelWidth;
            p.drawText(QRect(x0, 2, panelWidth, label), Qt::AlignLeft | Qt::AlignVCenter,
                       fontMetrics().elidedText(fits ? panel.title : panel.shortTitle,
                                                Qt::ElideRight, panelWidth));
            for (int64_t o = 0; o < rows; ++o) {
                for (int64_t i = 0; i < kernels; ++i) {
                    for (int64_t y = 0; y < a.m_kh; ++y) {
                        for (int64_t x = 0; x < a.m_kw; ++x) {
                            const size_t at =
                                static_cast<size_t>(((o * a.m_in + i) * a.m_kh + y) * a.m_kw + x);
                            const float v = (*panel.values)[at];
                            const QRect r(x0 + static_cast<int>((i * (a.m_kw + 1) + x) * cell),
                                          label + static_cast<int>((o * (a.m_kh + 1) + y) * cell),
                                          cell, cell);
                            // An exact zero is a pruned weight: blank, as in the sparsity map.
                            if (v == 0.0f) {
                                p.fillRect(r, palette().alternateBase());
                            } else {
                                p.fillRect(r, viridis(std::abs(v) / panel.scale));
                            }
                        }
                    }
                }
            }
            x0 += panelWidth + 10;
        }
    }

  private:
    AdmmAnimation* m_owner;
};

AdmmAnimation::AdmmAnimation(QWidget* parent)
    : QWidget(parent),
      m_canvas(new Canvas(this)),
      m_slider(new QSlider(Qt::Horizontal, this)),
      m_play(new QPushButton(tr("Play"), this)),
      m_caption(new QLabel(this)),
      m_timer(new QTimer(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_caption);
    layout->addWidget(m_canvas, 1);
    auto* controls = new QHBoxLayout;
    controls->addWidget(m_play);
    controls->addWidget(m_slider, 1);
    layout->addLayout(controls);
    m_caption->setWordWrap(true);
    m_slider->setEnabled(false);
    m_play->setEnabled(false);
    m_timer->setInterval(kIntervalMs);
    connect(m_slider, &QSlider::valueChanged, this, &AdmmAnimation::showFrame);
    connect(m_play, &QPushButton::clicked, this, [this] { setPlaying(!isPlaying()); });
    connect(m_timer, &QTimer::timeout, this, [this] {
        if (m_current + 1 >= frames()) {
            setPlaying(false);
            return;
        }
        showFrame(m_current + 1);
    });
    updateCaption();
}

void AdmmAnimation::clear() {
    setPlaying(false);
    m_frames.clear();
    m_current = -1;
    m_slider->setRange(0, 0);
    m_slider->setEnabled(false);
    m_play->setEnabled(false);
    updateCaption();
    m_canvas->update();
}

void AdmmAnimation::addSnapshot(const engine::train::AdmmSnapshot& snapshot,
                                const QString& layerName) {
    const engine::Shape& s = snapshot.w.shape();
    if (s.size() != 4 || snapshot.z.shape() != s || snapshot.u.shape() != s) return;
    if (!m_frames.empty() && (s[0] != m_out || s[1] != m_in || layerName != m_layerName))
        clear();  // another layer: its frames do not continue these
    const bool following = m_current == frames() - 1;
    m_out = s[0], m_in = s[1], m_kh = s[2], m_kw = s[3];
    m_layerName = layerName;
    Frame f;
    f.iteration = snapshot.admmIteration;
    f.w = snapshot.w.toFloatVector();
    f.z = snapshot.z.toFloatVector();
    f.u = snapshot.u.toFloatVector();
    double sum = 0;
    for (size_t i = 0; i < f.w.size(); ++i) {
        const double d = static_cast<double>(f.w[i]) - f.z[i];
        sum += d * d;
    }
    f.distance = std::sqrt(sum);
    float uPeak = 0;
    for (float v : f.u) uPeak = std::max(uPeak, std::abs(v));
    f.uScale = uPeak > 0 ? uPeak : 1;
    if (m_frames.empty()) {
        float peak = 0;
        for (float v : f.w) peak = std::max(peak, std::abs(v));
        m_scale = peak > 0 ? peak : 1;
    }
    m_frames.push_back(std::move(f));
    m_slider->setRange(0, frames() - 1);
    m_slider->setEnabled(true);
    m_play->setEnabled(frames() > 1);
    if (following || m_current < 0) showFrame(frames() - 1);
    updateCaption();
}

void AdmmAnimation::showFrame(int frame) {
    if (frame < 0 || frame >= frames()) return;
    m_current = frame;
    if (m_slider->value() != frame) m_slider->setValue(frame);
    updateCaption();
    m_canvas->update();
}

void AdmmAnimation::setPlaying(bool playing) {
    if (playing && frames() > 1) {
        if (m_current >= frames() - 1) showFrame(0);  // play from the start again
        m_timer->start();
    } else {
        m_timer->stop();
    }
    m_play->setText(m_timer->isActive() ? tr("Pause") : tr("Play"));
}

bool AdmmAnimation::isPlaying() const {
    return m_timer->isActive();
}

double AdmmAnimation::distance(int frame) const {
    if (frame < 0 || frame >= frames()) return 0;
    return m_frames[static_cast<size_t>(frame)].distance;
}

void AdmmAnimation::updateCaption() {
    if (m_current < 0) {
        m_caption->setText(
            tr("ADMM: W is trained toward Z, the nearest weights the scheme "
               "allows; U adds up the remaining gap."));
        return;
    }
    const Frame& f = m_frames[static_cast<size_t>(m_current)];
    m_caption->setText(tr("%1, update %2 of %3: ||W - Z|| = %4 (first %5 filters x %6 inputs)")
                           .arg(m_layerName)
                           .arg(f.iteration + 1)
                           .arg(frames())
                           .arg(f.distance, 0, 'g', 4)
                           .arg(std::min(m_out, kMaxFilters))
                           .arg(std::min(m_in, kMaxKernels)));
}

}  // namespace prunelab::views
