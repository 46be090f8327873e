package io.github.pgflowchat.llm;

import java.net.http.HttpClient;
import java.util.concurrent.Executors;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonArraySchema;
import dev.langchain4j.model.chat.request.json.JsonIntegerSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.request.json.JsonStringSchema;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.github.pgflowchat.documents.Embeddings;

/**
 * The two models the pipeline uses: {@code analysisModel} (a LangChain4j {@link ChatModel}, called by the analyze
 * step through camel-langchain4j-chat) and {@code answerModel} (a {@link StreamingChatModel} whose tokens the respond
 * step streams). Both are OpenAI-compatible clients when configured, otherwise the offline built-in models.
 */
@Configuration(proxyBeanMethods = false)
class LlmConfiguration {

    private static final Logger log = LoggerFactory.getLogger(LlmConfiguration.class);
    private static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";

    /** The reply the analysis prompt (prompts/analyze-system.txt) asks for; strict schemas need every property required and no others. */
    private static final ResponseFormat ANALYSIS_SCHEMA = ResponseFormat.builder()
            .type(ResponseFormatType.JSON)
            .jsonSchema(JsonSchema.builder()
                    .name("analysis")
                    .rootElement(JsonObjectSchema.builder()
                            .addEnumProperty("intent", Prompts.ANALYSIS_INTENTS)
                            .addProperty("keyTerms", JsonArraySchema.builder().items(new JsonStringSchema()).build())
                            .addProperty("sources", JsonArraySchema.builder().items(new JsonIntegerSchema()).build())
                            .addStringProperty("summary")
                            .required("intent", "keyTerms", "sources", "summary")
                            .additionalProperties(false)
                            .build())
                    .build())
            .build();

    @Bean
    ModelInfo modelInfo(LlmProperties properties) {
        if (!properties.useOpenAi()) {
            log.warn("No LLM configured (set OPENAI_API_KEY and/or OPENAI_BASE_URL): answers come from the offline "
                    + "built-in model, which quotes the best-matching sentences of the retrieved documents. It is not a generative LLM.");
            return new ModelInfo("offline", OfflineModels.MODEL_NAME, OfflineModels.MODEL_NAME);
        }
        LlmProperties.OpenAi analysis = properties.analysisOpenAi();
        log.info("Answers come from {} at {}, analyses from {} at {} (response format {})", properties.openai().model(),
                baseUrl(properties.openai()), analysis.model(), baseUrl(analysis), properties.analysis().responseFormat());
        return new ModelInfo("openai-compatible", properties.openai().model(), analysis.model());
    }

    @Bean
    ChatModel analysisModel(LlmProperties properties) {
        if (!properties.useOpenAi()) {
            return new OfflineModels.Analysis();
        }
        LlmProperties.OpenAi analysis = properties.analysisOpenAi();
        OpenAiChatModel.OpenAiChatModelBuilder model = OpenAiChatModel.builder()
                .baseUrl(baseUrl(analysis))
                .apiKey(apiKey(analysis))
                .modelName(analysis.model())
                .timeout(analysis.timeout())
                .httpClientBuilder(httpClient())
                .temperature(0.0);
        switch (properties.analysis().responseFormat().trim().toLowerCase()) {
            case "json_object" -> model.responseFormat(ResponseFormat.JSON);
            case "json_schema" -> model.responseFormat(ANALYSIS_SCHEMA).strictJsonSchema(true);
            case "none" -> { }
            default -> throw new IllegalStateException("gateway.llm.analysis.response-format (ANALYSIS_RESPONSE_FORMAT) must be "
                    + "json_object, json_schema or none, not '" + properties.analysis().responseFormat() + "'");
        }
        return model.build();
    }

    @Bean
    StreamingChatModel answerModel(LlmProperties properties, Embeddings embeddings) {
        if (!properties.useOpenAi()) {
            return new OfflineModels.Answer(properties.offline().tokenDelay(), embeddings);
        }
        LlmProperties.OpenAi openai = properties.openai();
        return OpenAiStreamingChatModel.builder()
                .baseUrl(baseUrl(openai))
                .apiKey(apiKey(openai))
                .modelName(openai.model())
                .timeout(openai.timeout())
                .httpClientBuilder(httpClient())
                .build();
    }

    /**
     * The JDK HTTP client with an executor of virtual threads (its default starts a platform thread for each
     * response), and each streamed answer read on a virtual thread of its own ({@link VirtualThreadHttpClient}):
     * thousands of answers in flight cost no more than their memory.
     * HTTP/1.1, a connection per answer in flight: over HTTP/2 the client puts every request to a provider on one
     * connection and fails those past the server's stream limit (SETTINGS_MAX_CONCURRENT_STREAMS, often 100 to 256)
     * with "too many concurrent streams" instead of opening another connection; an answer holds its stream for as long
     * as the model takes, so a busy instance failed every answer past the limit (issue 13: 1,808 of 2,000).
     */
    private static VirtualThreadHttpClient.Builder httpClient() {
        return VirtualThreadHttpClient.builder(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newVirtualThreadPerTaskExecutor()));
    }

    private static String baseUrl(LlmProperties.OpenAi openai) {
        return openai.baseUrl().isBlank() ? DEFAULT_BASE_URL : openai.baseUrl();
    }

    /** Local servers (Ollama, vLLM) accept any key, but the client insists on one. */
    private static String apiKey(LlmProperties.OpenAi openai) {
        return openai.apiKey().isBlank() ? "not-needed" : openai.apiKey();
    }
}
