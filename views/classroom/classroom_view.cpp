// Classroom mode (see classroom_view.h): the slider drives the owned LiveView's lane B, the meter
// reads its rolling medians, and the thumbnail's re-prune runs on the thread pool.
#include "views/classroom/classroom_view.h"

#include <QApplication>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QSlider>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent>
#include <algorithm>
#include <cmath>

#include "engine/live/lanes.h"
#include "views/common/engine_text.h"
#include "views/live/live_pane.h"
#include "views/session/model_session.h"

namespace prunelab::views {

namespace {

constexpr int kThumbnailDebounceMs = 300;
constexpr int kMaxThumbnailKernels = 12;  // per side for 3x3 layers: each kernel still readable
constexpr int kMaxThumbnailCells = 40;    // per side for 1x1 layers
constexpr double kMeterTop = 4.0;         // the bar's right end, unless the speedup is beyond it

// Kept and removed connections: a warm colour on near black reads on any projector, and in grey.
constexpr QRgb kKept = 0xfff6c945;
constexpr QRgb kRemoved = 0xff50505c;
constexpr QRgb kBackground = 0xff0c0c10;  // and the gaps between kernels

// The classroom's type size: large for the back of a room, but not so large that the window
// stops fitting 1024x768 when projector mode has already made the application font larger.
QFont classroomFont(QFont font, double scale) {
    if (font.pointSizeF() > 0) {
        font.setPointSizeF(std::clamp(font.pointSizeF() * 1.5, 14.0, 18.0) * scale);
    } else {
        font.setPixelSize(static_cast<int>(std::clamp(font.pixelSize() * 1.5, 19.0, 24.0) * scale));
    }
    return font;
}

QFont bold(QFont font) {
    font.setBold(true);
    return font;
}

// The pruned layer a thumbnail shows: the largest 3x3 layer with more than one input channel
// (a depthwise layer's kernels have no connections between channels to remove), else the
// largest pruned layer; -1 when the plan prunes none.
int representativeLayer(const engine::prune::PrunedModel& model) {
    int best = -1;
    int64_t bestScore = -1;
    for (size_t i = 0; i < model.layers.size(); ++i) {
        const auto& l = model.layers[i];
        if (l.how == engine::prune::LayerPruning::How::Dense) continue;
        const int64_t weights = l.layer.outChannels * l.layer.inPerGroup * l.layer.kh * l.layer.kw;
        const bool preferred = l.layer.kh == 3 && l.layer.kw == 3 && l.layer.inPerGroup > 1;
        // Preferred layers rank above every other one.
        const int64_t score = weights + (preferred ? (int64_t{1} << 40) : 0);
        if (score > bestScore) {
            bestScore = score;
            best = static_cast<int>(i);
        }
    }
    return best;
}

}  // namespace

// ---- RemovedThumbnail -------------------------------------------------------------------------

RemovedThumbnail::RemovedThumbnail(QWidget* parent) : QWidget(parent) {
    setMinimumSize(120, 120);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Expanding);
}

void RemovedThumbnail::setData(SparsityData data) {
    m_data = std::move(data);
    update();
}

int RemovedThumbnail::shownFilters() const {
    const int limit = m_data.kernelSize() > 1 ? kMaxThumbnailKernels : kMaxThumbnailCells;
    return static_cast<int>(std::min<int64_t>(m_data.outChannels, limit));
}

int RemovedThumbnail::shownChannels() const {
    const int limit = m_data.kernelSize() > 1 ? kMaxThumbnailKernels : kMaxThumbnailCells;
    return static_cast<int>(std::min<int64_t>(m_data.inPerGroup, limit));
}

