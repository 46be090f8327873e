package io.github.pgflowchat.documents;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a Markdown document into searchable chunks: one per section (a heading and the text under it), with long
 * sections cut at paragraph boundaries so a chunk stays small enough to quote and to rank precisely.
 */
final class MarkdownChunker {

    record Chunk(String title, String content) {
    }

    private final int maxChars;

    MarkdownChunker(int maxChars) {
        this.maxChars = maxChars;
    }

    List<Chunk> chunks(String documentTitle, String markdown) {
        List<Chunk> chunks = new ArrayList<>();
        String title = documentTitle;
        StringBuilder section = new StringBuilder();
        boolean inCodeBlock = false;
        for (String line : markdown.split("\n", -1)) {
            if (line.strip().startsWith("```")) {
                inCodeBlock = !inCodeBlock;
            }
            if (!inCodeBlock && line.matches("^#{1,4}\\s+.*")) {
                addSection(chunks, title, section.toString());
                section.setLength(0);
                title = line.replaceFirst("^#+\\s+", "").strip();
                continue;
            }
            section.append(line).append('\n');
        }
        addSection(chunks, title, section.toString());
        return chunks;
    }

    private void addSection(List<Chunk> chunks, String title, String text) {
        StringBuilder current = new StringBuilder();
        for (String paragraph : text.split("\\n\\s*\\n")) {
            for (String piece : pieces(paragraph.strip())) {
                if (current.length() > 0 && current.length() + piece.length() > maxChars) {
                    chunks.add(new Chunk(title, current.toString().strip()));
                    current.setLength(0);
                }
                current.append(piece).append("\n\n");
            }
        }
        if (current.length() > 0) {
            chunks.add(new Chunk(title, current.toString().strip()));
        }
    }

    /** A paragraph longer than a chunk is cut at the last whitespace before the limit (or at the limit). */
    private List<String> pieces(String paragraph) {
        List<String> pieces = new ArrayList<>();
        String rest = paragraph;
        while (rest.length() > maxChars) {
            int cut = rest.lastIndexOf(' ', maxChars);
            cut = cut <= 0 ? maxChars : cut;
            pieces.add(rest.substring(0, cut).strip());
            rest = rest.substring(cut).strip();
        }
        if (!rest.isEmpty()) {
            pieces.add(rest);
        }
        return pieces;
    }
}
