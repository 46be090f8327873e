package io.github.pgflowchat.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.data.message.UserMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.support.MockOpenAi;

/** What ANALYSIS_RESPONSE_FORMAT puts in the analysis request, as the OpenAI-compatible server receives it. */
class AnalysisResponseFormatTest {

    static final MockOpenAi OPENAI = new MockOpenAi("{\"intent\":\"other\"}", List.of());
    static String baseUrl;

    @BeforeAll
    static void startMock() throws Exception {
        baseUrl = OPENAI.start();
    }

    @AfterAll
    static void stopMock() throws Exception {
        OPENAI.stop();
    }

    private JsonNode analysisRequest(String responseFormat) {
        LlmProperties properties = new LlmProperties("openai",
                new LlmProperties.OpenAi("key", baseUrl, "answer-model", Duration.ofSeconds(10)),
                new LlmProperties.Analysis("", "", "", responseFormat), new LlmProperties.Offline(Duration.ZERO));
        new LlmConfiguration().analysisModel(properties).chat(List.of(UserMessage.from("Reply in JSON.")));
        return OPENAI.requests().get(OPENAI.requests().size() - 1);
    }

    @Test
    void jsonSchemaSendsTheAnalysisSchemaStrictly() {
        JsonNode format = analysisRequest("json_schema").path("response_format");

        assertThat(format.path("type").asText()).isEqualTo("json_schema");
        assertThat(format.path("json_schema").path("strict").asBoolean()).isTrue();
        JsonNode schema = format.path("json_schema").path("schema");
        assertThat(schema.path("required")).hasSize(4);
        assertThat(schema.path("properties").path("intent").path("enum").toString()).contains("how-to", "other");
    }

    @Test
    void noneSendsNoResponseFormatAndTheAnalysisModelDefaultsToTheAnswerModel() {
        JsonNode request = analysisRequest("none");

        assertThat(request.has("response_format")).isFalse();
        assertThat(request.path("model").asText()).isEqualTo("answer-model");
    }

    @Test
    void anUnknownFormatIsAStartupErrorNamingTheSetting() {
        assertThatThrownBy(() -> analysisRequest("yaml")).hasMessageContaining("ANALYSIS_RESPONSE_FORMAT");
    }
}