void RemovedThumbnail::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const int side = std::min(width(), height());
    const QRect square((width() - side) / 2, (height() - side) / 2, side, side);
    p.fillRect(square, QColor::fromRgb(kBackground));
    if (!hasData()) {
        p.setPen(Qt::white);
        p.drawText(square, Qt::AlignCenter | Qt::TextWordWrap, tr("…"));
        return;
    }
    // One kernel = kh x kw cells and a one-cell gap; the grid is filters down, channels across.
    const int rows = shownFilters(), cols = shownChannels();
    const int kh = static_cast<int>(m_data.kh), kw = static_cast<int>(m_data.kw);
    const int gap = m_data.kernelSize() > 1 ? 1 : 0;
    const int unitsX = cols * (kw + gap) + gap, unitsY = rows * (kh + gap) + gap;
    const double unit = static_cast<double>(side) / std::max(unitsX, unitsY);
    const double x0 = square.left() + (side - unit * unitsX) / 2;
    const double y0 = square.top() + (side - unit * unitsY) / 2;
    for (int o = 0; o < rows; ++o) {
        for (int i = 0; i < cols; ++i) {
            for (int y = 0; y < kh; ++y) {
                for (int x = 0; x < kw; ++x) {
                    const int64_t k = ((o * m_data.inPerGroup + i) * kh + y) * kw + x;
                    const bool kept = m_data.kept[static_cast<size_t>(k)] != 0;
                    const QRectF cell(x0 + unit * (gap + i * (kw + gap) + x),
                                      y0 + unit * (gap + o * (kh + gap) + y), unit, unit);
                    p.fillRect(cell, QColor::fromRgb(kept ? kKept : kRemoved));
                }
            }
        }
    }
}

// ---- SpeedMeter -------------------------------------------------------------------------------

SpeedMeter::SpeedMeter(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void SpeedMeter::setSpeedup(double speedup, bool warmingUp, double noise) {
    m_speedup = std::isfinite(speedup) && speedup > 0 ? speedup : 0;
    m_warmingUp = warmingUp;
    m_noise = std::max(noise, 0.05);
    update();
}

QString SpeedMeter::text() const {
    return speedupText(m_speedup, m_warmingUp, m_noise);
}

QSize SpeedMeter::sizeHint() const {
    const QFontMetrics big(bold(classroomFont(font(), 2.0)));
    return {big.horizontalAdvance(tr("About the same speed")), big.height() + 28};
}

QSize SpeedMeter::minimumSizeHint() const {
    const QFontMetrics big(bold(classroomFont(font(), 2.0)));
    return {big.horizontalAdvance(tr("10.0x faster")), big.height() + 28};
}

void SpeedMeter::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    // The words, as large as the width allows up to twice the classroom size.
    QFont big = bold(classroomFont(font(), 2.0));
    const QString words = text();
    while (QFontMetrics(big).horizontalAdvance(words) > width() && big.pointSizeF() > 8)
        big.setPointSizeF(big.pointSizeF() * 0.9);
    p.setFont(big);
    const int textHeight = QFontMetrics(big).height();
    const bool faster = m_speedup >= 1.0 + m_noise;
    const bool slower = !m_warmingUp && m_speedup > 0 && m_speedup <= 1.0 / (1.0 + m_noise);
    const QColor good(40, 160, 70), bad(200, 80, 40);
    p.setPen(faster ? good : slower ? bad : palette().color(QPalette::WindowText));
    p.drawText(QRect(0, 0, width(), textHeight), Qt::AlignLeft | Qt::AlignVCenter, words);
    // The bar: 0x at the left, the mark at 1x is "the same speed".
    const QRectF bar(1, textHeight + 6, width() - 2, std::max(12, height() - textHeight - 10));
    const double top = std::max(kMeterTop, std::ceil(m_speedup));
    p.setPen(Qt::NoPen);
    p.setBrush(palette().color(QPalette::Mid));
    p.drawRoundedRect(bar, 6, 6);
    if (m_speedup > 0) {
        QRectF filled = bar;
        filled.setWidth(bar.width() * std::min(m_speedup, top) / top);
        p.setBrush(faster ? good : slower ? bad : palette().color(QPalette::Highlight));
        p.drawRoundedRect(filled, 6, 6);
    }
    const double one = bar.left() + bar.width() / top;
    p.setPen(QPen(palette().color(QPalette::WindowText), 3));
    p.drawLine(QPointF(one, bar.top() - 3), QPointF(one, bar.bottom() + 3));
}

