package io.github.pgflowchat.pgflow;

import java.util.Map;
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

    public Map<String, StepHandler> all() {
        return Map.copyOf(bySlug);
    }
}
