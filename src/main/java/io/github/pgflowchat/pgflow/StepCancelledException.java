package io.github.pgflowchat.pgflow;

/**
 * A step stopped on purpose (the user pressed stop, or the client went away and did not come back): the task fails
 * for good instead of being retried, and the run ends failed with this reason.
 */
public class StepCancelledException extends RuntimeException {

    public StepCancelledException(String reason) {
        super(reason);
    }
}
