package io.github.pgflowchat.web;

import java.io.IOException;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.boot.web.servlet.error.ErrorController;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.RequestMapping;

/**
 * Where the servlet container sends every error no route answered (an unknown path, a method a route does not
 * take, a failure outside a route): the API's JSON error instead of Spring Boot's default body. It replaces
 * Spring Boot's BasicErrorController, so browsers get JSON too.
 */
@Controller
class ApiErrorController implements ErrorController {

    private final ApiErrors errors;

    ApiErrorController(ApiErrors errors) {
        this.errors = errors;
    }

    @RequestMapping("${server.error.path:/error}")
    void error(HttpServletRequest request, HttpServletResponse response) throws IOException {
        Object status = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        Throwable failure = (Throwable) request.getAttribute(RequestDispatcher.ERROR_EXCEPTION);
        errors.write(errors.forStatus(status instanceof Integer code ? code : 404, request.getMethod(), failure), response);
    }
}