// ---- ClassroomView ----------------------------------------------------------------------------

ClassroomView::ClassroomView(ModelSession* session, LiveSetup setup, QWidget* parent)
    : QWidget(parent), m_session(session) {
    setObjectName(QStringLiteral("classroom"));
    setFont(classroomFont(QApplication::font(), 1.0));
    m_live = new LiveView(session, std::move(setup), this);
    m_live->setClassroomPresentation(tr("The big brain"), tr("The small brain"));
    m_live->setPrunedModelWords(tr("the small brain"));  // in its progress line
    buildUi();

    m_thumbnailDebounce = new QTimer(this);
    m_thumbnailDebounce->setSingleShot(true);
    m_thumbnailDebounce->setInterval(kThumbnailDebounceMs);
    connect(m_thumbnailDebounce, &QTimer::timeout, this, &ClassroomView::updateThumbnail);
    m_thumbnailJob = new QFutureWatcher<std::optional<ClassroomRemoved>>(this);
    connect(m_thumbnailJob, &QFutureWatcherBase::finished, this, &ClassroomView::thumbnailDone);

    connect(m_live, &LiveView::frameShown, this, &ClassroomView::showSpeed);
    connect(m_live, &LiveView::stateChanged, this, [this](LiveView::State state) {
        if (state == LiveView::State::Preparing) {
            m_steadyFrames = 0;
            m_meter->setSpeedup(0);
            m_meterWords->clear();
            say(tr("Getting the small brain ready… The first time can take a minute."));
        } else if (state == LiveView::State::Running) {
            say(tr("Same pictures, two brains. Move the slider and watch the small brain."));
        } else if (m_active) {
            // Stopped because the model or plan changed (the live view stops for that): run the
            // new one. Deferred, so that a failure reported right after this is seen first.
            QTimer::singleShot(0, this, &ClassroomView::startIfReady);
        }
    });
    connect(m_live, &LiveView::laneSwapped, this, [this] {
        m_steadyFrames = 0;
        m_meter->setSpeedup(0);  // its medians start again with the new brain
        say(std::exchange(m_sliderMoved, false)
                ? tr("Done! The small brain has changed: watch its speed.")
                : tr("The small brain's fast version is ready: watch its speed."));
    });
    connect(m_live, &LiveView::failed, this, [this](const QString& why) {
        m_failed = true;
        say(tr("The demo stopped. Teacher: %1").arg(why));
    });
    // After the live view's own handlers (connected in its constructor): it has set its rate to
    // the new plan's, which the slider then shows.
    auto modelChanged = [this] {
        m_failed = false;
        {
            const QSignalBlocker block(m_slider);
            m_slider->setValue(static_cast<int>(std::lround(m_live->pruningRate() * 100)));
        }
        if (m_active) {
            updateThumbnail();
            startIfReady();
        }
    };
    connect(m_session, &ModelSession::modelLoaded, this, modelChanged);
    connect(m_session, &ModelSession::planApplied, this, modelChanged);
    // Those signals come while the session is still busy (a demo adopts its retrained model
    // right after it opens): the demo starts when the session is done.
    connect(m_session, &ModelSession::busyChanged, this, [this](bool busy) {
        if (!busy) startIfReady();
    });
}

ClassroomView::~ClassroomView() {
    // The thumbnail job holds copies only; waiting keeps the thread pool quiet at exit.
    m_thumbnailJob->waitForFinished();
}

