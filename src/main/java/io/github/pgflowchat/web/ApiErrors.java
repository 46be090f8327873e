package io.github.pgflowchat.web;

import java.sql.SQLException;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.logging.LogSafe;

/** Turns whatever failed while handling an API request into the HTTP status and JSON error body a client gets. */
@Component("apiErrors")
public class ApiErrors {

    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    public Map<String, Object> toResponse(Exchange exchange) {
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        ApiException error = classify(failure);
        if (error.status() >= 500) {
            log.error("{} {} failed: {}", LogSafe.prefix(exchange.getIn().getHeader(Exchange.HTTP_METHOD)),
                    LogSafe.prefix(exchange.getIn().getHeader(Exchange.HTTP_PATH), 200), LogSafe.prefix(failure, 300), failure);
        }
        Message in = exchange.getIn();
        in.removeHeaders("*");
        in.setHeader(Exchange.HTTP_RESPONSE_CODE, error.status());
        in.setHeader(Exchange.CONTENT_TYPE, "application/json");
        in.setHeader("Cache-Control", "no-store");
        if (error.retryAfterSeconds() > 0) {
            in.setHeader("Retry-After", error.retryAfterSeconds());
        }
        return Map.of("error", Map.of("code", error.code(), "message", error.getMessage()));
    }

    static ApiException classify(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof ApiException api) {
                return api;
            }
            if (isDatabaseUnavailable(cause)) {
                return new ApiException(503, "database_unavailable", "The database is not reachable right now; nothing was started. Try again shortly.");
            }
        }
        return new ApiException(500, "internal_error", "Something went wrong on the server; the error was logged.");
    }

    /** Connection failures (SQLSTATE class 08, server shutting down 57P) mean "try again", not "bug". */
    private static boolean isDatabaseUnavailable(Throwable cause) {
        if (cause instanceof DataAccessResourceFailureException) {
            return true;
        }
        return cause instanceof SQLException sql && sql.getSQLState() != null
                && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P"));
    }
}
