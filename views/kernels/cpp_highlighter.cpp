// The highlighter's rules. Generated code is plain C++ with vector extensions, so a word list
// and three regular expressions cover it; block state carries an open /* */ comment.
#include "views/kernels/cpp_highlighter.h"

#include <QStringList>

namespace prunelab::views {

namespace {

enum BlockState { kNormal = 0, kInComment = 1 };

}  // namespace

CppHighlighter::CppHighlighter(QTextDocument* document) : QSyntaxHighlighter(document) {
    const QStringList words = {
        "alignas",      "auto",         "bool",     "break",    "case",     "char",
        "const",        "constexpr",    "continue", "default",  "do",       "double",
        "else",         "enum",         "extern",   "float",    "for",      "if",
        "inline",       "int",          "int32_t",  "int64_t",  "long",     "namespace",
        "nullptr",      "return",       "signed",   "size_t",   "static",   "static_assert",
        "struct",       "switch",       "template", "typedef",  "typename", "uint8_t",
        "unsigned",     "using",        "void",     "volatile", "while",    "__restrict",
        "__restrict__", "__attribute__"};
    m_keywordPattern = QRegularExpression(QStringLiteral("\\b(?:%1)\\b").arg(words.join('|')));
    // Decimal and hex literals with an optional exponent and float / integer suffixes; the
    // leading \b keeps digits inside identifiers (pl_l12) uncoloured.
    m_numberPattern =
        QRegularExpression(QStringLiteral("\\b(?:0[xX][0-9a-fA-F]+|[0-9]+\\.?[0-9]*(?:[eE][+-]?[0-"
                                          "9]+)?|\\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
                                          "[fFuUlL]*\\b"));
    m_preprocessorPattern = QRegularExpression(QStringLiteral("^\\s*#"));

    m_keyword.setFontWeight(QFont::Bold);
    m_comment.setFontItalic(true);
    m_dark = true;  // so that the call below sets the light colours
    setDarkBackground(false);
}

void CppHighlighter::setDarkBackground(bool dark) {
    if (dark == m_dark) return;
    m_dark = dark;
    // The same hues, lighter on dark: the light set's dark blue is unreadable on near black.
    m_keyword.setForeground(dark ? QColor(0x7a, 0xa6, 0xf0) : QColor(0x1f, 0x4e, 0xb4));
    m_number.setForeground(dark ? QColor(0xe0, 0xa8, 0x50) : QColor(0x9c, 0x5d, 0x00));
    m_comment.setForeground(dark ? QColor(0x8c, 0xb8, 0x7a) : QColor(0x5a, 0x7d, 0x4a));
    m_preprocessor.setForeground(dark ? QColor(0xd0, 0x8c, 0xd0) : QColor(0x8e, 0x2c, 0x8e));
    rehighlight();
}

void CppHighlighter::highlightBlock(const QString& text) {
    // A preprocessor line is one colour throughout: its words are not C++ keywords there.
    if (previousBlockState() != kInComment && m_preprocessorPattern.match(text).hasMatch()) {
        setFormat(0, static_cast<int>(text.size()), m_preprocessor);
        setCurrentBlockState(kNormal);
        return;
    }
    for (const QRegularExpression* rule : {&m_keywordPattern, &m_numberPattern}) {
        const QTextCharFormat& format = rule == &m_keywordPattern ? m_keyword : m_number;
        auto it = rule->globalMatch(text);
        while (it.hasNext()) {
            const QRegularExpressionMatch m = it.next();
            setFormat(static_cast<int>(m.capturedStart()), static_cast<int>(m.capturedLength()),
                      format);
        }
    }
    // Comments last, so that keywords and numbers inside them take the comment's colour.
    setCurrentBlockState(kNormal);
    qsizetype start = 0;
    bool continued = previousBlockState() == kInComment;
    if (!continued) {
        start = -1;
        for (qsizetype i = 0; i + 1 < text.size(); ++i) {
            if (text[i] == '"') {
                // Skip string literals, where "//" is text (a generated file names no URLs,
                // but a decision comment could hold one).
                const qsizetype close = text.indexOf('"', i + 1);
                if (close < 0) break;
                i = close;
                continue;
            }
            if (text[i] == '/' && text[i + 1] == '/') {
                setFormat(static_cast<int>(i), static_cast<int>(text.size() - i), m_comment);
                return;
            }
            if (text[i] == '/' && text[i + 1] == '*') {
                start = i;
                break;
            }
        }
        if (start < 0) return;
    }
    while (start >= 0) {
        const qsizetype end = text.indexOf(QStringLiteral("*/"), start + (continued ? 0 : 2));
        continued = false;
        qsizetype length;
        if (end < 0) {
            setCurrentBlockState(kInComment);
            length = text.size() - start;
        } else {
            length = end - start + 2;
        }
        setFormat(static_cast<int>(start), static_cast<int>(length), m_comment);
        if (end < 0) break;
        start = text.indexOf(QStringLiteral("/*"), end + 2);
    }
}

}  // namespace prunelab::views
