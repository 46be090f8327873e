package io.github.pgflowchat.component.pgflow;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A flow as its step routes declare it: the base slug ({@code chat_pipeline}) and its steps. pgflow 0.8.1 cannot
 * change a flow once created, so each distinct shape is installed as its own flow, the version
 * {@code <flow>_<8 hex>} ({@link #versionSlug()}).
 *
 * <p>The constructor refuses a shape pgflow could not run as declared and says what is wrong, naming the step.
 * {@link #steps()} is a topological order (every step after the steps it depends on) that keeps the declaration
 * order wherever the dependencies allow; pgflow's {@code add_step} needs that order.
 *
 * <p>What changes the version: a step added, removed or renamed; a dependency added or removed; any step's
 * maxAttempts, baseDelay or timeout; the base flow slug. What does not: the order the steps are declared in, the
 * order of a step's dependsOn, and anything outside this record (route bodies, endpoint options that are not part
 * of the shape, the worker's concurrency).
 */
public record FlowShape(String flow, List<StepShape> steps) {

    /** pgmq rejects queue names of 48 characters or more, and a flow's queue is named after its slug. */
    static final int MAX_QUEUE_NAME_LENGTH = 47;
    static final int HASH_HEX_DIGITS = 8;
    /** The base slug leaves room for {@code _<8 hex>} within a queue name. */
    static final int MAX_FLOW_LENGTH = MAX_QUEUE_NAME_LENGTH - 1 - HASH_HEX_DIGITS;

    /** pgflow 0.8.1's {@code pgflow.is_valid_slug}: at most 128 characters, this pattern, and not a reserved word. */
    private static final Pattern PGFLOW_SLUG = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final int PGFLOW_SLUG_MAX_LENGTH = 128;
    private static final Set<String> PGFLOW_RESERVED_SLUGS = Set.of("run");
    private static final String SLUG_RULE =
            "a letter or _ first, then letters, digits or _, at most " + PGFLOW_SLUG_MAX_LENGTH + " characters, not \"run\"";
    private static final Pattern VERSION_SUFFIX = Pattern.compile("_[0-9a-f]{" + HASH_HEX_DIGITS + "}");

    public FlowShape {
        List<String> problems = new ArrayList<>();
        checkFlowSlug(flow, problems);
        if (steps == null || steps.isEmpty()) {
            problems.add("it declares no steps");
            throw invalid(flow, problems);
        }
        Map<String, StepShape> bySlug = new LinkedHashMap<>();
        for (StepShape step : steps) {
            if (step == null) {
                problems.add("a step is null");
            } else if (!isValidSlug(step.slug())) {
                problems.add("step " + quoted(step.slug()) + ": the slug is not valid for pgflow (" + SLUG_RULE + ")");
            } else if (bySlug.putIfAbsent(step.slug(), step) != null) {
                problems.add("step " + step.slug() + ": declared twice");
            }
        }
        for (StepShape step : bySlug.values()) {
            checkStep(step, bySlug.keySet(), problems);
        }
        if (!problems.isEmpty()) {
            throw invalid(flow, problems);
        }
        steps = topologicalOrder(flow, bySlug);
    }

    /** Whether pgflow 0.8.1 accepts {@code slug} as a flow or step slug (its {@code pgflow.is_valid_slug}). */
    public static boolean isValidSlug(String slug) {
        return slug != null
                && !slug.isEmpty()
                && slug.length() <= PGFLOW_SLUG_MAX_LENGTH
                && PGFLOW_SLUG.matcher(slug).matches()
                && !PGFLOW_RESERVED_SLUGS.contains(slug);
    }

    /**
     * The base flow of a version slug: {@code chat_pipeline} for {@code chat_pipeline_1a2b3c4d}, and the slug itself
     * for a flow that carries no version suffix (the unversioned {@code chat_pipeline} of the first migration).
     */
    public static String baseFlowOf(String versionSlug) {
        int suffix = versionSlug.length() - 1 - HASH_HEX_DIGITS;
        if (suffix > 0 && VERSION_SUFFIX.matcher(versionSlug.substring(suffix)).matches()) {
            return versionSlug.substring(0, suffix);
        }
        return versionSlug;
    }

    /**
     * The text whose sha256 names the version: one line for the flow, then one line per step sorted by slug, each
     * step's dependencies sorted, so that neither declaration order changes it. For example
     * <pre>
     * flow chat_pipeline
     * step analyze dependsOn=search maxAttempts=3 baseDelay=1 timeout=60
     * step search dependsOn= maxAttempts=3 baseDelay=1 timeout=10
     * </pre>
     * (lines separated by a single {@code \n}, no final newline).
     */
    public String canonicalForm() {
        StringBuilder form = new StringBuilder("flow ").append(flow);
        steps.stream().sorted(Comparator.comparing(StepShape::slug)).forEach(step -> form.append('\n')
                .append("step ").append(step.slug())
                .append(" dependsOn=").append(step.dependsOn().stream().sorted().collect(Collectors.joining(",")))
                .append(" maxAttempts=").append(step.maxAttempts())
                .append(" baseDelay=").append(step.baseDelay())
                .append(" timeout=").append(step.timeout()));
        return form.toString();
    }

    /** {@code <flow>_<the first 8 hex digits of the sha256 of canonicalForm()>}: the pgflow flow of this shape. */
    public String versionSlug() {
        return flow + "_" + sha256Hex(canonicalForm()).substring(0, HASH_HEX_DIGITS);
    }

    private static void checkFlowSlug(String flow, List<String> problems) {
        if (!isValidSlug(flow)) {
            problems.add("the flow slug is not valid for pgflow (" + SLUG_RULE + ")");
            return;
        }
        if (!flow.equals(flow.toLowerCase(Locale.ROOT))) {
            problems.add("the flow slug has upper-case letters: pgmq names the queue table in lower case, so "
                    + flow + " and " + flow.toLowerCase(Locale.ROOT) + " would share one queue");
        }
        if (flow.length() > MAX_FLOW_LENGTH) {
            problems.add("the flow slug has " + flow.length() + " characters, at most " + MAX_FLOW_LENGTH
                    + " leave room for the version suffix _<" + HASH_HEX_DIGITS + " hex> within pgmq's "
                    + MAX_QUEUE_NAME_LENGTH + "-character queue names");
        }
    }

    private static void checkStep(StepShape step, Set<String> declared, List<String> problems) {
        String name = "step " + step.slug() + ": ";
        Set<String> seen = new HashSet<>();
        for (String dependency : step.dependsOn()) {
            if (dependency.equals(step.slug())) {
                problems.add(name + "depends on itself");
            } else if (!declared.contains(dependency)) {
                problems.add(name + "depends on " + quoted(dependency) + ", which is not a step of this flow (its steps: "
                        + String.join(", ", declared) + ")");
            }
            if (!seen.add(dependency)) {
                problems.add(name + "lists the dependency " + dependency + " twice");
            }
        }
        if (step.maxAttempts() < 1) {
            problems.add(name + "maxAttempts is " + step.maxAttempts() + ", it must be at least 1");
        }
        if (step.baseDelay() < 0) {
            problems.add(name + "baseDelay is " + step.baseDelay() + " s, it must be 0 or more");
        }
        if (step.timeout() < 1) {
            problems.add(name + "timeout is " + step.timeout() + " s, it must be at least 1");
        }
    }

    /** Kahn's algorithm, always taking the earliest-declared step whose dependencies are all placed. */
    private static List<StepShape> topologicalOrder(String flow, Map<String, StepShape> bySlug) {
        List<StepShape> remaining = new ArrayList<>(bySlug.values());
        Set<String> placed = new HashSet<>();
        List<StepShape> order = new ArrayList<>(remaining.size());
        while (!remaining.isEmpty()) {
            StepShape next = remaining.stream().filter(step -> placed.containsAll(step.dependsOn())).findFirst().orElse(null);
            if (next == null) {
                throw invalid(flow, List.of("the dependencies form a cycle: " + describeCycle(remaining, bySlug)));
            }
            remaining.remove(next);
            placed.add(next.slug());
            order.add(next);
        }
        return List.copyOf(order);
    }

    /** Every remaining step waits for another remaining one, so following the first such dependency must loop. */
    private static String describeCycle(List<StepShape> remaining, Map<String, StepShape> bySlug) {
        Set<String> unplaced = remaining.stream().map(StepShape::slug).collect(Collectors.toSet());
        Deque<String> path = new ArrayDeque<>();
        StepShape current = remaining.get(0);
        while (!path.contains(current.slug())) {
            path.addLast(current.slug());
            current = bySlug.get(current.dependsOn().stream().filter(unplaced::contains).findFirst().orElseThrow());
        }
        List<String> cycle = new ArrayList<>(path);
        cycle = cycle.subList(cycle.indexOf(current.slug()), cycle.size());
        StringBuilder text = new StringBuilder("step ").append(cycle.get(0));
        for (String slug : cycle.subList(1, cycle.size())) {
            text.append(" depends on ").append(slug).append(", which");
        }
        return text.append(" depends on ").append(cycle.get(0)).toString();
    }

    private static IllegalArgumentException invalid(String flow, List<String> problems) {
        return new IllegalArgumentException("Flow " + quoted(flow) + " cannot be installed in pgflow: "
                + String.join("; ", problems));
    }

    private static String quoted(String value) {
        return value == null ? "(null)" : "\"" + value + "\"";
    }

    private static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
