// The lesson handout (see lesson_handout.h).
#include "views/lessons/lesson_handout.h"

#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QPageLayout>
#include <QPageSize>
#include <QPrinter>
#include <QTextBlockFormat>
#include <QTextCharFormat>
#include <QTextCursor>
#include <QTextDocument>
#include <QTextImageFormat>
#include <QUrl>
#include <algorithm>

namespace prunelab::views {

namespace lessons = engine::lessons;

namespace {

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

QString audienceWords(lessons::Audience audience) {
    switch (audience) {
        case lessons::Audience::K12:
            return QObject::tr("school classes (K-12)");
        case lessons::Audience::Lab:
            return QObject::tr("student lab");
        case lessons::Audience::Research:
            return QObject::tr("research");
    }
    return {};
}

QString percent(double share) {
    return QStringLiteral("%1 %").arg(share * 100, 0, 'f', 0);
}

}  // namespace

QString actionText(const lessons::Action& a) {
    using Kind = lessons::Action::Kind;
    switch (a.kind) {
        case Kind::OpenModel:
            return QObject::tr("Opens the model %1.").arg(q(a.model));
        case Kind::ApplyPreset:
            return QObject::tr("Applies the preset plan %1.").arg(q(a.preset));
        case Kind::ApplyPlan:
            return QObject::tr("Applies the plan %1.").arg(q(a.plan));
        case Kind::SelectLayer:
            return a.layer.size() > 1 && a.layer[0] == '#'
                       ? QObject::tr("Selects prunable layer %1 (counting from 0).")
                             .arg(q(a.layer.substr(1)))
                       : QObject::tr("Selects the layer %1.").arg(q(a.layer));
        case Kind::ShowView:
            return QObject::tr("Shows the %1 view.").arg(q(a.view));
        case Kind::Retrain:
            return QObject::tr("Retrains with %1 on %2: %3 epochs, the last %4 fine-tuning%5.")
                .arg(q(a.method), q(a.data))
                .arg(a.epochs)
                .arg(a.fineTuneEpochs)
                .arg(a.limit > 0 ? QObject::tr(", the first %1 examples").arg(a.limit) : QString());
        case Kind::Measure:
            return QObject::tr("Measures every compiled layer, dense against sparse (Speed).");
        case Kind::Sweep: {
            QStringList rates;
            for (double r : a.rates) rates << percent(r);
            return QObject::tr(
                       "Prunes the whole model with %1 at %2 and measures the accuracy "
                       "on %3 at each.")
                .arg(q(a.scheme), rates.join(QStringLiteral(", ")), q(a.data));
        }
        case Kind::StartLive:
            return a.model.empty() ? QObject::tr("Starts the live demo on the bundled video.")
                                   : QObject::tr("Starts the live demo of %1.").arg(q(a.model));
        case Kind::SetRate:
            return QObject::tr("Sets the pruning rate to %1.").arg(percent(a.rate));
    }
    return {};
}

std::unique_ptr<QTextDocument> lessonHandout(const lessons::Lesson& lesson, double pictureWidth) {
    auto doc = std::make_unique<QTextDocument>();
    const QString folder = q(lesson.folder);
    doc->setBaseUrl(QUrl::fromLocalFile(folder + QLatin1Char('/')));
    doc->setMetaInformation(QTextDocument::DocumentTitle, q(lesson.title));
    QTextCursor cursor(doc.get());

    QString head = QStringLiteral("# %1\n\n").arg(q(lesson.title));
    head += QObject::tr("*For %1 · %2 minutes · AI4K12 big idea %3*\n\n")
                .arg(audienceWords(lesson.audience))
                .arg(lesson.minutes)
                .arg(q(lesson.bigIdea));
    if (!lesson.prerequisites.empty()) {
        QStringList before;
        for (const std::string& p : lesson.prerequisites) before << q(p);
        head += QObject::tr("Before this lesson: %1\n\n").arg(before.join(QStringLiteral(", ")));
    }
    cursor.insertMarkdown(head);

    for (size_t i = 0; i < lesson.steps.size(); ++i) {
        const lessons::Step& step = lesson.steps[i];
        QString md =
            QStringLiteral("\n## %1. %2\n\n%3\n\n").arg(i + 1).arg(q(step.title), q(step.text));
        if (step.showMe) md += QObject::tr("*Show me:* %1\n\n").arg(actionText(*step.showMe));
        for (const std::string& hint : step.hints) md += QObject::tr("*Hint:* %1\n\n").arg(q(hint));
        cursor.movePosition(QTextCursor::End);
        cursor.insertMarkdown(md);
        for (const std::string& picture : step.pictures) {
            const QString path = folder + QLatin1Char('/') + q(picture);
            const QImage image(path);
            if (image.isNull()) continue;  // the validator names a missing picture
            cursor.movePosition(QTextCursor::End);
            cursor.insertBlock();
            QTextImageFormat format;
            format.setName(QUrl::fromLocalFile(path).toString());
            const double width = std::min<double>(pictureWidth, image.width());
            format.setWidth(width);
            format.setHeight(width * image.height() / std::max(1, image.width()));
            doc->addResource(QTextDocument::ImageResource, QUrl(format.name()), image);
            cursor.insertImage(format);
        }
    }

    // The teacher's notes start on a page of their own: a student's copy can stop before it.
    cursor.movePosition(QTextCursor::End);
    QTextBlockFormat pageBreak;
    pageBreak.setPageBreakPolicy(QTextFormat::PageBreak_AlwaysBefore);
    cursor.insertBlock(pageBreak);
    QFile teacher(folder + QStringLiteral("/teacher.md"));
    QString notes = QObject::tr("# Teacher notes: %1\n\n").arg(q(lesson.title));
    if (teacher.open(QIODevice::ReadOnly)) {
        notes += QString::fromUtf8(teacher.readAll());
    } else {
        notes += QObject::tr("This lesson has no teacher.md.");
    }
    cursor.insertMarkdown(notes);
    return doc;
}

QString writeLessonHandout(const lessons::Lesson& lesson, const QString& pdfPath) {
    if (!QFileInfo(QFileInfo(pdfPath).absolutePath()).isDir())
        return QObject::tr("%1: the folder is not there").arg(pdfPath);
    // A file left from an earlier handout must not pass for this one.
    if (QFileInfo::exists(pdfPath) && !QFile::remove(pdfPath))
        return QObject::tr("%1: could not replace the file").arg(pdfPath);
    QPrinter printer(QPrinter::HighResolution);
    printer.setOutputFormat(QPrinter::PdfFormat);
    printer.setOutputFileName(pdfPath);
    printer.setPageSize(QPageSize(QPageSize::A4));
    printer.setPageMargins(QMarginsF(18, 18, 18, 18), QPageLayout::Millimeter);
    printer.setDocName(q(lesson.title));
    printer.setCreator(QStringLiteral("PruneLab"));
    std::unique_ptr<QTextDocument> doc = lessonHandout(lesson);
    doc->print(&printer);
    // QPrinter reports no error of its own for an unwritable file: the file says.
    const QFileInfo written(pdfPath);
    if (!written.isFile() || written.size() == 0)
        return QObject::tr("%1: could not write the handout (is the folder writable?)")
            .arg(pdfPath);
    return {};
}

}  // namespace prunelab::views
