package io.github.pgflowchat.documents;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PlainTextTest {

    @Test
    void tableRowsBecomeSentencesNamedByTheirHeaders() {
        String markdown = """
                | Variable | Default | Meaning |
                |---|---|---|
                | `REDIS_URL` | (none) | Redis, for state shared between instances |
                | `SEARCH_MODE` | `hybrid` | How the search step ranks |
                """;

        assertThat(PlainText.lines(markdown)).containsExactly(
                "Variable: REDIS_URL; Default: (none); Meaning: Redis, for state shared between instances.",
                "Variable: SEARCH_MODE; Default: hybrid; Meaning: How the search step ranks.");
    }

    @Test
    void linksEmphasisAndInlineCodeKeepOnlyTheirText() {
        String markdown = "See the [README](https://example.org/readme) for **all** settings: `mvn test` runs _them_.";

        assertThat(PlainText.of(markdown)).isEqualTo("See the README for all settings: mvn test runs them.");
    }

    @Test
    void codeBlocksLoseTheirFencesHtmlIsLeftOutAndEachBlockIsALine() {
        String markdown = """
                # Quick start

                Run the service
                with one command.

                ```bash
                mvn spring-boot:run
                ```

                <div>ignored</div>

                - first item
                - second item
                > quoted text
                """;

        assertThat(PlainText.lines(markdown)).containsExactly("Quick start", "Run the service with one command.", "mvn spring-boot:run",
                "first item", "second item", "quoted text");
        assertThat(PlainText.of(markdown)).doesNotContain("```", "|", "](", "<div>");
        assertThat(PlainText.sentences(markdown)).containsExactly("Run the service with one command.", "first item", "second item",
                "quoted text");
    }

    @Test
    void sentencesOfTheProseLeaveHeadingsOut() {
        String markdown = """
                # Refunds

                You can return an item within 30 days. Refunds go back to the card, e.g. a Visa card, in 5 days.

                - Store credit is issued the same day
                """;

        assertThat(PlainText.sentences(markdown)).containsExactly("You can return an item within 30 days.",
                "Refunds go back to the card, e.g. a Visa card, in 5 days.", "Store credit is issued the same day");
    }

    @Test
    void nothingGivesNoLines() {
        assertThat(PlainText.lines(null)).isEmpty();
        assertThat(PlainText.lines("   \n\n")).isEmpty();
    }
}
