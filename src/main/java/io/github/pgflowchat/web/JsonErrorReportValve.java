package io.github.pgflowchat.web;

import java.io.IOException;

import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;

/**
 * What Tomcat answers itself, when no servlet ran: a request it could not parse, headers over
 * {@code server.max-http-request-header-size}. Tomcat's own report is an HTML page; this one is the API's JSON error.
 * Replaces Tomcat's {@link ErrorReportValve} on the host (see {@link HttpConfiguration}).
 */
class JsonErrorReportValve extends ErrorReportValve {

    private final ApiErrors errors;

    JsonErrorReportValve(ApiErrors errors) {
        this.errors = errors;
    }

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
        // As Tomcat's report: nothing for a status below 400, a body already written, or an error already reported.
        if (response.getStatus() < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
            return;
        }
        try {
            errors.write(errors.forStatus(response.getStatus(), request.getMethod(), throwable), response);
            response.finishResponse();
        } catch (IOException | IllegalStateException e) {
            // The client is gone or the response cannot take a body any more; there is no one left to tell.
        }
    }
}
