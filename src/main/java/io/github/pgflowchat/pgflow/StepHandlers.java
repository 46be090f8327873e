package io.github.pgflowchat.pgflow;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.springframework.stereotype.Component;

/**
 * The step handlers of this instance, by step slug: the worker claims a task only for a step that has one, and runs it
 * there. The pgflow component's step consumers register here when their routes start and leave when they stop.
 */
@Component
public class StepHandlers {

    private final Map<String, StepHandler> bySlug = new ConcurrentHashMap<>();

    public void register(String stepSlug, StepHandler handler) {
        StepHandler previous = bySlug.putIfAbsent(stepSlug, handler);
        if (previous != null && previous != handler) {
            throw new IllegalStateException("step '" + stepSlug + "' is consumed by two routes; one route per step");
        }
    }

    public void unregister(String stepSlug, StepHandler handler) {
        bySlug.remove(stepSlug, handler);
    }

    public Optional<StepHandler> find(String stepSlug) {
        return Optional.ofNullable(bySlug.get(stepSlug));
    }

    public boolean isStreamed(String stepSlug) {
        StepHandler handler = bySlug.get(stepSlug);
        return handler != null && handler.streamed();
    }

    /**
     * The streamed steps that are surely ready once {@code completed} completed: they depend on it, and every other
     * step they depend on is one that {@code completed} itself depends on, directly or not (so it completed before).
     * Others may be ready too; this says only which need no look at the run to know.
     */
    public List<String> streamedStepsReadyAfter(String completed) {
        Set<String> before = ancestors(completed);
        List<String> ready = new ArrayList<>();
        bySlug.forEach((slug, handler) -> {
            if (handler.streamed() && handler.dependsOn().contains(completed)
                    && handler.dependsOn().stream().allMatch(dependency -> dependency.equals(completed) || before.contains(dependency))) {
                ready.add(slug);
            }
        });
        return ready;
    }

    private Set<String> ancestors(String stepSlug) {
        Set<String> found = new HashSet<>();
        Deque<String> next = new ArrayDeque<>(List.of(stepSlug));
        while (!next.isEmpty()) {
            StepHandler handler = bySlug.get(next.pop());
            if (handler != null) {
                handler.dependsOn().stream().filter(found::add).forEach(next::push);
            }
        }
        return found;
    }

    public Map<String, StepHandler> all() {
        return Map.copyOf(bySlug);
    }
}
