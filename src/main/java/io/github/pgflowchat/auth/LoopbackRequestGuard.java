package io.github.pgflowchat.auth;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.web.cors.CorsUtils;
import org.springframework.web.filter.OncePerRequestFilter;

import io.github.pgflowchat.web.ApiErrors;
import io.github.pgflowchat.web.ApiException;

/**
 * While authentication is off the service trusts whoever reaches it, which binding to loopback limits to this
 * machine. Two browser attacks reach loopback anyway, and this filter stops both:
 * <ul>
 * <li>DNS rebinding: a page on {@code evil.example} has its name re-pointed at 127.0.0.1 and then reads the API as
 * its own origin. The browser still sends {@code Host: evil.example}, so only loopback names are served;</li>
 * <li>cross-site requests: any page may POST to {@code http://127.0.0.1:8080} (a form, a no-cors fetch). Requests
 * that change state and carry an {@code Origin} must come from the service's own origin or an allowed CORS origin.
 * Requests without {@code Origin} (curl, scripts) are not from a browser page and pass.</li>
 * </ul>
 */
final class LoopbackRequestGuard extends OncePerRequestFilter {

    private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "[::1]");
    private static final Pattern IPV4_LOOPBACK = Pattern.compile("127(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}");
    private static final Pattern PORT = Pattern.compile(":\\d{1,5}$");
    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS", "TRACE");

    private final List<String> allowedOrigins;
    private final ApiErrors errors;

    LoopbackRequestGuard(List<String> allowedOrigins, ApiErrors errors) {
        this.allowedOrigins = allowedOrigins;
        this.errors = errors;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String host = request.getHeader("Host");
        if (host != null && !isLoopbackName(host)) {
            errors.write(new ApiException(421, "misdirected_request", "Authentication is off, so this service answers only to "
                    + "a loopback name (localhost, 127.0.0.1, [::1]) in the Host header."), response);
            return;
        }
        String origin = request.getHeader("Origin");
        if (origin != null && !SAFE_METHODS.contains(request.getMethod()) && !isOwnOrAllowed(request, origin)) {
            errors.write(new ApiException(403, "origin_not_allowed", "Authentication is off, so requests that change state are "
                    + "accepted only from this service's own pages or an origin listed in CORS_ALLOWED_ORIGINS."), response);
            return;
        }
        chain.doFilter(request, response);
    }

    static boolean isLoopbackName(String hostHeader) {
        String name = PORT.matcher(hostHeader.strip().toLowerCase(Locale.ROOT)).replaceFirst("");
        return LOOPBACK_NAMES.contains(name) || IPV4_LOOPBACK.matcher(name).matches();
    }

    private boolean isOwnOrAllowed(HttpServletRequest request, String origin) {
        if (allowedOrigins.contains(origin)) {
            return true;
        }
        try {
            return !CorsUtils.isCorsRequest(request);
        } catch (IllegalArgumentException unparsable) {
            return false;
        }
    }
}
