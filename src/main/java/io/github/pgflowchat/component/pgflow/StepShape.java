package io.github.pgflowchat.component.pgflow;

import java.util.List;
import java.util.Objects;

/**
 * One step of a flow as its consumer endpoint declares it, every option resolved: the steps it waits for, how many
 * times pgflow tries it, the base of its retry back-off (pgflow waits {@code floor(baseDelay * 2^attempts)} seconds
 * before a retry) and how long a task of it may stay claimed, both in seconds.
 * {@link FlowShape} checks the values and names the step and the flow in what it reports.
 */
public record StepShape(String slug, List<String> dependsOn, int maxAttempts, int baseDelay, int timeout) {

    public StepShape {
        Objects.requireNonNull(dependsOn, () -> "step " + slug + ": dependsOn is null (a root step depends on an empty list)");
        for (String dependency : dependsOn) {
            if (dependency == null) {
                throw new NullPointerException("step " + slug + ": dependsOn holds a null");
            }
        }
        dependsOn = List.copyOf(dependsOn);
    }
}
