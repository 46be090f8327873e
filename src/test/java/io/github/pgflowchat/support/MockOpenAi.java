package io.github.pgflowchat.support;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import okhttp3.mockwebserver.SocketPolicy;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * An OpenAI-compatible chat completions server on a local socket, standing in for a hosted model: non-streaming
 * requests get {@code analysisJson} as the assistant message, streaming ones get {@code answerTokens} as
 * {@code chat.completion.chunk} SSE events followed by {@code data: [DONE]}, as OpenAI sends them.
 */
public final class MockOpenAi extends Dispatcher {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A question containing this gets an answer stream that breaks off halfway. */
    public static final String FAIL_MID_ANSWER = "break off mid-answer";

    private final MockWebServer server = new MockWebServer();
    private final String analysisJson;
    private final List<String> answerTokens;
    private final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    private final List<String> authorizations = new CopyOnWriteArrayList<>();

    public MockOpenAi(String analysisJson, List<String> answerTokens) {
        this.analysisJson = analysisJson;
        this.answerTokens = answerTokens;
        server.setDispatcher(this);
    }

    public String start() throws Exception {
        server.start();
        return server.url("/v1").toString();
    }

    /** Starts the server and points the gateway's OpenAI-compatible provider at it, answering as {@code model}. */
    public void startAsProvider(DynamicPropertyRegistry registry, String model) throws Exception {
        String baseUrl = start();
        registry.add("gateway.llm.provider", () -> "auto");
        registry.add("gateway.llm.openai.base-url", () -> baseUrl);
        registry.add("gateway.llm.openai.api-key", () -> "test-key");
        registry.add("gateway.llm.openai.model", () -> model);
    }

    public void stop() throws Exception {
        server.shutdown();
    }

    public List<JsonNode> requests() {
        return requests;
    }

    public List<String> authorizations() {
        return authorizations;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        if (!request.getPath().endsWith("/chat/completions")) {
            return new MockResponse().setResponseCode(404);
        }
        try {
            JsonNode body = JSON.readTree(request.getBody().readUtf8());
            requests.add(body);
            authorizations.add(request.getHeader("Authorization"));
            String model = body.path("model").asText();
            if (body.path("stream").asBoolean() && body.toString().contains(FAIL_MID_ANSWER)) {
                // Half an answer, then the connection drops, as when a provider or a proxy resets it.
                return streamed(model).setSocketPolicy(SocketPolicy.DISCONNECT_DURING_RESPONSE_BODY);
            }
            return body.path("stream").asBoolean() ? streamed(model) : completion(model);
        } catch (Exception e) {
            return new MockResponse().setResponseCode(500).setBody(e.toString());
        }
    }

    private MockResponse completion(String model) {
        ObjectNode response = JSON.createObjectNode().put("id", "chatcmpl-mock").put("object", "chat.completion")
                .put("created", 1_764_000_000L).put("model", model);
        ObjectNode choice = response.putArray("choices").addObject().put("index", 0).put("finish_reason", "stop");
        choice.putObject("message").put("role", "assistant").put("content", analysisJson);
        response.putObject("usage").put("prompt_tokens", 50).put("completion_tokens", 20).put("total_tokens", 70);
        return new MockResponse().setHeader("Content-Type", "application/json").setBody(response.toString());
    }

    private MockResponse streamed(String model) {
        StringBuilder events = new StringBuilder();
        for (int i = 0; i <= answerTokens.size(); i++) {
            ObjectNode chunk = JSON.createObjectNode().put("id", "chatcmpl-mock").put("object", "chat.completion.chunk")
                    .put("created", 1_764_000_000L).put("model", model);
            ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
            if (i < answerTokens.size()) {
                ObjectNode delta = choice.putObject("delta");
                if (i == 0) {
                    delta.put("role", "assistant");
                }
                delta.put("content", answerTokens.get(i));
                choice.putNull("finish_reason");
            } else {
                choice.putObject("delta");
                choice.put("finish_reason", "stop");
            }
            events.append("data: ").append(chunk).append("\n\n");
        }
        // With stream_options.include_usage (LangChain4j asks for it), the last chunk has no choices and the usage.
        ObjectNode usage = JSON.createObjectNode().put("id", "chatcmpl-mock").put("object", "chat.completion.chunk")
                .put("created", 1_764_000_000L).put("model", model);
        usage.putArray("choices");
        usage.putObject("usage").put("prompt_tokens", 120).put("completion_tokens", answerTokens.size())
                .put("total_tokens", 120 + answerTokens.size());
        events.append("data: ").append(usage).append("\n\n");
        events.append("data: [DONE]\n\n");
        return new MockResponse().setHeader("Content-Type", "text/event-stream").setBody(events.toString());
    }
}
