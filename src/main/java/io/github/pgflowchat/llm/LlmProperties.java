package io.github.pgflowchat.llm;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param provider {@code auto} (OpenAI-compatible when an API key or base URL is set, else offline), {@code openai}
 *                 or {@code offline}
 */
@ConfigurationProperties("gateway.llm")
public record LlmProperties(String provider, OpenAi openai, Offline offline) {

    /** Any OpenAI-compatible endpoint: OpenAI, Azure-compatible gateways, Ollama, vLLM, LM Studio. */
    public record OpenAi(String apiKey, String baseUrl, String model, Duration timeout) {
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
}
