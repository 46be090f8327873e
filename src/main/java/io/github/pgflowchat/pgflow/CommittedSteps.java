package io.github.pgflowchat.pgflow;

import java.util.List;
import java.util.UUID;

/**
 * What this instance has just committed to pgflow for a run, with the values pgflow stored: a run it started (its
 * root steps started), a step it claimed, a step it completed (and the steps and the run that completion started or
 * completed in the same transaction). The pgflow component hands these to the runs this instance follows, so that a
 * chat shows its own instance's work without reading the run back; a run followed nowhere here ignores them.
 */
public interface CommittedSteps {

    CommittedSteps NONE = new CommittedSteps() {
        @Override
        public boolean follows(UUID runId) {
            return false;
        }

        @Override
        public Commit committing(UUID runId) {
            return Commit.NONE;
        }

        @Override
        public void started(StepTask task, List<String> dependsOn) {
        }

        @Override
        public void stepsStarted(UUID runId, List<StartedStep> steps) {
        }

        @Override
        public void completed(StepTask task, String completedAt, String output) {
        }

        @Override
        public void runCompleted(UUID runId, String completedAt, String output, List<String> steps) {
        }
    };

    /** Whether the run is followed here: only then is what a commit implies worth reading in its round trip. */
    boolean follows(UUID runId);

    /**
     * A commit for the run is about to be sent. Its broadcasts may arrive before its reports: until the commit is
     * closed (after its reports, or after it failed), hints about the run wait, so that they are looked at after
     * what the reports delivered.
     */
    Commit committing(UUID runId);

    /** The task was claimed; its step started at {@link StepTask#stepStartedAt()}, after the steps it depends on. */
    void started(StepTask task, List<String> dependsOn);

    /** pgflow started these steps of the run in the commit (a start_flow's roots, the steps a completion made ready). */
    void stepsStarted(UUID runId, List<StartedStep> steps);

    /** The task was completed at {@code completedAt} with {@code output} (JSON text, as pgflow stored it). */
    void completed(StepTask task, String completedAt, String output);

    /** pgflow completed the run in the commit, with {@code output} (JSON text); {@code steps} are all its steps. */
    void runCompleted(UUID runId, String completedAt, String output, List<String> steps);

    /**
     * A step pgflow started, when, and the steps it depends on; {@code dependsOn} is null when this instance does not
     * know them (no handler of the step here).
     */
    record StartedStep(String stepSlug, String startedAt, List<String> dependsOn) {
    }

    /** An open commit of a run; closing it says its reports, if any, were made. */
    interface Commit extends AutoCloseable {
        Commit NONE = () -> { };

        @Override
        void close();
    }
}
