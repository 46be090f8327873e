package io.github.pgflowchat.pipeline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.langchain4j.model.output.TokenUsage;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.chat.ChatStream;
import io.github.pgflowchat.chat.ChatStreams;
import io.github.pgflowchat.chat.UiChunks;
import io.github.pgflowchat.llm.ModelInfo;
import io.github.pgflowchat.llm.Prompts;
import io.github.pgflowchat.pgflow.StepCancelledException;

/**
 * The {@code respond} step: streams the answer model's tokens straight into the run's chat stream when this instance
 * holds it, and returns the whole answer with the sources it cites as the step output (stored by complete_task), so
 * the answer is durable whether or not anyone watched it being written.
 */
@Component("respondStep")
public class RespondStep {

    private static final Pattern CITATION = Pattern.compile("\\[(\\d+)]");
    /** How long the answer waits for the event path to show the step as started; then it streams regardless. */
    private static final Duration EVENTS_GRACE = Duration.ofSeconds(2);
    private static final String STEP = "respond";

    private final StreamingChatModel answerModel;
    private final ChatStreams chatStreams;
    private final ModelInfo model;
    private final Prompts prompts;
    private final Timer timeToFirstToken;
    private final DistributionSummary tokensPerSecond;
    private final Map<UUID, StringBuffer> answersInProgress = new ConcurrentHashMap<>();

    public RespondStep(StreamingChatModel answerModel, ChatStreams chatStreams, ModelInfo model, Prompts prompts,
            MeterRegistry meters) {
        this.answerModel = answerModel;
        this.chatStreams = chatStreams;
        this.model = model;
        this.prompts = prompts;
        this.timeToFirstToken = Timer.builder("gateway.chat.time.to.first.token")
                .description("From POST /api/chat to the answer's first token on the stream (streams held here)")
                .publishPercentiles(0.5, 0.99)
                .register(meters);
        this.tokensPerSecond = DistributionSummary.builder("gateway.chat.tokens.per.second")
                .description("Answer tokens per second, first token to last")
                .register(meters);
    }

