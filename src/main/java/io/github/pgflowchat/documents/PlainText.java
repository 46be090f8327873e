package io.github.pgflowchat.documents;

import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.commonmark.ext.gfm.tables.TableBlock;
import org.commonmark.ext.gfm.tables.TableCell;
import org.commonmark.ext.gfm.tables.TableHead;
import org.commonmark.ext.gfm.tables.TableRow;
import org.commonmark.ext.gfm.tables.TablesExtension;
import org.commonmark.node.BlockQuote;
import org.commonmark.node.Code;
import org.commonmark.node.Document;
import org.commonmark.node.FencedCodeBlock;
import org.commonmark.node.HardLineBreak;
import org.commonmark.node.Heading;
import org.commonmark.node.HtmlBlock;
import org.commonmark.node.HtmlInline;
import org.commonmark.node.Image;
import org.commonmark.node.IndentedCodeBlock;
import org.commonmark.node.ListBlock;
import org.commonmark.node.ListItem;
import org.commonmark.node.Node;
import org.commonmark.node.Paragraph;
import org.commonmark.node.SoftLineBreak;
import org.commonmark.node.Text;
import org.commonmark.node.ThematicBreak;
import org.commonmark.parser.Parser;

/**
 * Markdown as plain text: one line per paragraph, heading or list item; a table row as
 * "{@code header: cell; header: cell.}"; link and emphasis syntax gone (their text kept), inline code as its text,
 * a code block's lines without its fences, HTML left out. Snippets and embeddings are made of this, not of the
 * Markdown; offline answers of its {@link #sentences}, which leave headings and code out.
 */
public final class PlainText {

    private static final Parser PARSER = Parser.builder().extensions(List.of(TablesExtension.create())).build();

    private PlainText() {
    }

    /** The lines of the document's text, in order, none blank. */
    public static List<String> lines(String markdown) {
        List<String> lines = new ArrayList<>();
        blocks(PARSER.parse(markdown == null ? "" : markdown), lines, true);
        return lines;
    }

    /**
     * The sentences of the document's prose (headings and code left out), in order: each paragraph, list item or table row
     * cut where {@link BreakIterator} finds a sentence end.
     */
    public static List<String> sentences(String markdown) {
        List<String> lines = new ArrayList<>();
        blocks(PARSER.parse(markdown == null ? "" : markdown), lines, false);
        List<String> sentences = new ArrayList<>();
        BreakIterator boundaries = BreakIterator.getSentenceInstance(Locale.ENGLISH);
        for (String line : lines) {
            boundaries.setText(line);
            for (int start = boundaries.first(), end = boundaries.next(); end != BreakIterator.DONE; start = end, end = boundaries.next()) {
                add(sentences, line.substring(start, end).strip());
            }
        }
        return sentences;
    }

    /** The document's text, its lines joined by line breaks. */
    public static String of(String markdown) {
        return String.join("\n", lines(markdown));
    }

    private static void blocks(Node parent, List<String> lines, boolean headings) {
        for (Node node = parent.getFirstChild(); node != null; node = node.getNext()) {
            switch (node) {
                case Paragraph paragraph -> add(lines, inline(paragraph));
                case Heading heading -> {
                    if (headings) {
                        add(lines, inline(heading));
                    }
                }
                case TableBlock table -> table(table, lines);
                case ListBlock list -> blocks(list, lines, headings);
                case ListItem item -> blocks(item, lines, headings);
                case BlockQuote quote -> blocks(quote, lines, headings);
                case Document document -> blocks(document, lines, headings);
                case FencedCodeBlock code -> {
                    if (headings) {
                        code(code.getLiteral(), lines);
                    }
                }
                case IndentedCodeBlock code -> {
                    if (headings) {
                        code(code.getLiteral(), lines);
                    }
                }
                case HtmlBlock ignored -> { }
                case ThematicBreak ignored -> { }
                default -> add(lines, inline(node));
            }
        }
    }

    /** A code block's lines as they are, without its fences: a command is worth finding and showing. */
    private static void code(String literal, List<String> lines) {
        for (String line : literal.split("\n")) {
            add(lines, line.strip());
        }
    }

    private static void table(TableBlock table, List<String> lines) {
        List<String> headers = new ArrayList<>();
        for (Node section = table.getFirstChild(); section != null; section = section.getNext()) {
            for (Node row = section.getFirstChild(); row != null; row = row.getNext()) {
                if (!(row instanceof TableRow)) {
                    continue;
                }
                List<String> cells = new ArrayList<>();
                for (Node cell = row.getFirstChild(); cell != null; cell = cell.getNext()) {
                    if (cell instanceof TableCell) {
                        cells.add(inline(cell));
                    }
                }
                if (section instanceof TableHead) {
                    headers = cells;
                } else {
                    add(lines, row(headers, cells));
                }
            }
        }
    }

    private static String row(List<String> headers, List<String> cells) {
        List<String> fields = new ArrayList<>();
        for (int i = 0; i < cells.size(); i++) {
            String cell = cells.get(i);
            if (cell.isEmpty()) {
                continue;
            }
            String header = i < headers.size() ? headers.get(i) : "";
            fields.add(header.isEmpty() ? cell : header + ": " + cell);
        }
        return fields.isEmpty() ? "" : endSentence(String.join("; ", fields));
    }

    private static String endSentence(String text) {
        char last = text.charAt(text.length() - 1);
        return last == '.' || last == '!' || last == '?' || last == ':' ? text : text + ".";
    }

    private static String inline(Node parent) {
        StringBuilder text = new StringBuilder();
        inline(parent, text);
        return text.toString().replaceAll("\\s+", " ").strip();
    }

    private static void inline(Node parent, StringBuilder text) {
        for (Node node = parent.getFirstChild(); node != null; node = node.getNext()) {
            switch (node) {
                case Text literal -> text.append(literal.getLiteral());
                case Code code -> text.append(code.getLiteral());
                case SoftLineBreak ignored -> text.append(' ');
                case HardLineBreak ignored -> text.append(' ');
                case HtmlInline ignored -> { }
                case Image image -> inline(image, text);
                default -> inline(node, text);
            }
        }
    }

    private static void add(List<String> lines, String line) {
        if (!line.isBlank()) {
            lines.add(line);
        }
    }
}
