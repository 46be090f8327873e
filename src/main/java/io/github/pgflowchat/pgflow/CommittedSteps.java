package io.github.pgflowchat.pgflow;

import java.util.List;

/**
 * What this instance's worker has just committed to pgflow: a step it claimed (so pgflow had started the step) and a
 * step it completed, with the values pgflow stored. The pgflow component hands these to the runs this instance
 * follows, so that a chat shows its own instance's work without reading the run back; a run followed nowhere here
 * ignores them.
 */
public interface CommittedSteps {

    CommittedSteps NONE = new CommittedSteps() {
        @Override
        public void started(StepTask task, List<String> dependsOn) {
        }

        @Override
        public void completed(StepTask task, String completedAt, String output) {
        }
    };

    /** The task was claimed; its step started at {@link StepTask#stepStartedAt()}, after the steps it depends on. */
    void started(StepTask task, List<String> dependsOn);

    /** The task was completed at {@code completedAt} with {@code output} (JSON text, as pgflow stored it). */
    void completed(StepTask task, String completedAt, String output);
}