void ClassroomView::buildUi() {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(10, 6, 10, 8);
    layout->setSpacing(6);

    auto* top = new QHBoxLayout;
    auto* title = new QLabel(tr("Make the brain smaller!"), this);
    title->setFont(bold(classroomFont(QApplication::font(), 1.2)));
    m_exitHint = new QLabel(this);
    m_exitHint->setObjectName(QStringLiteral("classroomExitHint"));
    QFont hintFont = classroomFont(QApplication::font(), 0.8);
    m_exitHint->setFont(hintFont);
    m_exitHint->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    top->addWidget(title);
    top->addStretch(1);
    top->addWidget(m_exitHint);
    layout->addLayout(top);

    layout->addWidget(m_live, 1);

    auto* sliderRow = new QHBoxLayout;
    auto* sliderTitle = new QLabel(tr("How much to remove"), this);
    sliderTitle->setFont(bold(classroomFont(QApplication::font(), 1.2)));
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setObjectName(QStringLiteral("classroomSlider"));
    m_slider->setRange(0, 95);
    m_slider->setPageStep(10);
    m_slider->setValue(static_cast<int>(std::lround(m_live->pruningRate() * 100)));
    m_slider->setMinimumHeight(44);
    // A handle a child's finger or a shaky mouse hits; the groove stays the style's own colours.
    m_slider->setStyleSheet(QStringLiteral(
        "QSlider::groove:horizontal { height: 14px; border-radius: 7px; background: palette(mid); }"
        "QSlider::sub-page:horizontal { border-radius: 7px; background: palette(highlight); }"
        "QSlider::handle:horizontal { width: 36px; height: 36px; margin: -11px 0;"
        " border-radius: 18px; background: palette(button); border: 3px solid palette(highlight); "
        "}"));
    auto* littleLot = new QLabel(tr("a little"), this);
    auto* lot = new QLabel(tr("a lot"), this);
    sliderTitle->setBuddy(m_slider);
    connect(m_slider, &QSlider::valueChanged, this, &ClassroomView::sliderMoved);
    sliderRow->addWidget(sliderTitle);
    sliderRow->addSpacing(8);
    sliderRow->addWidget(littleLot);
    sliderRow->addWidget(m_slider, 1);
    sliderRow->addWidget(lot);
    layout->addLayout(sliderRow);

    // The meter and its words on the left, the thumbnail and its words on the right.
    auto* bottom = new QHBoxLayout;
    auto* meterColumn = new QVBoxLayout;
    m_meter = new SpeedMeter(this);
    m_meter->setObjectName(QStringLiteral("classroomSpeed"));
    m_meterWords = new QLabel(this);
    m_meterWords->setWordWrap(true);
    m_sliderWords = new QLabel(this);
    m_sliderWords->setObjectName(QStringLiteral("classroomRemoved"));
    m_sliderWords->setFont(bold(font()));
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("classroomStatus"));
    m_status->setWordWrap(true);
    meterColumn->addWidget(m_meter);
    meterColumn->addWidget(m_meterWords);
    meterColumn->addWidget(m_sliderWords);
    meterColumn->addWidget(m_status);
    meterColumn->addStretch(1);
    bottom->addLayout(meterColumn, 1);

    auto* thumbColumn = new QVBoxLayout;
    m_thumbnail = new RemovedThumbnail(this);
    m_thumbnail->setObjectName(QStringLiteral("classroomThumbnail"));
    m_thumbnailWords = new QLabel(tr("Up close: bright squares are connections kept, dark "
                                     "squares were removed."),
                                  this);
    m_thumbnailWords->setWordWrap(true);
    m_thumbnailWords->setFont(classroomFont(QApplication::font(), 0.8));
    m_thumbnailWords->setMaximumWidth(300);
    m_thumbnail->setMinimumSize(150, 150);
    thumbColumn->addWidget(m_thumbnail, 1);
    thumbColumn->addWidget(m_thumbnailWords);
    bottom->addLayout(thumbColumn);
    layout->addLayout(bottom);
    say(tr("Open a model to start."));
}

void ClassroomView::setExitKeys(const QString& keys) {
    m_exitKeys = keys;
    m_exitHint->setText(tr("Teacher: press %1 to leave classroom mode").arg(keys));
}

QString ClassroomView::exitHint() const {
    return m_exitHint->text();
}

