package io.github.pgflowchat.startup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import org.springframework.core.io.support.ResourcePatternResolver;

/**
 * The YAML route files Camel loads ({@code camel.main.routes-include-pattern}) read back as YAML nodes, to say which
 * file declares a route id and which route id covers a line of a file.
 */
final class RouteFiles {

    /** Camel's own default when the property is not set. */
    static final String CAMEL_DEFAULT_PATTERN = "classpath:camel/*,classpath:camel-template/*,classpath:camel-rest/*";

    /** A top-level item of a route file that carries an id: a route, a route configuration, a route template. */
    record Declaration(String location, String kind, String id, int firstLine, int lastLine) {

        /** One-based, as Camel and editors count lines. */
        String describe() {
            return kind + " '" + id + "' in " + location + " (line " + (firstLine + 1) + ")";
        }
    }

    private final ResourcePatternResolver resources = new PathMatchingResourcePatternResolver();
    private final String includePattern;

    RouteFiles(String includePattern) {
        this.includePattern = includePattern;
    }

    Optional<Declaration> declaring(String id) {
        for (String pattern : includePattern.split(",")) {
            for (Resource resource : resolve(pattern.strip())) {
                Optional<Declaration> found = declarations(resource).stream().filter(d -> d.id().equals(id)).findFirst();
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }

    /** The declaration around a line (zero-based) of the file Camel named in a YAML error, if it can be read. */
    Optional<Declaration> around(Mark mark) {
        Resource resource = resources.getResource(mark.getName());
        return declarations(resource).stream()
                .filter(d -> d.firstLine() <= mark.getLine() && mark.getLine() <= d.lastLine())
                .findFirst();
    }

    private Resource[] resolve(String pattern) {
        if (pattern.isEmpty()) {
            return new Resource[0];
        }
        try {
            return resources.getResources(pattern);
        } catch (IOException e) {
            return new Resource[0];
        }
    }

    private static List<Declaration> declarations(Resource resource) {
        List<Declaration> declarations = new ArrayList<>();
        String location = describe(resource);
        Optional<Node> root;
        try {
            if (!resource.isReadable() || !(location.endsWith(".yaml") || location.endsWith(".yml"))) {
                return declarations;
            }
            root = new Compose(LoadSettings.builder().setLabel(location).build())
                    .composeString(resource.getContentAsString(StandardCharsets.UTF_8));
        } catch (IOException | YamlEngineException e) {
            return declarations;
        }
        if (root.isEmpty() || !(root.get() instanceof SequenceNode items)) {
            return declarations;
        }
        for (Node item : items.getValue()) {
            if (item instanceof MappingNode entry && entry.getValue().size() == 1
                    && entry.getValue().get(0).getKeyNode() instanceof ScalarNode kind
                    && entry.getValue().get(0).getValueNode() instanceof MappingNode body) {
                scalar(body, "id").ifPresent(id -> declarations.add(new Declaration(location, kind.getValue(), id,
                        entry.getStartMark().map(Mark::getLine).orElse(0),
                        entry.getEndMark().map(Mark::getLine).orElse(Integer.MAX_VALUE))));
            }
        }
        return declarations;
    }

    private static Optional<String> scalar(MappingNode mapping, String key) {
        for (NodeTuple tuple : mapping.getValue()) {
            if (tuple.getKeyNode() instanceof ScalarNode name && name.getValue().equals(key)
                    && tuple.getValueNode() instanceof ScalarNode value) {
                return Optional.of(value.getValue());
            }
        }
        return Optional.empty();
    }

    private static String describe(Resource resource) {
        try {
            return resource.getURL().toString();
        } catch (IOException e) {
            return resource.getDescription();
        }
    }
}
