package io.github.pgflowchat.web;

import org.apache.camel.http.base.HttpHeaderFilterStrategy;
import org.springframework.stereotype.Component;

/**
 * platform-http's default filter drops Cache-Control from responses, yet an SSE stream must say {@code no-cache} and
 * run status must say {@code no-store}. Everything else is filtered as by default (Camel-internal headers included).
 */
@Component("apiHeaderFilter")
public class ApiHeaderFilterStrategy extends HttpHeaderFilterStrategy {

    public ApiHeaderFilterStrategy() {
        getOutFilter().remove("cache-control");
    }
}
