package io.github.pgflowchat.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.documents.Embeddings;

class OfflineModelsTest {

    private static final Prompts PROMPTS = Prompts.bundled();
    private static final Embeddings EMBEDDINGS = new Embeddings();
    private static final OfflineModels.Answer ANSWER = new OfflineModels.Answer(Duration.ZERO, EMBEDDINGS);
    private static final String QUESTION = "How do I run the tests?";
    private static final List<Prompts.Source> SOURCES = List.of(
            new Prompts.Source(4, "Quick start", "README.md", 0.6,
                    "Install Java and Maven first. Then run mvn verify from the project folder."),
            new Prompts.Source(7, "Testing", "docs/testing.md", 0.3,
                    "Short. The tests run against a local PostgreSQL server."));

    @Test
    void intentFollowsTheWayTheQuestionIsAsked() {
        assertThat(OfflineModels.intent("How do I run the tests?")).isEqualTo("how-to");
        assertThat(OfflineModels.intent("Why does the search step fail?")).isEqualTo("explanation");
        assertThat(OfflineModels.intent("What is pgflow?")).isEqualTo("lookup");
        assertThat(OfflineModels.intent("Hello there")).isEqualTo("greeting");
        assertThat(OfflineModels.intent("pgflow vs temporal for retries")).isEqualTo("comparison");
        assertThat(OfflineModels.intent("Deploy it to production")).isEqualTo("other");
    }

    @Test
    void greetingWordMustStandAlone() {
        // "history" starts with "hi" but is not a greeting.
        assertThat(OfflineModels.intent("history of the runs")).isEqualTo("other");
    }

    @Test
    void termsAreLowerCasedWithoutStopwordsSingleLettersOrDuplicates() {
        assertThat(OfflineModels.terms("How do I run the TESTS? Run the tests again, x said"))
                .containsExactly("run", "tests", "again", "said");
    }

    @Test
    void answerQuotesTheSentencesNearestTheQuestionBestFirstEachCited() {
        String answer = ANSWER.compose(QUESTION, SOURCES);

        assertThat(answer).startsWith("From the indexed documents: ")
                .contains("Then run mvn verify from the project folder [4].")
                .contains("The tests run against a local PostgreSQL server [7].")
                .doesNotContain("Short");
        double first = similarity(QUESTION, "Then run mvn verify from the project folder.");
        double second = similarity(QUESTION, "The tests run against a local PostgreSQL server.");
        String better = first >= second ? "[4]" : "[7]";
        String worse = first >= second ? "[7]" : "[4]";
        assertThat(answer.indexOf(better)).as("the nearer sentence first").isLessThan(answer.indexOf(worse));
    }

    @Test
    void answerFindsAParaphrasedSentenceAndSaysARepeatedPointOnce() {
        List<Prompts.Source> sources = List.of(
                new Prompts.Source(1, "Refunds", "refunds.md", 0.9, """
                        # Refunds

                        Card refunds appear within 5 to 10 business days after the warehouse receives the parcel.
                        Our warehouse is in Leeds.
                        """),
                new Prompts.Source(2, "Returns FAQ", "faq.md", 0.5, """
                        Card refunds appear within 5 to 10 business days after the warehouse has received the parcel.
                        Gift cards never expire.
                        """));

        String answer = ANSWER.compose("How long until my money comes back after I send something back?", sources);

        assertThat(answer).startsWith("From the indexed documents: Card refunds appear within 5 to 10 business days");
        assertThat(answer.split("Card refunds appear", -1)).as("the same point once").hasSize(2);
        assertThat(answer).doesNotContain("Gift cards", "Leeds", "#");
    }

    @Test
    void answerLeavesOutPiecesOfSentencesWhereAChunkWasCut() {
        List<Prompts.Source> sources = List.of(new Prompts.Source(2, "Refunds", "refunds.md", 0.9, """
                card refunds appear within 5 to 10 business days after the warehouse receives the parcel.

                Refunds of card payments take 5 to 10 business days. Store credit is issued the same day, and card
                """), new Prompts.Source(3, "Refund steps", "steps.md", 0.5, """
                2/3 of card refunds arrive within 5 business days, the rest within 10.

                To see how long your card refund takes:

                10 business days is the longest a card refund takes.
                """));

        String answer = ANSWER.compose("How long do card refunds take?", sources);

        assertThat(answer).startsWith("From the indexed documents: ")
                .contains("Refunds of card payments take 5 to 10 business days [2].")
                .doesNotContain("card refunds appear", "and card", "2/3", "To see how long");
    }

    @Test
    void answerIsPlainTextWhateverMarkdownTheSourcesAreIn() {
        List<Prompts.Source> sources = List.of(new Prompts.Source(3, "Settings", "README.md", 0.8, """
                | Variable | Default | Meaning |
                |---|---|---|
                | `SEARCH_MODE` | `hybrid` | how the [search step](#the-pipeline) ranks **chunks** |

                ```bash
                SEARCH_MODE=text mvn spring-boot:run
                ```
                """));

        String answer = ANSWER.compose("Which setting changes how the search ranks chunks?", sources);

        assertThat(answer).isEqualTo("From the indexed documents: Variable: SEARCH_MODE; Default: hybrid; Meaning: how the "
                + "search step ranks chunks [3].");
    }

