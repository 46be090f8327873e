package io.github.pgflowchat.auth;

import java.io.IOException;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.MediaType;

/**
 * Refusals made by the security filters, before any route runs, in the API's error format
 * {@code {"error":{"code","message"}}}.
 */
final class SecurityErrors {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SecurityErrors() {
    }

    static void write(HttpServletResponse response, int status, String code, String message) throws IOException {
        response.setStatus(status);
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        response.setHeader("Cache-Control", "no-store");
        response.getOutputStream().write(body(code, message));
    }

    static byte[] body(String code, String message) {
        try {
            return JSON.writeValueAsBytes(Map.of("error", Map.of("code", code, "message", message)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
