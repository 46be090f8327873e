package io.github.pgflowchat.startup;

import java.util.Optional;

import org.apache.camel.FailedToCreateRouteException;
import org.apache.camel.FailedToStartRouteException;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.core.env.Environment;

/**
 * Says which route file and which route stopped start-up. Camel 4.17 names the route but not its file when a route
 * cannot be created (a bean method or an endpoint scheme that does not exist), and the file and line but not the
 * route when the YAML itself is wrong (a misspelled key); the other half is read from the route files that
 * {@code camel.main.routes-include-pattern} names. Registered in {@code META-INF/spring.factories}.
 */
public class RouteFileFailureAnalyzer implements FailureAnalyzer {

    private static final String ACTION = "Correct %s and start again: every key must be one the Camel YAML DSL knows, "
            + "every bean and method a route names must exist, and every endpoint's component must be on the classpath.";

    private final RouteFiles routeFiles;

    public RouteFileFailureAnalyzer(Environment environment) {
        this.routeFiles = new RouteFiles(environment.getProperty("camel.main.routes-include-pattern", RouteFiles.CAMEL_DEFAULT_PATTERN));
    }

    @Override
    public FailureAnalysis analyze(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof FailedToCreateRouteException created) {
                return routeFailed(created.getRouteId(), "could not be created", created);
            }
            if (cause instanceof FailedToStartRouteException started) {
                return routeFailed(started.getRouteId(), "could not be started", started);
            }
            if (cause instanceof MarkedYamlEngineException yaml && yaml.getProblemMark().isPresent()) {
                return fileUnreadable(yaml, yaml.getProblemMark().get());
            }
        }
        return null;
    }

    private FailureAnalysis routeFailed(String routeId, String what, Exception failure) {
        Optional<RouteFiles.Declaration> declaration = routeFiles.declaring(routeId);
        String subject = declaration.map(RouteFiles.Declaration::describe)
                .orElse("route '" + routeId + "' (declared in no file of camel.main.routes-include-pattern)");
        return new FailureAnalysis(capitalized(subject) + " " + what + ":\n" + failure.getMessage(),
                ACTION.formatted(subject), failure);
    }

    private FailureAnalysis fileUnreadable(MarkedYamlEngineException failure, Mark mark) {
        String position = mark.getName() + ", line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
        Optional<RouteFiles.Declaration> declaration = routeFiles.around(mark);
        String subject = declaration.map(d -> d.kind() + " '" + d.id() + "' in " + position).orElse(position);
        return new FailureAnalysis(capitalized(subject) + " cannot be read: " + failure.getProblem() + "\n" + mark.createSnippet(),
                ACTION.formatted(declaration.map(d -> d.kind() + " '" + d.id() + "' in " + mark.getName()).orElse(mark.getName())),
                failure);
    }

    private static String capitalized(String text) {
        return Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }
}