    @Test
    void answerWithoutSourcesSaysNothingWasFound() {
        assertThat(ANSWER.compose(QUESTION, List.of()))
                .isEqualTo("I could not find anything about that in the indexed documents.");
    }

    @Test
    void answerWithoutAMatchingSentenceNamesTheClosestMatch() {
        String answer = ANSWER.compose("Which licence applies?", SOURCES);

        assertThat(answer).isEqualTo(
                "The indexed documents do not say that directly. The closest match is \"Quick start\" [4].");
    }

    @Test
    void streamedTokensAddUpToTheCompleteAnswer() {
        RecordingHandler handler = new RecordingHandler(false);

        ANSWER.chat(answerRequest(), handler);

        assertThat(handler.error.get()).isNull();
        assertThat(handler.partials).hasSizeGreaterThan(1);
        assertThat(handler.complete.get()).isNotNull();
        String completeText = handler.complete.get().aiMessage().text();
        assertThat(String.join("", handler.partials)).isEqualTo(completeText);
        assertThat(completeText).isEqualTo(ANSWER.compose(QUESTION, SOURCES));
    }

    @Test
    void cancellingThroughTheStreamingHandleStopsWithAnError() {
        RecordingHandler handler = new RecordingHandler(true);

        ANSWER.chat(answerRequest(), handler);

        assertThat(Thread.currentThread().isInterrupted()).as("a cancel is not an interrupt of the caller").isFalse();
        assertThat(handler.partials).containsExactly("From");
        assertThat(handler.error.get()).isNotNull();
        assertThat(handler.complete.get()).isNull();
    }

    @Test
    void analysisKeepsOnlySourcesScoringAtLeastAQuarterOfTheBestOne() throws Exception {
        List<Prompts.Source> sources = List.of(
                new Prompts.Source(1, "Quick start", "README.md", 0.8, "Run mvn test."),
                new Prompts.Source(2, "Licence", "LICENSE", 0.1, "MIT."),
                new Prompts.Source(3, "Testing", "docs/testing.md", 0.3, "The tests need PostgreSQL."),
                new Prompts.Source(4, "Layout", "docs/layout.md", 0.2, "Tests live under src/test."));
        ChatRequest request = ChatRequest.builder()
                .messages(PROMPTS.analysisSystem(), PROMPTS.analysisUser(QUESTION, sources))
                .build();

        ChatResponse response = new OfflineModels.Analysis().chat(request);

        JsonNode analysis = new ObjectMapper().readTree(response.aiMessage().text());
        assertThat(analysis.path("intent").asText()).isEqualTo("how-to");
        assertThat(analysis.path("keyTerms").toString()).isEqualTo("[\"run\",\"tests\"]");
        assertThat(analysis.path("sources").toString()).isEqualTo("[1,3,4]");
        assertThat(analysis.path("summary").asText()).contains("run, tests").contains("3 source(s)");
    }

    @Test
    void analysisWithoutSourcesSaysNoDocumentMatches() throws Exception {
        ChatRequest request = ChatRequest.builder()
                .messages(PROMPTS.analysisUser(QUESTION, List.of()))
                .build();

        JsonNode analysis = new ObjectMapper().readTree(new OfflineModels.Analysis().chat(request).aiMessage().text());

        assertThat(analysis.path("sources").isArray()).isTrue();
        assertThat(analysis.path("sources")).isEmpty();
        assertThat(analysis.path("summary").asText()).isEqualTo("No indexed document matches run, tests.");
    }

    private static ChatRequest answerRequest() {
        return ChatRequest.builder()
                .messages(PROMPTS.answerSystem(), PROMPTS.answerUser(QUESTION, SOURCES))
                .build();
    }

    private static final class RecordingHandler implements StreamingChatResponseHandler {
        private final boolean cancelAfterFirstToken;
        private final List<String> partials = new ArrayList<>();
        private final AtomicReference<ChatResponse> complete = new AtomicReference<>();
        private final AtomicReference<Throwable> error = new AtomicReference<>();

        RecordingHandler(boolean cancelAfterFirstToken) {
            this.cancelAfterFirstToken = cancelAfterFirstToken;
        }

        @Override
        public void onPartialResponse(PartialResponse partial, PartialResponseContext context) {
            partials.add(partial.text());
            if (cancelAfterFirstToken) {
                context.streamingHandle().cancel();
            }
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            complete.set(response);
        }

        @Override
        public void onError(Throwable throwable) {
            error.set(throwable);
        }
    }

    private static double similarity(String a, String b) {
        float[] x = EMBEDDINGS.embed(a);
        float[] y = EMBEDDINGS.embed(b);
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            sum += x[i] * y[i];
        }
        return sum;
    }
}
