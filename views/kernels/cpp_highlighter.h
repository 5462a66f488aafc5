// C++ syntax colouring for the generated kernels the compiler view shows: keywords, numbers,
// comments and preprocessor lines, enough to read a loop nest at a glance.
#pragma once

#include <QRegularExpression>
#include <QSyntaxHighlighter>
#include <QTextCharFormat>

namespace prunelab::views {

class CppHighlighter : public QSyntaxHighlighter {
    Q_OBJECT
  public:
    explicit CppHighlighter(QTextDocument* document);

    // Colours that read on a dark background (true) or a light one; re-colours the document
    // when that changes. The view calls it when its palette changes.
    void setDarkBackground(bool dark);
    bool darkBackground() const { return m_dark; }

    // Exposed so tests (and a theme switch) can compare a fragment's format with the rule's.
    const QTextCharFormat& keywordFormat() const { return m_keyword; }
    const QTextCharFormat& numberFormat() const { return m_number; }
    const QTextCharFormat& commentFormat() const { return m_comment; }
    const QTextCharFormat& preprocessorFormat() const { return m_preprocessor; }

  protected:
    void highlightBlock(const QString& text) override;

  private:
    QRegularExpression m_keywordPattern, m_numberPattern, m_preprocessorPattern;
    QTextCharFormat m_keyword, m_number, m_comment, m_preprocessor;
    bool m_dark = false;
};

}  // namespace prunelab::views
