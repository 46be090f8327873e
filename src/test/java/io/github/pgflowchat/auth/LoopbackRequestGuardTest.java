package io.github.pgflowchat.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.RawHttp;

/**
 * Authentication off, as on the embedded default: only loopback names are served (DNS rebinding), and requests that
 * change state are refused when a browser says they come from another origin (cross-site requests).
 */
// Metrics are exported in tests only when asked for; prometheus is one of the endpoints under test.
@AutoConfigureObservability
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.auth.enabled=false",
        "gateway.auth.cors-allowed-origins=" + LoopbackRequestGuardTest.DEV_PAGE
})
class LoopbackRequestGuardTest {

    static final String DEV_PAGE = "http://localhost:5173";
    static final String DOCUMENT = "{\"source\":\"guard/notes.md\",\"title\":\"Notes\",\"content\":\"# Notes\\n\\nPlanted text.\"}";

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    private RawHttp.Response send(String method, String path, String host, String origin, String body) throws Exception {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Host", host);
        if (origin != null) {
            headers.put("Origin", origin);
        }
        if (body != null) {
            headers.put("Content-Type", "application/json");
        }
        return RawHttp.send(port, method, path, headers, body);
    }

    private String documents() {
        return jdbc.queryForObject("select count(*) || ':' || coalesce(md5(string_agg(id || source || content, ',' order by id)), '') "
                + "from public.documents", String.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"evil.example", "evil.example:%d", "127.0.0.1.evil.example:%d", "localhost.evil.example", "10.0.0.7:%d"})
    void aHostThatIsNotALoopbackNameIsRefused(String host) throws Exception {
        String documentsBefore = documents();

        for (RawHttp.Response response : new RawHttp.Response[] {
                send("GET", "/api/config", host.formatted(port), null, null),
                send("GET", "/", host.formatted(port), null, null),
                send("POST", "/api/documents", host.formatted(port), null, DOCUMENT)}) {
            assertThat(response.status()).isEqualTo(421);
            assertThat(response.json().path("error").path("code").asText()).isEqualTo("misdirected_request");
        }
        assertThat(documents()).isEqualTo(documentsBefore);
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost:%d", "LocalHost:%d", "127.0.0.1:%d", "127.1.2.3:%d", "[::1]:%d", "localhost"})
    void loopbackNamesAreServed(String host) throws Exception {
        RawHttp.Response settings = send("GET", "/api/config", host.formatted(port), null, null);

        assertThat(settings.status()).isEqualTo(200);
        assertThat(settings.json().path("authEnabled").asBoolean()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://evil.example", "null", "http://localhost:%d", "https://127.0.0.1:%d", "http://127.0.0.1:1"})
    void aStateChangingRequestFromAnotherOriginIsRefusedAndChangesNothing(String origin) throws Exception {
        String documentsBefore = documents();
        String host = "127.0.0.1:" + port;

        RawHttp.Response write = send("POST", "/api/documents", host, origin.formatted(port), DOCUMENT);
        RawHttp.Response stop = send("POST", "/api/chat/chat-guard/stop", host, origin.formatted(port), null);

        for (RawHttp.Response response : new RawHttp.Response[] {write, stop}) {
            assertThat(response.status()).isEqualTo(403);
            assertThat(response.json().path("error").path("code").asText()).isEqualTo("origin_not_allowed");
        }
        assertThat(documents()).isEqualTo(documentsBefore);
    }

    @Test
    void theServicesOwnPagesAnAllowedOriginAndClientsWithoutOriginMayWrite() throws Exception {
        String host = "127.0.0.1:" + port;

        assertThat(send("POST", "/api/documents", host, "http://127.0.0.1:" + port, DOCUMENT).status()).isEqualTo(201);
        assertThat(send("POST", "/api/documents", "localhost:" + port, "http://localhost:" + port, DOCUMENT).status()).isEqualTo(201);
        assertThat(send("POST", "/api/documents", host, DEV_PAGE, DOCUMENT).status()).isEqualTo(201);
        assertThat(send("POST", "/api/documents", host, null, DOCUMENT).status()).as("curl sends no Origin").isEqualTo(201);
        assertThat(jdbc.queryForObject("select count(*) from public.documents where source = 'guard/notes.md'", Long.class)).isEqualTo(1);
    }

    @Test
    void theLocalUserIsTheOperatorAndSeesHealthDetailsAndMetrics() throws Exception {
        String host = "127.0.0.1:" + port;

        RawHttp.Response health = send("GET", "/actuator/health", host, null, null);
        assertThat(health.json().path("components").path("db").path("status").asText()).isEqualTo("UP");
        assertThat(send("GET", "/actuator/prometheus", host, null, null).status()).isEqualTo(200);
    }
}
