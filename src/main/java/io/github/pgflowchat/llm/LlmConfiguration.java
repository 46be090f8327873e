package io.github.pgflowchat.llm;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The two models the pipeline uses: {@code analysisModel} (a LangChain4j {@link ChatModel}, called by the analyze
 * step through camel-langchain4j-chat) and {@code answerModel} (a {@link StreamingChatModel} whose tokens the respond
 * step streams). Both are OpenAI-compatible clients when configured, otherwise the offline built-in models.
 */
@Configuration(proxyBeanMethods = false)
class LlmConfiguration {

    private static final Logger log = LoggerFactory.getLogger(LlmConfiguration.class);
    private static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";

    @Bean
    ModelInfo modelInfo(LlmProperties properties) {
        ModelInfo info = properties.useOpenAi()
                ? new ModelInfo("openai-compatible", properties.openai().model())
                : new ModelInfo("offline", OfflineModels.MODEL_NAME);
        if (properties.useOpenAi()) {
            log.info("Answers come from {} at {}", info.model(), baseUrl(properties.openai()));
        } else {
            log.warn("No LLM configured (set OPENAI_API_KEY and/or OPENAI_BASE_URL): answers come from the offline "
                    + "built-in model, which quotes the best-matching sentences of the retrieved documents. It is not a generative LLM.");
        }
        return info;
    }

    @Bean
    ChatModel analysisModel(LlmProperties properties) {
        if (!properties.useOpenAi()) {
            return new OfflineModels.Analysis();
        }
        LlmProperties.OpenAi openai = properties.openai();
        return OpenAiChatModel.builder()
                .baseUrl(baseUrl(openai))
                .apiKey(apiKey(openai))
                .modelName(openai.model())
                .timeout(openai.timeout())
                .temperature(0.0)
                .build();
    }

    @Bean
    StreamingChatModel answerModel(LlmProperties properties) {
        if (!properties.useOpenAi()) {
            return new OfflineModels.Answer(properties.offline().tokenDelay());
        }
        LlmProperties.OpenAi openai = properties.openai();
        return OpenAiStreamingChatModel.builder()
                .baseUrl(baseUrl(openai))
                .apiKey(apiKey(openai))
                .modelName(openai.model())
                .timeout(openai.timeout())
                .build();
    }

    private static String baseUrl(LlmProperties.OpenAi openai) {
        return openai.baseUrl().isBlank() ? DEFAULT_BASE_URL : openai.baseUrl();
    }

    /** Local servers (Ollama, vLLM) accept any key, but the client insists on one. */
    private static String apiKey(LlmProperties.OpenAi openai) {
        return openai.apiKey().isBlank() ? "not-needed" : openai.apiKey();
    }
}