void ClassroomView::setActive(bool on) {
    if (m_active == on) return;
    m_active = on;
    if (!on) {
        m_thumbnailDebounce->stop();
        m_live->stop();
        return;
    }
    m_failed = false;
    updateThumbnail();
    startIfReady();
}

void ClassroomView::setRemoveShare(double share) {
    m_slider->setValue(static_cast<int>(std::lround(std::clamp(share, 0.0, 0.95) * 100)));
}

double ClassroomView::removeShare() const {
    return m_slider->value() / 100.0;
}

QString ClassroomView::message() const {
    return m_status->text();
}

void ClassroomView::say(const QString& text) {
    m_status->setText(text);
}

void ClassroomView::startIfReady() {
    if (!m_active || m_failed || !m_session->hasModel() || m_session->isBusy()) return;
    if (m_live->state() != LiveView::State::Idle) return;
    m_live->setPruningRate(removeShare());
    m_live->start();
}

void ClassroomView::sliderMoved(int value) {
    m_live->setPruningRate(value / 100.0);
    m_sliderMoved = true;
    if (m_live->state() == LiveView::State::Running)
        say(tr("Changing the small brain… the video keeps going."));
    m_thumbnailDebounce->start();
}

void ClassroomView::updateThumbnail() {
    if (!m_active || !m_session->hasModel()) return;
    if (m_thumbnailJob->isRunning()) {
        m_thumbnailAgain = true;  // made again with the newest position when this one lands
        return;
    }
    // The plan lane B re-prunes, at the slider's rate (as the live view does).
    engine::prune::PruningPlan plan;
    if (m_session->state().pruned) {
        plan = m_session->state().pruned->plan;
    } else {
        auto preset = engine::prune::presetPlan("patdnn-8");
        if (!preset.ok()) return;
        plan = *preset;
    }
    const engine::Graph dense = m_session->originalGraph();  // shares the weights' storage
    const double rate = removeShare();
    m_thumbnailJob->setFuture(
        QtConcurrent::run([dense, plan, rate]() -> std::optional<ClassroomRemoved> {
            auto applied = engine::prune::applyPlan(dense, engine::live::planAtRate(plan, rate));
            if (!applied.ok()) return std::nullopt;
            const int layer = representativeLayer(*applied);
            if (layer < 0) return std::nullopt;
            const auto& l = applied->layers[static_cast<size_t>(layer)];
            ClassroomRemoved removed;
            removed.layer = sparsityDataFromLayer(l.projection, l.layer.name);
            removed.removedShare = 1.0 - engine::prune::modelStats(*applied).density();
            return removed;
        }));
}

void ClassroomView::thumbnailDone() {
    const std::optional<ClassroomRemoved> removed = m_thumbnailJob->result();
    if (removed) {
        m_thumbnail->setData(removed->layer);
        m_removedShare = removed->removedShare;
        m_sliderWords->setText(tr("%1 of every 100 connections removed")
                                   .arg(static_cast<int>(std::lround(m_removedShare * 100))));
        ++m_thumbnailsMade;
        emit thumbnailChanged();
    }
    if (std::exchange(m_thumbnailAgain, false)) updateThumbnail();
}

void ClassroomView::showSpeed() {
    const engine::live::LiveStats s = m_live->stats();
    const bool standIn = m_live->laneBOnStandIn();
    m_steadyFrames = standIn ? 0 : m_steadyFrames + 1;
    m_meter->setSpeedup(std::min(s.a.count, s.b.count) >= kSpeedFrames ? s.speedup() : 0, standIn,
                        s.speedupNoise());
    if (s.a.count == 0 || s.b.count == 0) return;
    QString words = tr("The small brain: %1 pictures a second. The big brain: %2.")
                        .arg(s.b.fps(), 0, 'f', 1)
                        .arg(s.a.fps(), 0, 'f', 1);
    if (standIn) words += QLatin1Char(' ') + tr("The small brain is still warming up.");
    m_meterWords->setText(words);
}

}  // namespace prunelab::views
