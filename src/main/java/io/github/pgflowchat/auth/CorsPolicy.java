package io.github.pgflowchat.auth;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import org.springframework.http.HttpStatus;
import org.springframework.http.server.ServerHttpResponse;
import org.springframework.http.server.ServletServerHttpResponse;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.DefaultCorsProcessor;
import org.springframework.web.cors.UrlBasedCorsConfigurationSource;
import org.springframework.web.filter.CorsFilter;

import io.github.pgflowchat.web.ApiErrors;
import io.github.pgflowchat.web.ApiException;

/**
 * Cross-origin access for {@code useChat} pages served elsewhere (CORS_ALLOWED_ORIGINS). The filter runs before
 * authentication, so a preflight from an allowed origin is answered without a token, and before Camel, whose routes
 * accept only their own methods. The token travels in the Authorization header, never in a cookie, so credentials
 * stay off. A request from any other origin gets no CORS headers: the browser keeps its answer from the page.
 */
final class CorsPolicy {

    private CorsPolicy() {
    }

    static CorsFilter filter(List<String> allowedOrigins, ApiErrors errors) {
        CorsConfiguration configuration = new CorsConfiguration();
        configuration.setAllowedOrigins(allowedOrigins);
        configuration.setAllowedMethods(List.of("GET", "POST"));
        // Last-Event-ID: useChat's resume continues a stream after the last event it read.
        configuration.setAllowedHeaders(List.of("authorization", "content-type", "last-event-id"));
        configuration.setExposedHeaders(List.of("x-pgflow-run-id"));
        configuration.setMaxAge(Duration.ofMinutes(10));
        UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
        source.registerCorsConfiguration("/**", configuration);
        CorsFilter filter = new CorsFilter(source);
        filter.setCorsProcessor(new JsonRefusals(errors));
        return filter;
    }

    /** Spring's CORS checks, with a refusal in the API's error format instead of a plain-text body. */
    private static final class JsonRefusals extends DefaultCorsProcessor {
        private final ApiErrors errors;

        JsonRefusals(ApiErrors errors) {
            this.errors = errors;
        }

        @Override
        protected void rejectRequest(ServerHttpResponse response) throws IOException {
            errors.write(new ApiException(HttpStatus.FORBIDDEN.value(), "origin_not_allowed",
                    "This origin may not call the API from a browser; CORS_ALLOWED_ORIGINS lists the origins that may."),
                    ((ServletServerHttpResponse) response).getServletResponse());
        }
    }
}
