package io.github.pgflowchat.llm;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param provider {@code auto} (OpenAI-compatible when an API key or base URL is set, else offline), {@code openai}
 *                 or {@code offline}
 */
@ConfigurationProperties("gateway.llm")
public record LlmProperties(String provider, OpenAi openai, Analysis analysis, Offline offline) {

    /** Any OpenAI-compatible endpoint: OpenAI, Azure-compatible gateways, Ollama, vLLM, LM Studio. */
    public record OpenAi(String apiKey, String baseUrl, String model, Duration timeout) {
    }

    /**
     * The analysis model's own settings; each blank one is the answer model's ({@link OpenAi}), so a cheaper model, or
     * one on another server, can analyse while a stronger one answers.
     *
     * @param responseFormat what the analysis request asks for: {@code json_object}, {@code json_schema} or {@code none}
     */
    public record Analysis(String model, String baseUrl, String apiKey, String responseFormat) {
    }

    /** @param tokenDelay pause between the offline model's streamed tokens */
    public record Offline(Duration tokenDelay) {
    }

    boolean useOpenAi() {
        return switch (provider == null ? "auto" : provider.trim().toLowerCase()) {
            case "openai" -> true;
            case "offline" -> false;
            case "auto" -> !openai.apiKey().isBlank() || !openai.baseUrl().isBlank();
            default -> throw new IllegalStateException("gateway.llm.provider must be auto, openai or offline, not '" + provider + "'");
        };
    }

    /** The OpenAI-compatible settings the analysis model uses: its own where set, the answer model's otherwise. */
    OpenAi analysisOpenAi() {
        return new OpenAi(orElse(analysis.apiKey(), openai.apiKey()), orElse(analysis.baseUrl(), openai.baseUrl()),
                orElse(analysis.model(), openai.model()), openai.timeout());
    }

    private static String orElse(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value;
    }
}
