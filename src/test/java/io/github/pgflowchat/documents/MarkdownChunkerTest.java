package io.github.pgflowchat.documents;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.github.pgflowchat.documents.MarkdownChunker.Chunk;

class MarkdownChunkerTest {

    private final MarkdownChunker chunker = new MarkdownChunker(1000);

    @Test
    void eachHeadingSectionBecomesOneChunkTitledByItsHeading() {
        List<Chunk> chunks = chunker.chunks("README.md", """
                # Quick start
                Run the service.

                More about running.
                ## Tests
                Run mvn test.
                #### Deep heading
                Deep text.
                """);

        assertThat(chunks).containsExactly(
                new Chunk("Quick start", "Run the service.\n\nMore about running."),
                new Chunk("Tests", "Run mvn test."),
                new Chunk("Deep heading", "Deep text."));
    }

    @Test
    void textBeforeTheFirstHeadingIsTitledWithTheDocumentTitle() {
        List<Chunk> chunks = chunker.chunks("Guide", "An introduction.\n\n# Usage\nUse it.\n");

        assertThat(chunks).containsExactly(new Chunk("Guide", "An introduction."), new Chunk("Usage", "Use it."));
    }

    @Test
    void hashLineInsideAFencedCodeBlockDoesNotStartASection() {
        List<Chunk> chunks = chunker.chunks("Doc", """
                # Install
                ```bash
                # a shell comment
                ./install.sh
                ```
                Done.
                """);

        assertThat(chunks).containsExactly(
                new Chunk("Install", "```bash\n# a shell comment\n./install.sh\n```\nDone."));
    }

    @Test
    void headingAfterAClosedCodeBlockStartsASectionAgain() {
        List<Chunk> chunks = chunker.chunks("Doc", "# One\n```\ncode\n```\n# Two\ntext\n");

        assertThat(chunks).extracting(Chunk::title).containsExactly("One", "Two");
    }

    @Test
    void longSectionIsSplitAtParagraphBoundariesWithinTheLimit() {
        MarkdownChunker small = new MarkdownChunker(30);
        String first = "a".repeat(12);
        String second = "b".repeat(12);
        String third = "c".repeat(25);
        String fourth = "d".repeat(3);

        List<Chunk> chunks = small.chunks("Doc", "# Long\n" + first + "\n\n" + second + "\n\n" + third + "\n\n" + fourth + "\n");

        assertThat(chunks).extracting(Chunk::content)
                .containsExactly(first + "\n\n" + second, third + "\n\n" + fourth);
        assertThat(chunks).extracting(Chunk::title).containsOnly("Long");
        // The limit counts the separators already written, so a chunk's text is at most the limit.
        assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.content().length()).isLessThanOrEqualTo(30));
    }

    @Test
    void paragraphLongerThanAChunkIsCutAtWordsWithNothingLost() {
        String paragraph = "word ".repeat(30).strip();

        List<MarkdownChunker.Chunk> chunks = new MarkdownChunker(40).chunks("doc", "# T\n" + paragraph + " ZZZ");

        assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.content().length()).isLessThanOrEqualTo(40));
        assertThat(String.join(" ", chunks.stream().map(MarkdownChunker.Chunk::content).toList()).replaceAll("\\s+", " "))
                .isEqualTo(paragraph + " ZZZ");
    }

    @Test
    void emptySectionsProduceNoChunk() {
        List<Chunk> chunks = chunker.chunks("Doc", "\n\n# Empty\n\n   \n## Also empty\n# Full\nText.\n# Trailing\n");

        assertThat(chunks).containsExactly(new Chunk("Full", "Text."));
    }

    @Test
    void emptyDocumentProducesNoChunk() {
        assertThat(chunker.chunks("Doc", "")).isEmpty();
    }
}
