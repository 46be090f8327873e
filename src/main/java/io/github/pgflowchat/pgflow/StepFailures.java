package io.github.pgflowchat.pgflow;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import org.apache.camel.CamelExecutionException;

/** Turns a step's exception into the text pgflow stores as the task's error_message and the client sees. */
final class StepFailures {

    private static final int MAX_LENGTH = 2000;

    private StepFailures() {
    }

    static boolean isCancellation(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof StepCancelledException) {
                return true;
            }
        }
        return false;
    }

    static String describe(Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CamelExecutionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = cause instanceof TimeoutException || cause.getMessage() == null || cause.getMessage().isBlank()
                ? cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage())
                : cause.getMessage();
        return message.length() > MAX_LENGTH ? message.substring(0, MAX_LENGTH) + "…" : message;
    }
}