    /**
     * Streams the answer to the run's question from the run's input ({@code run}), the ranked results it draws on
     * ({@code {"query", "results"}}) and the analysis ({@code sources}: the result numbers to use); the route says
     * which dependencies' outputs these are.
     */
    public Map<String, Object> respond(JsonNode run, JsonNode results, JsonNode analysis, UUID runId, int attempt) throws Exception {
        List<Prompts.Source> sources = chosenSources(results, analysis);
        Optional<ChatStream> stream = chatStreams.find(runId);
        if (stream.isPresent()) {
            stream.get().awaitStepStarted(STEP, EVENTS_GRACE);
            if (stream.get().cancelReason() != null) {
                throw new StepCancelledException(stream.get().cancelReason());
            }
        }
        String textId = "text-" + runId + "-" + attempt;
        long attemptStarted = System.nanoTime();
        // Each attempt is a step of the AI SDK message: a retry after a failed attempt starts another.
        stream.ifPresent(s -> s.send(UiChunks.startStep()));
        // Readable from other threads: GET /api/runs/{id} shows the answer so far while the step runs here.
        StringBuffer answer = new StringBuffer();
        answersInProgress.put(runId, answer);
        AtomicInteger tokens = new AtomicInteger();
        AtomicLong firstTokenNanos = new AtomicLong();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        AtomicReference<StreamingHandle> handle = new AtomicReference<>();

        // Stop or an abandoned stream: close the provider's stream and end this attempt for good.
        stream.ifPresent(s -> s.whileAnswering(() -> {
            Optional.ofNullable(handle.get()).ifPresent(StreamingHandle::cancel);
            done.completeExceptionally(new StepCancelledException(s.cancelReason()));
        }));
        ChatRequest request = ChatRequest.builder().messages(messages(run, sources)).build();
        StreamingChatResponseHandler handler = new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(PartialResponse partial, PartialResponseContext context) {
                handle.set(context.streamingHandle());
                if (done.isDone()) {
                    // Cancelled before the provider's first token gave us its handle.
                    context.streamingHandle().cancel();
                    return;
                }
                if (tokens.getAndIncrement() == 0) {
                    firstTokenNanos.set(System.nanoTime());
                    stream.ifPresent(s -> timeToFirstToken.record(Duration.ofNanos(firstTokenNanos.get() - s.createdAtNanos())));
                }
                answer.append(partial.text());
                stream.ifPresent(s -> s.sendText(textId, partial.text()));
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        };
        ChatResponse response;
        try {
            sendOnAThreadOfItsOwn(() -> answerModel.chat(request, handler));
            response = done.get();
        } catch (InterruptedException e) {
            // The worker enforces the step timeout by interrupting this thread: stop the provider's stream too, and
            // any token that comes after this.
            done.completeExceptionally(e);
            Optional.ofNullable(handle.get()).ifPresent(StreamingHandle::cancel);
            Thread.currentThread().interrupt();
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StepCancelledException cancelled) {
                throw cancelled;
            }
            // The provider failed mid-answer: the attempt fails (pgflow retries it or fails the run), and what had
            // been written so far is kept with the failure, in the task's error message.
            throw new IllegalStateException("the model failed after " + answer.length() + " characters ("
                    + e.getCause() + ")" + (answer.length() > 0 ? "; text so far: " + answer : ""), e.getCause());
        } finally {
            answersInProgress.remove(runId, answer);
            stream.ifPresent(s -> {
                s.whileAnswering(null);
                s.closeText();
                s.send(UiChunks.finishStep());
            });
        }
        if (response.finishReason() == null) {
            // A stream cut off without its final chunk can look complete; an answer with no finish reason is not.
            throw new IllegalStateException("the model's stream ended without finishing after " + answer.length()
                    + " characters" + (answer.length() > 0 ? "; text so far: " + answer : ""));
        }
        long streamingNanos = System.nanoTime() - firstTokenNanos.get();
        if (tokens.get() > 1 && streamingNanos > 0) {
            tokensPerSecond.record(tokens.get() * 1e9 / streamingNanos);
        }
        String text = answer.length() > 0 ? answer.toString() : response.aiMessage().text();
        Map<String, Object> output = new LinkedHashMap<>();
        output.put("answer", text);
        output.put("citations", citations(text, sources));
        output.put("model", model.describe());
        output.put("finishReason", response.finishReason().name().toLowerCase());
        output.put("attempt", attempt);
        if (response.tokenUsage() != null) {
            output.put("usage", usage(response.tokenUsage()));
        }
        Map<String, Object> timings = new LinkedHashMap<>();
        if (tokens.get() > 0) {
            timings.put("firstTokenMs", (firstTokenNanos.get() - attemptStarted) / 1_000_000);
        }
        timings.put("answerMs", (System.nanoTime() - attemptStarted) / 1_000_000);
        output.put("timings", timings);
        return output;
    }

    /**
     * Runs {@code send} (the model's {@code chat}, which writes the request and hands it to the HTTP client) on a
     * virtual thread that ends with it. LangChain4j's OpenAI client writes the request with an ObjectMapper of its
     * own, whose buffers Jackson keeps in a thread-local of the thread that wrote: on this task's thread they stayed
     * for as long as the answer took (issue 13: heap per open stream). A remote model's answer arrives on the HTTP
     * client's thread, so this thread ends as soon as the request is sent; a model that streams on the calling thread
     * (the offline one) streams on this one, which the step's deadline then interrupts.
     */
    private static void sendOnAThreadOfItsOwn(Runnable send) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread sender = Thread.ofVirtual().name("model-request").start(() -> {
            try {
                send.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        try {
            sender.join();
        } catch (InterruptedException e) {
            // A model that streams on the calling thread (the offline one) is stopped the way it was on the task's.
            sender.interrupt();
            throw e;
        }
        if (failure.get() instanceof RuntimeException e) {
            throw e;
        }
        if (failure.get() instanceof Error e) {
            throw e;
        }
    }

    /** The provider's token counts, as the AI SDK names them; a count the provider did not report is left out. */
    private static Map<String, Object> usage(TokenUsage usage) {
        Map<String, Object> counts = new LinkedHashMap<>();
        if (usage.inputTokenCount() != null) {
            counts.put("inputTokens", usage.inputTokenCount());
        }
        if (usage.outputTokenCount() != null) {
            counts.put("outputTokens", usage.outputTokenCount());
        }
        if (usage.totalTokenCount() != null) {
            counts.put("totalTokens", usage.totalTokenCount());
        }
        return counts;
    }

    /** The text written so far by an answer being written on this instance, if there is one. */
    public Optional<String> answerSoFar(UUID runId) {
        return Optional.ofNullable(answersInProgress.get(runId)).map(StringBuffer::toString);
    }

    /** The sources the analysis picked, with their full text; all results if it picked none from a non-empty set. */
    private static List<Prompts.Source> chosenSources(JsonNode results, JsonNode analysis) {
        Set<Integer> chosen = new LinkedHashSet<>();
        analysis.path("sources").forEach(n -> chosen.add(n.asInt()));
        List<Prompts.Source> all = SearchResults.asSources(results, r -> r.path("content").asText());
        List<Prompts.Source> picked = all.stream().filter(s -> chosen.contains(s.number())).toList();
        return picked.isEmpty() ? all : picked;
    }

    private List<ChatMessage> messages(JsonNode run, List<Prompts.Source> sources) {
        List<ChatMessage> messages = new ArrayList<>();
        messages.add(prompts.answerSystem());
        for (JsonNode turn : run.path("history")) {
            String text = turn.path("text").asText();
            switch (turn.path("role").asText()) {
                case "user" -> messages.add(UserMessage.from(text));
                case "assistant" -> messages.add(AiMessage.from(text));
                default -> { }
            }
        }
        messages.add(prompts.answerUser(run.path("question").asText(), sources));
        return messages;
    }

    private static List<Map<String, Object>> citations(String answer, List<Prompts.Source> sources) {
        Set<Integer> cited = new LinkedHashSet<>();
        Matcher matcher = CITATION.matcher(answer);
        while (matcher.find()) {
            cited.add(Integer.parseInt(matcher.group(1)));
        }
        List<Map<String, Object>> citations = new ArrayList<>();
        for (Prompts.Source source : sources) {
            if (cited.contains(source.number())) {
                citations.add(Map.of("number", source.number(), "source", source.origin(), "title", source.title()));
            }
        }
        return citations;
    }
}
