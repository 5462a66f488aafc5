// Classroom (K-12) mode: the live demo for a child at the controls and a projector. One big "How
// much to remove" slider re-prunes the small brain while the video runs, a big speed meter says
// how much faster it is, and a thumbnail shows what was removed, all in friendly words and large
// type. It owns its own LiveView (in its classroom presentation) on the workbench's session.
#pragma once

#include <QFutureWatcher>
#include <QImage>
#include <QString>
#include <QWidget>
#include <optional>

#include "views/live/live_view.h"
#include "views/sparsity/sparsity_view.h"

class QLabel;
class QSlider;
class QTimer;

namespace prunelab::views {

class ModelSession;

// What the slider's rate removes, worked out off the UI thread: one representative layer (the
// largest pruned 3x3 layer) and the share of the whole model's connections removed.
struct ClassroomRemoved {
    SparsityData layer;
    double removedShare = 0;
};

// A corner of one layer's connections at the slider's rate: a square per weight, bright where
// it is kept and dark where it was removed, a gap between kernels.
class RemovedThumbnail : public QWidget {
    Q_OBJECT

  public:
    explicit RemovedThumbnail(QWidget* parent = nullptr);
    void setData(SparsityData data);
    bool hasData() const { return m_data.weightCount() > 0; }
    const SparsityData& data() const { return m_data; }
    // Kernels drawn per side (the first filters and input channels of the layer).
    int shownFilters() const;
    int shownChannels() const;
    QSize sizeHint() const override { return {180, 180}; }

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    SparsityData m_data;
};

// "2.4x faster" in large type over a bar from 0x with a mark at "the same speed".
class SpeedMeter : public QWidget {
    Q_OBJECT

  public:
    explicit SpeedMeter(QWidget* parent = nullptr);
    // The dense lane's median over the pruned lane's; 0: not measured yet. `warmingUp`: the
    // small brain runs a stand-in while its fast kernels compile, so its speed is not its own.
    // `noise`: LiveStats::speedupNoise(), the band within which the lanes read the same.
    void setSpeedup(double speedup, bool warmingUp = false, double noise = 0.05);
    double speedup() const { return m_speedup; }
    bool warmingUp() const { return m_warmingUp; }
    QString text() const;  // what the meter says
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    double m_speedup = 0;
    bool m_warmingUp = false;
    double m_noise = 0.05;
};

class ClassroomView : public QWidget {
    Q_OBJECT

  public:
    ClassroomView(ModelSession* session, LiveSetup setup, QWidget* parent = nullptr);
    ~ClassroomView() override;

    // The teacher's way out, named on screen ("Ctrl+Shift+Q").
    void setExitKeys(const QString& keys);
    QString exitHint() const;
    // On: the demo runs whenever a catalog model is open (starting now if one is); off: it
    // stops. The window turns it on when it shows the mode.
    void setActive(bool on);
    bool isActive() const { return m_active; }

    // The slider, as a share of connections to remove (0..0.95), as a child would drag it.
    void setRemoveShare(double share);
    double removeShare() const;

    LiveView* liveView() const { return m_live; }
    QSlider* slider() const { return m_slider; }
    SpeedMeter* speedMeter() const { return m_meter; }
    RemovedThumbnail* thumbnail() const { return m_thumbnail; }
    // How many thumbnails have landed (each slider position, each model), for tests.
    int thumbnailsMade() const { return m_thumbnailsMade; }
    // The share of the model's connections the slider's plan removes, from the last thumbnail
    // (-1 before the first).
    double removedShare() const { return m_removedShare; }
    QString message() const;
    // Frames shown since the small brain last changed (a swap, a start) and while it runs its
    // own kernels, not a stand-in: how long the meter has measured the brain it names.
    int steadyFrames() const { return m_steadyFrames; }

  signals:
    void thumbnailChanged();

  private:
    void buildUi();
    void startIfReady();
    void sliderMoved(int value);
    void updateThumbnail();
    void thumbnailDone();
    void showSpeed();
    void say(const QString& text);

    ModelSession* m_session;
    LiveView* m_live;
    bool m_active = false;
    bool m_failed = false;  // the demo stopped on an error: not restarted until the model changes
    int m_thumbnailsMade = 0;
    int m_steadyFrames = 0;
    bool m_sliderMoved = false;  // since lane B's last swap: the next swap is the child's
    double m_removedShare = -1;
    QString m_exitKeys;

    QLabel* m_exitHint;
    QLabel* m_sliderWords;  // "88 of every 100 connections removed"
    QSlider* m_slider;
    SpeedMeter* m_meter;
    QLabel* m_meterWords;  // the two brains' pictures a second
    RemovedThumbnail* m_thumbnail;
    QLabel* m_thumbnailWords;
    QLabel* m_status;
    QTimer* m_thumbnailDebounce;
    QFutureWatcher<std::optional<ClassroomRemoved>>* m_thumbnailJob;
    bool m_thumbnailAgain = false;  // the slider moved while a thumbnail was being made
};

}  // namespace prunelab::views
