package io.github.pgflowchat.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

/** /api/** is answered 503 with Retry-After until Camel has started the routes, and while they stop. */
class RoutesStartedFilterTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final DefaultCamelContext camel = new DefaultCamelContext();
    private final RoutesStartedFilter filter = new RoutesStartedFilter(
            new StaticListableBeanFactory(Map.of("camelContext", camel)).getBeanProvider(CamelContext.class), new ApiErrors(JSON));

    @AfterEach
    void stopCamel() {
        camel.stop();
    }

    private record Outcome(boolean passedOn, MockHttpServletResponse response) {

        JsonNode error() throws Exception {
            return JSON.readTree(response.getContentAsString()).path("error");
        }
    }

    private Outcome request(RoutesStartedFilter filter, String path) throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();
        MockFilterChain chain = new MockFilterChain();
        filter.doFilter(new MockHttpServletRequest("POST", path), response, chain);
        return new Outcome(chain.getRequest() != null, response);
    }

    @Test
    void apiRequestsBeforeTheRoutesAreStartedAre503StartingWithRetryAfter() throws Exception {
        camel.build();

        Outcome outcome = request(filter, "/api/chat");

        assertThat(outcome.passedOn()).isFalse();
        assertThat(outcome.response().getStatus()).isEqualTo(503);
        assertThat(outcome.response().getHeader("Retry-After")).isEqualTo("1");
        assertThat(outcome.response().getContentType()).startsWith("application/json");
        assertThat(outcome.error().path("code").asText()).isEqualTo("starting");
    }

    @Test
    void beforeTheCamelContextExistsApiRequestsAre503Starting() throws Exception {
        RoutesStartedFilter withoutCamel = new RoutesStartedFilter(
                new StaticListableBeanFactory().getBeanProvider(CamelContext.class), new ApiErrors(JSON));

        Outcome outcome = request(withoutCamel, "/api/runs/x");

        assertThat(outcome.response().getStatus()).isEqualTo(503);
        assertThat(outcome.error().path("code").asText()).isEqualTo("starting");
    }

    @Test
    void onceTheRoutesAreStartedApiRequestsPassAndAfterTheyStopTheyAre503Stopping() throws Exception {
        camel.start();

        assertThat(request(filter, "/api/chat").passedOn()).isTrue();

        camel.stop();
        Outcome stopped = request(filter, "/api/chat");

        assertThat(stopped.passedOn()).isFalse();
        assertThat(stopped.response().getStatus()).isEqualTo(503);
        assertThat(stopped.error().path("code").asText()).isEqualTo("stopping");
    }

    @Test
    void pathsOutsideTheApiAreNotHeldBack() throws Exception {
        assertThat(request(filter, "/").passedOn()).isTrue();
        assertThat(request(filter, "/actuator/health").passedOn()).isTrue();
    }
}
