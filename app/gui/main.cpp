// prunelab: the Qt workbench. `prunelab [MODEL]` opens MODEL (a file or a catalog id; the demo
// model when none); `prunelab MODEL [--plan PLAN.json] [--view NAME] --screenshot OUT.png`
// renders the window (or one view) with that model and plan, writes the PNG and exits.
#include <QApplication>
#include <QCommandLineParser>
#include <QPixmap>
#include <QTimer>
#include <cstdio>
#include <optional>

#include "app/gui/main_window.h"
#include "app/gui/model_opener.h"
#include "engine/prune/plan.h"
#include "views/common/engine_text.h"
#include "views/session/model_session.h"

using namespace prunelab;

namespace {

int die(const QString& message) {
    std::fprintf(stderr, "prunelab: %s\n", qPrintable(message));
    return 1;
}

// Takes the screenshot once the model (and the plan, when one was given) is in.
void captureWhenReady(gui::MainWindow& window, const QString& out, const QString& viewName,
                      QSize size, std::optional<engine::prune::PruningPlan> plan) {
    views::ModelSession* session = window.session();
    gui::MainWindow* w = &window;
    auto capture = [w, out, viewName, size] {
        QWidget* target = w;
        if (!viewName.isEmpty()) {
            target = w->namedView(viewName);
            // Rendered alone at the requested size: the exit follows, so the window's layout
            // losing it does not matter.
            target->setParent(nullptr);
        }
        target->resize(size);
        target->show();
        QApplication::processEvents();
        const QPixmap shot = target->grab();
        if (shot.isNull() || !shot.save(out, "PNG")) {
            QApplication::exit(die(QStringLiteral("could not write the screenshot %1").arg(out)));
            return;
        }
        QApplication::exit(0);
    };
    QObject::connect(session, &views::ModelSession::failed, &window,
                     [] { QApplication::exit(1); });  // the window printed the message
    QObject::connect(session, &views::ModelSession::modelLoaded, &window, [=] {
        if (plan) {
            session->applyPlan(*plan);
        } else {
            QTimer::singleShot(0, w, capture);
        }
    });
    QObject::connect(session, &views::ModelSession::planApplied, &window, [=] {
        if (plan && session->currentPlan()) QTimer::singleShot(0, w, capture);
    });
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("PruneLab"));
    QApplication::setApplicationName(QStringLiteral("PruneLab"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("PruneLab: a workbench for DNN weight pruning"));
    parser.addHelpOption();
    parser.addPositionalArgument(
        QStringLiteral("model"),
        QStringLiteral("A model file (.onnx, .param, .json, .plab) or a catalog id (default %1)")
            .arg(QString::fromLatin1(gui::kDemoModel)));
    const QCommandLineOption planOption(QStringLiteral("plan"),
                                        QStringLiteral("Apply this pruning plan (JSON)."),
                                        QStringLiteral("PLAN.json"));
    const QCommandLineOption viewOption(
        QStringLiteral("view"), QStringLiteral("Screenshot only this view (layers, prune)."),
        QStringLiteral("NAME"));
    const QCommandLineOption shotOption(QStringLiteral("screenshot"),
                                        QStringLiteral("Write a PNG of the window and exit."),
                                        QStringLiteral("OUT.png"));
    const QCommandLineOption sizeOption(QStringLiteral("size"),
                                        QStringLiteral("Screenshot size (default 1280x800)."),
                                        QStringLiteral("WxH"), QStringLiteral("1280x800"));
    parser.addOptions({planOption, viewOption, shotOption, sizeOption});
    parser.process(app);

    const QStringList args = parser.positionalArguments();
    if (args.size() > 1) return die(QStringLiteral("one model at a time; got %1").arg(args.size()));
    const QString model = args.isEmpty() ? QString::fromLatin1(gui::kDemoModel) : args.front();
    const bool screenshot = parser.isSet(shotOption);

    std::optional<engine::prune::PruningPlan> plan;
    if (parser.isSet(planOption)) {
        auto loaded = engine::prune::loadPlanFile(parser.value(planOption).toStdString());
        if (!loaded.ok()) return die(views::errorText(loaded.error()));
        plan = std::move(loaded).value();
    }
    const QStringList wh = parser.value(sizeOption).split(QLatin1Char('x'));
    const QSize size(wh.size() == 2 ? wh[0].toInt() : 0, wh.size() == 2 ? wh[1].toInt() : 0);
    if (size.width() < 64 || size.height() < 64 || size.width() > 8192 || size.height() > 8192)
        return die(QStringLiteral("--size must be WxH between 64 and 8192, e.g. 1280x800"));

    gui::MainWindow window(!screenshot);
    if (screenshot) {
        const QString view = parser.value(viewOption);
        if (!view.isEmpty() && !window.namedView(view)) {
            return die(QStringLiteral("no view named '%1' (views: %2)")
                           .arg(view, window.viewNames().join(QStringLiteral(", "))));
        }
        captureWhenReady(window, parser.value(shotOption), view, size, plan);
    } else {
        if (plan) {
            QObject::connect(window.session(), &views::ModelSession::modelLoaded, &window,
                             [&window, plan] { window.session()->applyPlan(*plan); });
        }
        window.resize(size);
        window.show();
    }
    window.openModel(model);
    return QApplication::exec();
}
