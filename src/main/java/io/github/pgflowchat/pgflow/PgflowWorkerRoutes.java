package io.github.pgflowchat.pgflow;

import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * The pgflow worker as routes: a wake-up (NOTIFY from the queue, a finished task, or the fallback timer) reads and
 * claims as many tasks as there are free slots, and a streamed step of a run whose chat stream is held here is claimed
 * when it starts; each task runs on its step route and ends in complete_task or fail_task. A task whose instance dies gets neither: its lease lapses and a live instance's sweeper hands it back.
 */
@Component
public class PgflowWorkerRoutes extends RouteBuilder {

    /** Wake-ups collapse into at most one pending poll; a poll after a wake-up sees everything committed before it. */
    public static final String WAKE_UP = "seda:pgflow-wake-up?size=1&discardWhenFull=true";
    /** Events of runs whose chat stream this instance holds: a streamed step's task is claimed here when it starts. */
    public static final String CLAIM_FOR_STREAM = "seda:pgflow-claim-for-stream";
    static final String TASKS = "seda:pgflow-tasks";
    private static final String DISPATCH = "direct:pgflow-dispatch-tasks";

    @Override
    public void configure() {
        from("timer:pgflow-poll-fallback?delay=0&period={{gateway.worker.fallback-poll-interval}}")
                .routeId("pgflow-poll-fallback")
                .to(WAKE_UP);

        from(WAKE_UP)
                .routeId("pgflow-claim-tasks")
                .bean(PgflowWorker.class, "claimTasks")
                .to(DISPATCH);

        from(CLAIM_FOR_STREAM)
                .routeId("pgflow-claim-for-stream")
                .filter(simple("${body.eventType} == 'step:started'"))
                    .bean(PgflowWorker.class, "claimForStream(${body.runId}, ${body.stepSlug})")
                    .to(DISPATCH)
                .end();

        from(DISPATCH)
                .routeId("pgflow-dispatch-tasks")
                .split(body())
                    .to(TASKS + "?waitForTaskToComplete=Never")
                .end();

        from(TASKS + "?concurrentConsumers={{gateway.worker.concurrency}}")
                .routeId("pgflow-execute-task")
                .setProperty("task", body())
                .doTry()
                    .bean(StepInvoker.class, "invoke")
                    .bean(PgflowWorker.class, "completeTask(${exchangeProperty.task}, ${body})")
                .doCatch(Exception.class)
                    .bean(PgflowWorker.class, "failTask(${exchangeProperty.task}, ${exception})")
                .doFinally()
                    .bean(PgflowWorker.class, "releaseSlot(${exchangeProperty.task})")
                    .to(WAKE_UP)
                .end();
    }
}
