package io.github.pgflowchat.component.pgflow;

import org.apache.camel.spi.Metadata;

/** The headers of the pgflow component's exchanges. */
public final class PgflowConstants {

    @Metadata(label = "consumer,producer", description = "The run's id. On a producer, the id to start the run with (a new"
            + " one when absent); afterwards the id of the run started.", javaType = "java.util.UUID")
    public static final String RUN_ID = "pgflowRunId";
    @Metadata(label = "consumer", description = "The slug of the flow version the task or event belongs to", javaType = "String")
    public static final String FLOW_SLUG = "pgflowFlowSlug";
    @Metadata(label = "consumer", description = "The step of the task, or of the event (none for run events)", javaType = "String")
    public static final String STEP_SLUG = "pgflowStepSlug";
    @Metadata(label = "consumer", description = "The task's attempt, from 1", javaType = "int")
    public static final String ATTEMPT = "pgflowAttempt";
    @Metadata(label = "consumer", description = "The step's attempts in all", javaType = "int")
    public static final String MAX_ATTEMPTS = "pgflowMaxAttempts";
    @Metadata(label = "consumer", description = "The event's type: run:started, step:started, step:completed,"
            + " step:retrying, step:failed, run:completed or run:failed", javaType = "String")
    public static final String EVENT_TYPE = "pgflowEventType";

    @Metadata(label = "consumer", description = "The event's name as broadcast: run:started, step:<slug>:completed, ...", javaType = "String")
    public static final String EVENT = "pgflowEvent";

    private PgflowConstants() {
    }
}
