package io.github.pgflowchat.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;

import io.github.pgflowchat.documents.Embeddings;
import io.github.pgflowchat.pipeline.SearchStep;

/**
 * A labelled retrieval set (src/test/resources/retrieval): twenty help-centre documents and forty questions, each
 * paraphrased so it shares few words with the document that answers it, and how well a search ranks them.
 */
public final class RetrievalSet {

    /** The prefix of every source this set posts, so its documents are told apart from the seeded corpus. */
    public static final String SOURCE_PREFIX = "retrieval-set/";

    public record Question(String text, String source) {
    }

    /** Recall at 1 and 3 (the answering document among the first k results) and mean reciprocal rank (over 10). */
    public record Scores(double recallAt1, double recallAt3, double mrr) {
        public String toString() {
            return String.format(Locale.ROOT, "recall@1 %.2f, recall@3 %.2f, MRR %.2f", recallAt1, recallAt3, mrr);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private RetrievalSet() {
    }

    /** Posts the set's documents through {@code POST /api/documents} of the gateway on {@code port}. */
    public static void post(int port) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newHttpClient();
        for (Map.Entry<String, String> document : documents().entrySet()) {
            String body = JSON.writeValueAsString(Map.of("source", document.getKey(), "content", document.getValue()));
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/documents"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 201) {
                throw new IllegalStateException("POST /api/documents answered " + response.statusCode() + ": " + response.body());
            }
        }
    }

    /** The search step's SQL and bean as the pipeline runs them, with the given settings: its output. */
    public static JsonNode search(CamelContext camel, Embeddings embeddings, SearchStep.Properties properties, String question) {
        SearchStep step = new SearchStep(properties, embeddings);
        JsonNode input = JSON.createObjectNode().set("run", JSON.createObjectNode().put("question", question));
        try (ProducerTemplate producer = camel.createProducerTemplate()) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> rows = producer.requestBody("sql:classpath:sql/search_documents.sql", step.parameters(input), List.class);
            return JSON.valueToTree(step.output(rows, question));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The sources of a search's results, best first. */
    public static List<String> sources(JsonNode searchOutput) {
        return searchOutput.path("results").findValuesAsText("source");
    }

    /** Source (with {@link #SOURCE_PREFIX}) to Markdown, in file order. */
    public static Map<String, String> documents() {
        Map<String, String> documents = new LinkedHashMap<>();
        try {
            for (Resource resource : new PathMatchingResourcePatternResolver().getResources("classpath:retrieval/documents/*.md")) {
                documents.put(SOURCE_PREFIX + resource.getFilename(), read(resource.getInputStream()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return documents;
    }

    public static List<Question> questions() {
        List<Question> questions = new ArrayList<>();
        try (InputStream in = RetrievalSet.class.getResourceAsStream("/retrieval/questions.tsv")) {
            for (String line : read(in).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] fields = line.split("\t");
                questions.add(new Question(fields[0].strip(), SOURCE_PREFIX + fields[1].strip()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return questions;
    }

    /** Scores a search: {@code search} gives the sources of its results, best first. */
    public static Scores score(List<Question> questions, Function<String, List<String>> search) {
        double atOne = 0;
        double atThree = 0;
        double reciprocal = 0;
        for (Question question : questions) {
            List<String> sources = search.apply(question.text()).stream().distinct().toList();
            int rank = sources.indexOf(question.source()) + 1;
            atOne += rank == 1 ? 1 : 0;
            atThree += rank >= 1 && rank <= 3 ? 1 : 0;
            reciprocal += rank >= 1 && rank <= 10 ? 1.0 / rank : 0;
        }
        int n = questions.size();
        return new Scores(atOne / n, atThree / n, reciprocal / n);
    }

    private static String read(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
