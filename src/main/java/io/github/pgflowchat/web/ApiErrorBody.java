package io.github.pgflowchat.web;

/**
 * The body of every error the service answers: {@code {"error":{"code","message"}}}. The OpenAPI document describes
 * the error responses with this type (routes/api.yaml), so what it says is what {@link ApiErrors} writes.
 */
public record ApiErrorBody(ErrorDetail error) {

    /**
     * @param code    what went wrong, for programs: {@code invalid_json}, {@code rate_limited}, {@code not_found}…
     * @param message what went wrong, for people
     */
    public record ErrorDetail(String code, String message) {
    }

    static ApiErrorBody of(ApiException error) {
        return new ApiErrorBody(new ErrorDetail(error.code(), error.getMessage()));
    }
}
