package io.github.pgflowchat.web;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.camel.CamelContext;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Tomcat serves requests a few seconds before Camel has started the routes behind {@code /api/**} (and again while
 * they stop at shutdown); without this, those requests got 404 as if the API did not exist. They get 503 with
 * Retry-After instead. The CamelContext is looked up until it is found: it is created with the other singletons,
 * before Tomcat accepts connections, and started after.
 */
public class RoutesStartedFilter extends OncePerRequestFilter {

    private final ObjectProvider<CamelContext> camel;
    private final ApiErrors errors;
    // A context that was built but never started reports Stopped too: only one seen started is stopping.
    private volatile boolean seenStarted;
    /** Looked up until found, then kept: a bean lookup per request showed in the profile. */
    private volatile CamelContext context;

    public RoutesStartedFilter(ObjectProvider<CamelContext> camel, ApiErrors errors) {
        this.camel = camel;
        this.errors = errors;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !request.getRequestURI().startsWith("/api/");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        CamelContext context = this.context;
        if (context == null) {
            context = camel.getIfAvailable();
            this.context = context;
        }
        if (context != null && context.isStarted()) {
            seenStarted = true;
            chain.doFilter(request, response);
        } else if (seenStarted) {
            errors.write(new ApiException(503, "stopping", "The service is shutting down; send the request again (another instance will take it).", 1), response);
        } else {
            errors.write(new ApiException(503, "starting", "The service is starting; send the request again in a second.", 1), response);
        }
    }
}
