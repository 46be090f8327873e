package io.github.pgflowchat.web;

import java.io.IOException;
import java.sql.SQLException;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.coyote.BadRequestException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.transaction.TransactionSystemException;

import io.github.pgflowchat.logging.LogSafe;

/**
 * Turns whatever failed while handling a request into the HTTP status and JSON error body a client gets: for the API
 * routes, for the servlet filters in front of them, and for what the servlet container answers itself.
 */
@Component("apiErrors")
public class ApiErrors {

    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    private final ObjectMapper json;

    public ApiErrors(ObjectMapper json) {
        this.json = json;
    }

    public ApiErrorBody toResponse(Exchange exchange) {
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
        return ApiErrorBody.of(error);
    }

    /** Answers {@code error} on a response nothing has been written to yet. */
    public void write(ApiException error, HttpServletResponse response) throws IOException {
        response.setStatus(error.status());
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        response.setHeader("Cache-Control", "no-store");
        if (error.retryAfterSeconds() > 0) {
            response.setHeader("Retry-After", Long.toString(error.retryAfterSeconds()));
        }
        json.writeValue(response.getOutputStream(), ApiErrorBody.of(error));
    }

    /**
     * The error for a status the servlet container or Spring decided on (no route ran, or a route's request could not
     * be read). A server error is classified by its {@code failure}; below 500 the failure is what the status already
     * says (a header too large, a method not supported), and the code is named for the status.
     */
    public ApiException forStatus(int status, String method, Throwable failure) {
        if (status >= 500) {
            ApiException classified = classify(failure);
            if (classified.status() >= 500) {
                log.error("{} failed before reaching a route: {}", LogSafe.prefix(method), failure == null ? "status " + status : LogSafe.prefix(failure, 300), failure);
            }
            return classified;
        }
        return switch (status) {
            case 404 -> ApiException.notFound("not_found", "Nothing is served at this path.");
            case 405 -> new ApiException(405, "method_not_allowed", "This path does not accept " + method + " requests.");
            case 400 -> ApiException.badRequest("bad_request", "The request could not be read: a malformed request line, "
                    + "or headers (or a chunked body's trailer headers) larger than the server accepts.");
            default -> {
                HttpStatus known = HttpStatus.resolve(status);
                yield known == null
                        ? new ApiException(status, "http_" + status, "The request was refused with status " + status + ".")
                        : new ApiException(status, known.name().toLowerCase(), known.getReasonPhrase() + ".");
            }
        };
    }

    static ApiException classify(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof ApiException api) {
                return api;
            }
            if (cause instanceof BadRequestException) {
                // Tomcat could not read what the client sent (a broken chunked body): the client's fault, not ours.
                return ApiException.badRequest("bad_request", "The request could not be read: " + cause.getMessage() + ".");
            }
            if (cause instanceof TransactionSystemException rollback && rollback.getApplicationException() != null
                    && isDatabaseUnavailable(rollback.getApplicationException())) {
                // The connection broke inside a transaction, and the rollback failed on it too: what failed first counts.
                return new ApiException(503, "database_unavailable", "The database is not reachable right now; nothing was started. Try again shortly.");
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
