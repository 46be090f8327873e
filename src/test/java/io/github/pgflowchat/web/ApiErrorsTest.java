package io.github.pgflowchat.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.coyote.BadRequestException;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.web.HttpRequestMethodNotSupportedException;

/** The error answered for what the container or Spring refused, outside any route. */
class ApiErrorsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ApiErrors errors = new ApiErrors(JSON);

    @Test
    void aClientErrorIsNamedForItsStatusEvenWhenSpringExposedTheExceptionBehindIt() {
        // Spring exposes the resolved exception to the error page; it explains the 405, it is no server failure.
        ApiException error = errors.forStatus(405, "DELETE", new HttpRequestMethodNotSupportedException("DELETE"));

        assertThat(error.status()).isEqualTo(405);
        assertThat(error.code()).isEqualTo("method_not_allowed");
    }

    @Test
    void aFailureOutsideARouteIs500InternalErrorWithoutItsDetails() {
        ApiException error = errors.forStatus(500, "POST", new IllegalStateException("secret detail"));

        assertThat(error.status()).isEqualTo(500);
        assertThat(error.code()).isEqualTo("internal_error");
        assertThat(error.getMessage()).doesNotContain("secret detail");
    }

    @Test
    void aBodyTomcatCouldNotReadIs400() {
        ApiException error = errors.forStatus(500, "POST", new BadRequestException("Invalid chunk header"));

        assertThat(error.status()).isEqualTo(400);
        assertThat(error.code()).isEqualTo("bad_request");
    }

    @Test
    void anUncommonStatusGetsACodeNamedForIt() {
        assertThat(errors.forStatus(414, "GET", null).code()).isEqualTo("uri_too_long");
    }

    @Test
    void theResponseIsTheJsonErrorWithRetryAfterWhenTheErrorHasOne() throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();

        errors.write(new ApiException(503, "starting", "wait", 1), response);

        JsonNode body = JSON.readTree(response.getContentAsString());
        assertThat(response.getStatus()).isEqualTo(503);
        assertThat(response.getContentType()).startsWith("application/json");
        assertThat(response.getHeader("Retry-After")).isEqualTo("1");
        assertThat(response.getHeader("Cache-Control")).isEqualTo("no-store");
        assertThat(body.path("error").path("code").asText()).isEqualTo("starting");
        assertThat(body.path("error").path("message").asText()).isEqualTo("wait");
    }
}
