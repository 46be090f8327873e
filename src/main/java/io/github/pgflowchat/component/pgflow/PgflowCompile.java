package io.github.pgflowchat.component.pgflow;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.model.Model;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;

/**
 * Writes the flow versions the step routes of a directory declare as Supabase CLI migrations, as {@code pgflow compile}
 * does for pgflow's TypeScript DSL: one file {@code <timestamp>_<version>.sql} per flow, holding {@link FlowCompiler}'s
 * SQL, unless a migration of that version is there already. The routes are read, not run: no database is needed.
 * <p>
 * Usage: {@code PgflowCompile <routes directory> <migrations directory>}.
 */
public final class PgflowCompile {

    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss");

    private PgflowCompile() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: PgflowCompile <routes directory> <migrations directory>");
            System.exit(2);
        }
        for (String line : compile(Path.of(args[0]), Path.of(args[1]))) {
            System.out.println(line);
        }
    }

    /** Writes the migrations and says, a line per flow, what it wrote or found. */
    public static List<String> compile(Path routes, Path migrations) throws Exception {
        List<String> said = new ArrayList<>();
        for (FlowShape shape : declaredFlows(routes).values()) {
            String version = shape.versionSlug();
            Path existing = existingMigration(migrations, version);
            if (existing != null) {
                said.add(shape.flow() + ": version " + version + " is in " + existing.getFileName() + " already");
                continue;
            }
            Files.createDirectories(migrations);
            Path file = migrations.resolve(ZonedDateTime.now(ZoneOffset.UTC).format(TIMESTAMP) + "_" + version + ".sql");
            Files.writeString(file, FlowCompiler.sql(shape), StandardCharsets.UTF_8);
            said.add(shape.flow() + ": wrote version " + version + " to " + file);
        }
        if (said.isEmpty()) {
            said.add("no pgflow:<flow>/<step> route in " + routes);
        }
        return said;
    }

    /** The shape of every flow whose step routes are in the directory's YAML files, by flow slug. */
    public static Map<String, FlowShape> declaredFlows(Path routes) throws Exception {
        try (CamelContext context = new DefaultCamelContext()) {
            context.addComponent("pgflow", new PgflowComponent());
            List<Resource> resources = new ArrayList<>();
            try (Stream<Path> files = Files.list(routes)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList()) {
                    resources.add(ResourceHelper.resolveResource(context, "file:" + file.toAbsolutePath()));
                }
            }
            PluginHelper.getRoutesLoader(context).loadRoutes(resources);
            Map<String, List<StepShape>> steps = new LinkedHashMap<>();
            for (RouteDefinition route : context.getCamelContextExtension().getContextPlugin(Model.class).getRouteDefinitions()) {
                String uri = route.getInput().getEndpointUri();
                if (uri != null && uri.startsWith("pgflow:")
                        && context.getEndpoint(uri) instanceof PgflowEndpoint endpoint && endpoint.getStep() != null) {
                    steps.computeIfAbsent(endpoint.getFlow(), flow -> new ArrayList<>())
                            .add(new StepShape(endpoint.getStep(), endpoint.dependencies(), endpoint.getMaxAttempts(),
                                    endpoint.getBaseDelay(), endpoint.getTimeout()));
                }
            }
            Map<String, FlowShape> flows = new LinkedHashMap<>();
            steps.forEach((flow, declared) -> flows.put(flow, new FlowShape(flow, declared)));
            return flows;
        }
    }

    private static Path existingMigration(Path migrations, String version) throws IOException {
        if (!Files.isDirectory(migrations)) {
            return null;
        }
        try (Stream<Path> files = Files.list(migrations)) {
            return files.filter(f -> f.getFileName().toString().endsWith("_" + version + ".sql")).findFirst().orElse(null);
        }
    }
}
