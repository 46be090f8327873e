package io.github.pgflowchat.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.parameters.Parameter;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.LocalPostgres;

/**
 * {@code GET /api/openapi.json}, Camel's OpenAPI document of the REST DSL in routes/api.yaml, read by an OpenAPI 3
 * parser: it lists exactly the API's operations, each with its parameters and the media type of each response, and
 * the service answers as it says.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline",
        "gateway.llm.offline.token-delay=1ms",
        "gateway.worker.fallback-poll-interval=200ms"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiDocumentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String EVENTS = "text/event-stream";
    private static final String JSON_TYPE = "application/json";
    private static final String TEXT = "text/plain; charset=utf-8";
    /** A response without a body. */
    private static final String NONE = "";

    /** Every operation, as "METHOD /path under /api", with the media type of each of its responses. */
    private static final Map<String, Map<String, String>> OPERATIONS = new LinkedHashMap<>();

    static {
        OPERATIONS.put("POST /chat", responses(EVENTS, "400", "401", "403", "413", "415", "429", "500", "503"));
        OPERATIONS.put("GET /chat/{chatId}/stream", with(responses(EVENTS, "400", "401", "409", "429", "500", "503"), "204", NONE));
        OPERATIONS.put("POST /chat/{chatId}/stop", with(answers("202", JSON_TYPE, "401", "403", "413", "500", "503"), "204", NONE));
        OPERATIONS.put("POST /documents", answers("201", JSON_TYPE, "400", "401", "403", "413", "415", "429", "500", "503"));
        OPERATIONS.put("GET /documents/{documentId}", responses(TEXT, "400", "401", "404", "500", "503"));
        OPERATIONS.put("GET /chats", responses(JSON_TYPE, "401", "429", "500", "503"));
        OPERATIONS.put("GET /chats/{chatId}", responses(JSON_TYPE, "401", "404", "429", "500", "503"));
        OPERATIONS.put("DELETE /chats/{chatId}", answers("204", NONE, "401", "404", "429", "500", "503"));
        OPERATIONS.put("GET /runs/{runId}", responses(JSON_TYPE, "400", "401", "404", "500", "503"));
        OPERATIONS.put("POST /runs/{runId}/retry", responses(EVENTS, "400", "401", "403", "404", "409", "413", "429", "500", "503"));
        OPERATIONS.put("GET /config", responses(JSON_TYPE, "500", "503"));
        OPERATIONS.put("GET /openapi.json", responses(JSON_TYPE, "500", "503"));
    }

    private static Map<String, String> responses(String okType, String... errors) {
        return answers("200", okType, errors);
    }

    /** {@code okCode} with {@code okType}, and each of {@code errors} with the JSON error. */
    private static Map<String, String> answers(String okCode, String okType, String... errors) {
        Map<String, String> responses = new LinkedHashMap<>();
        responses.put(okCode, okType);
        for (String error : errors) {
            responses.put(error, JSON_TYPE);
        }
        return responses;
    }

    private static Map<String, String> with(Map<String, String> responses, String code, String type) {
        responses.put(code, type);
        return responses;
    }

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
    JdbcTemplate jdbc;

    @Autowired
    CamelContext camel;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private HttpResponse<String> served;
    private OpenAPI document;

    @BeforeAll
    void readTheDocument() throws Exception {
        served = send(HttpRequest.newBuilder(uri("/api/openapi.json")).GET());
        SwaggerParseResult parsed = new OpenAPIV3Parser().readContents(served.body());
        assertThat(parsed.getMessages()).as("what the OpenAPI 3 parser says of the document").isEmpty();
        document = parsed.getOpenAPI();
    }

    @Test
    void theDocumentIsOpenApi3ServedAsJsonUnderTheApiPath() {
        assertThat(served.statusCode()).isEqualTo(200);
        assertThat(MediaType.parseMediaType(served.headers().firstValue("Content-Type").orElseThrow()).isCompatibleWith(MediaType.APPLICATION_JSON)).isTrue();
        assertThat(document.getOpenapi()).startsWith("3.");
        assertThat(document.getInfo().getTitle()).isEqualTo("pgflow chat gateway");
        assertThat(document.getServers()).singleElement().satisfies(server -> assertThat(server.getUrl()).isEqualTo("/api"));
    }

    @Test
    void itListsEveryOperationOfTheApiAndNoOther() {
        assertThat(operations().keySet()).containsExactlyInAnyOrderElementsOf(OPERATIONS.keySet());
    }

    @Test
    void eachOperationHasItsResponsesEachWithItsOwnMediaType() {
        operations().forEach((name, operation) -> {
            Map<String, String> documented = new LinkedHashMap<>();
            operation.getResponses().forEach((code, response) -> documented.put(code, mediaType(response)));
            assertThat(documented).as(name).containsExactlyInAnyOrderEntriesOf(OPERATIONS.get(name));
            operation.getResponses().forEach((code, response) -> assertThat(response.getDescription()).as(name + " " + code).isNotBlank());
        });
    }

    @Test
    void everyErrorResponseIsTheJsonErrorBody() {
        Schema<?> body = document.getComponents().getSchemas().get("ApiErrorBody");
        Schema<?> detail = document.getComponents().getSchemas().get(ref(body.getProperties().get("error")));
        assertThat(detail.getProperties()).containsOnlyKeys("code", "message");
        assertThat(detail.getProperties().values()).allSatisfy(field -> assertThat(field.getType()).isEqualTo("string"));

        operations().forEach((name, operation) -> operation.getResponses().forEach((code, response) -> {
            if (Integer.parseInt(code) >= 400) {
                assertThat(ref(response.getContent().get(JSON_TYPE).getSchema())).as(name + " " + code).isEqualTo("ApiErrorBody");
            }
        }));
    }

    @Test
    void eachOperationIsNamedForTheRouteThatServesItAndSaysWhatItDoes() {
        operations().forEach((name, operation) -> {
            assertThat(camel.getRoute(operation.getOperationId())).as("the route of %s (%s)", name, operation.getOperationId()).isNotNull();
            assertThat(operation.getSummary()).as(name).isNotBlank();
        });
    }

    @Test
    void everyPathParameterIsDescribedAsRequired() {
        Pattern template = Pattern.compile("\\{(\\w+)}");
        operations().forEach((name, operation) -> {
            Set<String> inPath = new TreeSet<>();
            Matcher matcher = template.matcher(name);
            while (matcher.find()) {
                inPath.add(matcher.group(1));
            }
            List<Parameter> pathParameters = operation.getParameters() == null ? List.of()
                    : operation.getParameters().stream().filter(parameter -> "path".equals(parameter.getIn())).toList();
            assertThat(pathParameters).as(name).extracting(Parameter::getName).containsExactlyInAnyOrderElementsOf(inPath);
            assertThat(pathParameters).as(name).allSatisfy(parameter -> {
                assertThat(parameter.getRequired()).isTrue();
                assertThat(parameter.getDescription()).isNotBlank();
            });
        });
        assertThat(operations().get("GET /runs/{runId}").getParameters()).singleElement()
                .satisfies(runId -> assertThat(runId.getSchema().getFormat()).isEqualTo("uuid"));
    }

    @Test
    void resumeTakesLastEventIdAndTheBodiesAreRequiredJsonObjects() {
        assertThat(operations().get("GET /chat/{chatId}/stream").getParameters())
                .anySatisfy(parameter -> {
                    assertThat(parameter.getName()).isEqualTo("Last-Event-ID");
                    assertThat(parameter.getIn()).isEqualTo("header");
                    assertThat(parameter.getRequired()).isFalse();
                });
        for (String name : List.of("POST /chat", "POST /documents")) {
            Content body = operations().get(name).getRequestBody().getContent();
            assertThat(body.keySet()).as(name).containsExactly(JSON_TYPE);
            assertThat(body.get(JSON_TYPE).getSchema().getType()).as(name).isEqualTo("object");
            assertThat(operations().get(name).getRequestBody().getRequired()).as(name).isTrue();
        }
        assertThat(operations().get("POST /chat").getResponses().get("200").getHeaders())
                .containsKeys("x-pgflow-run-id", "x-vercel-ai-ui-message-stream");
    }

    @Test
    void theServiceAnswersWithTheStatusesAndMediaTypesTheDocumentNames() throws Exception {
        long documentId = jdbc.queryForObject("select min(id) from public.documents", Long.class);
        String unknownRun = UUID.randomUUID().toString();
        ChatClient.StreamResponse chat = new ChatClient(port).postChat(ChatClient.chatBody("chat-openapi", "How do I run the tests?"));
        assertAnswersAsDocumented("POST /chat", 200, chat.headers());
        assertThat(chat.header("x-pgflow-run-id")).isEqualTo(chat.runId());
        assertThat(chat.header("x-vercel-ai-ui-message-stream")).isEqualTo("v1");

        assertAnswersAsDocumented("POST /chat", 415, send(post("/api/chat", "text/plain", "hello")).headers().map());
        assertAnswersAsDocumented("POST /chat", 400, send(post("/api/chat", JSON_TYPE, "{\"id\":\"c\"}")).headers().map());
        assertAnswersAsDocumented("GET /chat/{chatId}/stream", 204, send(get("/api/chat/never-streamed/stream")).headers().map());
        assertAnswersAsDocumented("GET /chat/{chatId}/stream", 400,
                send(get("/api/chat/chat-openapi/stream").header("Last-Event-ID", "not-an-event")).headers().map());
        assertAnswersAsDocumented("POST /chat/{chatId}/stop", 204, send(post("/api/chat/never-streamed/stop", null, "")).headers().map());
        assertAnswersAsDocumented("POST /documents", 201, send(post("/api/documents", JSON_TYPE,
                "{\"source\":\"openapi.md\",\"content\":\"# OpenAPI\\n\\nThe document of the API.\"}")).headers().map());
        assertAnswersAsDocumented("POST /documents", 415, send(post("/api/documents", "text/plain", "x")).headers().map());
        assertAnswersAsDocumented("GET /documents/{documentId}", 200, send(get("/api/documents/" + documentId)).headers().map());
        assertAnswersAsDocumented("GET /documents/{documentId}", 400, send(get("/api/documents/first")).headers().map());
        assertAnswersAsDocumented("GET /documents/{documentId}", 404, send(get("/api/documents/" + Long.MAX_VALUE)).headers().map());
        assertAnswersAsDocumented("GET /chats", 200, send(get("/api/chats")).headers().map());
        assertAnswersAsDocumented("GET /chats/{chatId}", 200, send(get("/api/chats/chat-openapi")).headers().map());
        assertAnswersAsDocumented("GET /chats/{chatId}", 404, send(get("/api/chats/never-kept")).headers().map());
        assertAnswersAsDocumented("DELETE /chats/{chatId}", 404, send(HttpRequest.newBuilder(uri("/api/chats/never-kept")).DELETE()).headers().map());
        assertAnswersAsDocumented("GET /runs/{runId}", 200, send(get("/api/runs/" + chat.runId())).headers().map());
        assertAnswersAsDocumented("GET /runs/{runId}", 400, send(get("/api/runs/not-a-uuid")).headers().map());
        assertAnswersAsDocumented("GET /runs/{runId}", 404, send(get("/api/runs/" + unknownRun)).headers().map());
        assertAnswersAsDocumented("POST /runs/{runId}/retry", 409, send(post("/api/runs/" + chat.runId() + "/retry", null, "")).headers().map());
        assertAnswersAsDocumented("POST /runs/{runId}/retry", 404, send(post("/api/runs/" + unknownRun + "/retry", null, "")).headers().map());
        assertAnswersAsDocumented("GET /config", 200, send(get("/api/config")).headers().map());
    }

    @Test
    void anErrorBodyHasExactlyTheDocumentedFields() throws Exception {
        JsonNode error = JSON.readTree(send(get("/api/runs/not-a-uuid")).body());

        assertThat(error.properties()).extracting(Map.Entry::getKey).containsExactly("error");
        assertThat(error.path("error").properties()).extracting(Map.Entry::getKey).containsExactly("code", "message");
        assertThat(error.path("error").path("code").asText()).isEqualTo("invalid_run_id");
    }

    @Test
    void theDocumentCarriesNoHeaderOfTheRequest() throws Exception {
        HttpResponse<String> response = send(HttpRequest.newBuilder(uri("/api/openapi.json"))
                .header("Authorization", "Bearer not-for-the-response").header("X-Request-Note", "private").GET());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().map().keySet()).noneMatch(name -> name.equalsIgnoreCase("authorization") || name.equalsIgnoreCase("x-request-note"));
        assertThat(response.headers().firstValue("Cache-Control")).as("the document follows the deployed routes").hasValue("no-cache");
    }

    @ParameterizedTest
    @CsvSource({
            "GET, /api/nope, 404, not_found",
            "GET, /api/chat/some-chat/nope, 404, not_found",
            "POST, /api/openapi.json, 405, method_not_allowed",
            "PUT, /api/config, 405, method_not_allowed",
            "DELETE, /api/runs/00000000-0000-0000-0000-000000000000, 405, method_not_allowed",
            "GET, /api/chat/some-chat/stop, 405, method_not_allowed"
    })
    void pathsAndMethodsOutsideTheDocumentAnswerTheJsonError(String method, String path, int status, String code) throws Exception {
        HttpResponse<String> response = send(HttpRequest.newBuilder(uri(path)).method(method, HttpRequest.BodyPublishers.noBody()));

        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type").orElseThrow()).startsWith(JSON_TYPE);
        assertThat(JSON.readTree(response.body()).path("error").path("code").asText()).isEqualTo(code);
    }

    private void assertAnswersAsDocumented(String operation, int status, Map<String, List<String>> headers) {
        Map<String, String> documented = OPERATIONS.get(operation);
        assertThat(documented).as("%s documents %d", operation, status).containsKey(String.valueOf(status));
        String type = documented.get(String.valueOf(status));
        if (type.isEmpty()) {
            return;
        }
        String contentType = headers.getOrDefault("content-type", List.of()).stream().findFirst().orElse(null);
        assertThat(contentType).as("%s %d", operation, status).isNotNull();
        MediaType answered = MediaType.parseMediaType(contentType);
        MediaType expected = MediaType.parseMediaType(type);
        assertThat(answered.equalsTypeAndSubtype(expected)).as("%s %d answered %s", operation, status, contentType).isTrue();
        if (expected.getCharset() != null) {
            assertThat(answered.getCharset()).as("%s %d answered %s", operation, status, contentType).isEqualTo(expected.getCharset());
        }
    }

    /** The document's operations by "METHOD /path". */
    private Map<String, Operation> operations() {
        Map<String, Operation> operations = new LinkedHashMap<>();
        document.getPaths().forEach((path, item) -> item.readOperationsMap()
                .forEach((method, operation) -> operations.put(method + " " + path, operation)));
        return operations;
    }

    private static String mediaType(ApiResponse response) {
        if (response.getContent() == null || response.getContent().isEmpty()) {
            return NONE;
        }
        assertThat(response.getContent()).hasSize(1);
        return response.getContent().keySet().iterator().next();
    }

    private static String ref(Schema<?> schema) {
        assertThat(schema.get$ref()).isNotNull();
        return schema.get$ref().substring(schema.get$ref().lastIndexOf('/') + 1);
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private HttpRequest.Builder get(String path) {
        return HttpRequest.newBuilder(uri(path)).GET();
    }

    private HttpRequest.Builder post(String path, String contentType, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body));
        return contentType == null ? request : request.header("Content-Type", contentType);
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
