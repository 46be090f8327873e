package io.github.pgflowchat.web;

import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;

/** Whether a request's Content-Type is JSON: {@code application/json}, any case, any parameters. */
public final class JsonContentType {

    private JsonContentType() {
    }

    public static boolean matches(String contentType) {
        if (contentType == null) {
            return false;
        }
        try {
            return MediaType.APPLICATION_JSON.equalsTypeAndSubtype(MediaType.parseMediaType(contentType));
        } catch (InvalidMediaTypeException e) {
            return false;
        }
    }
}
