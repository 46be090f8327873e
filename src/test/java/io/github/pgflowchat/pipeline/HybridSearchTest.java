package io.github.pgflowchat.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.documents.Embeddings;
import io.github.pgflowchat.support.LocalPostgres;
import io.github.pgflowchat.support.RetrievalSet;

/**
 * The search step's SQL on the PostgreSQL server, over the labelled retrieval set posted through
 * {@code POST /api/documents} beside the seeded corpus: hybrid ranking finds paraphrased questions' documents, the
 * snippets are plain text, and chunks are embedded when written or, for the seeded corpus, in the background.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HybridSearchTest {

    @DynamicPropertySource
    static void localPostgres(DynamicPropertyRegistry registry) {
        LocalPostgres.reset();
        registry.add("spring.datasource.url", () -> LocalPostgres.URL);
        registry.add("spring.datasource.username", () -> LocalPostgres.USER);
        registry.add("spring.datasource.password", () -> LocalPostgres.PASSWORD);
    }

    @LocalServerPort
    int port;
    @Autowired
    CamelContext camel;
    @Autowired
    Embeddings embeddings;
    @Autowired
    SearchStep.Properties defaults;
    @Autowired
    JdbcTemplate jdbc;

    @BeforeAll
    void postTheSet() throws Exception {
        RetrievalSet.post(port);
    }

    @Test
    void hybridFindsTheParaphrasedQuestionsDocumentsAtLeastAsWellAsEitherHalf() {
        RetrievalSet.Scores text = scores(SearchStep.Mode.TEXT);
        RetrievalSet.Scores vector = scores(SearchStep.Mode.VECTOR);
        RetrievalSet.Scores hybrid = scores(SearchStep.Mode.HYBRID);
        System.out.printf("retrieval set: text %s; vector %s; hybrid %s%n", text, vector, hybrid);

        assertThat(hybrid.recallAt3()).isGreaterThanOrEqualTo(0.85);
        assertThat(hybrid.recallAt3()).isGreaterThanOrEqualTo(Math.max(text.recallAt3(), vector.recallAt3()));
        assertThat(hybrid.mrr()).isGreaterThan(text.mrr()).isGreaterThanOrEqualTo(vector.mrr() - 0.02);
    }

    @Test
    void aQuestionSharingNoWordWithItsDocumentIsFoundByMeaning() {
        String question = "How do I make foam for a cappuccino?";

        assertThat(sources(SearchStep.Mode.TEXT, question)).doesNotContain(RetrievalSet.SOURCE_PREFIX + "milk-frothing.md");
        assertThat(sources(SearchStep.Mode.HYBRID, question)).first().isEqualTo(RetrievalSet.SOURCE_PREFIX + "milk-frothing.md");
    }

    @Test
    void aQuestionInTheDocumentsOwnWordsStillRanksItFirst() {
        assertThat(sources(SearchStep.Mode.HYBRID, "restocking fee")).first().isEqualTo(RetrievalSet.SOURCE_PREFIX + "refunds.md");
        assertThat(sources(SearchStep.Mode.HYBRID, "ten recovery codes")).first().isEqualTo(RetrievalSet.SOURCE_PREFIX + "two-factor.md");
        assertThat(sources(SearchStep.Mode.HYBRID, "flagship shop Thursdays")).first().isEqualTo(RetrievalSet.SOURCE_PREFIX + "store-hours.md");
    }

    @Test
    void resultsCarryPlainSnippetsAndTheRanksOfBothHalves() {
        JsonNode results = search(SearchStep.Mode.HYBRID, "restocking fee for an opened item that is undamaged").path("results");

        JsonNode first = results.get(0);
        assertThat(first.path("source").asText()).isEqualTo(RetrievalSet.SOURCE_PREFIX + "refunds.md");
        assertThat(first.path("textRank").asInt()).isEqualTo(1);
        assertThat(first.path("vectorRank").asInt()).isPositive();
        assertThat(first.path("similarity").asDouble()).isBetween(0.3, 1.0);
        assertThat(first.path("score").asDouble()).isBetween(0.5, 1.0);
        assertThat(first.path("snippet").asText()).contains("restocking fee").doesNotContain("|", "**", "#");
        for (JsonNode result : results) {
            assertThat(result.path("score").asDouble()).isLessThanOrEqualTo(first.path("score").asDouble());
        }
    }

    @Test
    void aPostedDocumentIsEmbeddedAtOnceAndTheSeededCorpusInTheBackground() throws InterruptedException {
        assertThat(jdbc.queryForObject("select count(*) from public.documents where source like ? and (embedding is null "
                + "or array_length(embedding, 1) <> ? or plain_content is null)", Long.class, RetrievalSet.SOURCE_PREFIX + "%",
                Embeddings.DIMENSIONS)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from public.documents where source not like ?", Long.class,
                RetrievalSet.SOURCE_PREFIX + "%")).as("the seeded corpus").isPositive();

        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        long missing;
        while ((missing = jdbc.queryForObject("select count(*) from public.documents where embedding is null", Long.class)) > 0
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertThat(missing).as("chunks still without an embedding").isZero();
        assertThat(jdbc.queryForObject("select count(*) from public.documents where plain_content ~ '\\|\\s*---'", Long.class)).isZero();
    }

    private RetrievalSet.Scores scores(SearchStep.Mode mode) {
        return RetrievalSet.score(RetrievalSet.questions(), question -> sources(mode, question));
    }

    private List<String> sources(SearchStep.Mode mode, String question) {
        return RetrievalSet.sources(search(mode, question));
    }

    /** The defaults, but ten results and the given mode. */
    private JsonNode search(SearchStep.Mode mode, String question) {
        SearchStep.Properties properties = new SearchStep.Properties(10, mode, defaults.candidates(), defaults.rrfK(),
                defaults.textWeight(), defaults.vectorWeight(), true);
        return RetrievalSet.search(camel, embeddings, properties, question);
    }
}
