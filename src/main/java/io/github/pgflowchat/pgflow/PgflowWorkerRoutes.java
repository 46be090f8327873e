package io.github.pgflowchat.pgflow;

import org.apache.camel.Exchange;
import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.model.errorhandler.DefaultErrorHandlerDefinition;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.RecoverableDataAccessException;
import org.springframework.dao.TransientDataAccessException;
import org.springframework.stereotype.Component;

/**
 * The pgflow worker as routes: a wake-up (NOTIFY from the queue, the fallback timer, or a finished task after a claim
 * that ran short of slots) reads and claims as many tasks as there are free slots, and a streamed step of a run whose
 * chat stream is held here is claimed when it starts; each task runs on its step route and ends in complete_task or fail_task. A task whose instance dies
 * gets neither: a live instance's sweeper hands it back once the dead instance's lock is free. A task whose instance
 * shuts down is handed back by that instance before its routes stop (decision record 0012).
 */
@Component
public class PgflowWorkerRoutes extends RouteBuilder {

    /** Wake-ups collapse into at most one pending poll; a poll after a wake-up sees everything committed before it. */
    public static final String WAKE_UP = "seda:pgflow-wake-up?size=1&discardWhenFull=true";
    /** A streamed step's start in a run whose chat stream this instance holds (the pgflow producer sends only these): its task is claimed here. */
    public static final String CLAIM_FOR_STREAM = "seda:pgflow-claim-for-stream?size=100000";
    private static final String EXECUTE_TASK = "direct:pgflow-execute-task";
    private static final String DISPATCH = "direct:pgflow-dispatch-tasks";
    private static final String COMPLETE_TASK = "direct:pgflow-complete-task";
    private static final String FAIL_TASK = "direct:pgflow-fail-task";
    private static final int END_TASK_REDELIVERIES = 20;

    private final WorkerProperties properties;
    private final PgflowWorker worker;
    private final StepInvoker invoker;

    public PgflowWorkerRoutes(WorkerProperties properties, PgflowWorker worker, StepInvoker invoker) {
        this.properties = properties;
        this.worker = worker;
        this.invoker = invoker;
    }

    @Override
    public void configure() {
        from("timer:pgflow-poll-fallback?delay=0&period=" + properties.fallbackPollInterval().toMillis())
                .routeId("pgflow-poll-fallback")
                .to(WAKE_UP);

        from(WAKE_UP)
                .routeId("pgflow-claim-tasks")
                .bean(worker, "claimTasks")
                .to(DISPATCH);

        from(CLAIM_FOR_STREAM)
                .routeId("pgflow-claim-for-stream")
                .bean(worker, "claimForStream(${body.runId}, ${body.stepSlug})")
                .to(DISPATCH);

        // Each claimed task runs on a virtual thread of its own: the worker claims no more tasks than its pools have
        // free slots, so the slots, not a number of threads, bound what runs, and a task that waits on the model for a
        // minute holds no platform thread (decision record 0017).
        from(DISPATCH)
                .routeId("pgflow-dispatch-tasks")
                .split(body())
                    .wireTap(EXECUTE_TASK).executorService(invoker.taskThreads())
                .end();

        from(EXECUTE_TASK)
                .routeId("pgflow-execute-task")
                .setProperty("task", body())
                .doTry()
                    .bean(invoker, "invoke")
                    .to(COMPLETE_TASK)
                .doCatch(Exception.class)
                    .to(FAIL_TASK)
                .doFinally()
                    .bean(worker, "releaseSlot(${exchangeProperty.task})")
                    .filter(body().isEqualTo(true))
                        .to(WAKE_UP)
                    .end()
                .end();

        // A step's result is only in this process until pgflow has it: while the database is unreachable, keep
        // trying to hand it over rather than lose it. The task stays in flight meanwhile, so its lease is renewed.
        // A completion that made a streamed step of a run whose stream is held here ready claims it at once, rather
        // than after the round trip of its start event (time to first token).
        from(COMPLETE_TASK)
                .routeId("pgflow-complete-task")
                .errorHandler(untilTheDatabaseAnswers())
                .bean(worker, "completeTask(${exchangeProperty.task}, ${body})")
                .filter(body().isEqualTo(true))
                    .bean(worker, "claimStreamedStepsReadyAfter(${exchangeProperty.task})")
                    .to(DISPATCH)
                .end();

        from(FAIL_TASK)
                .routeId("pgflow-fail-task")
                .errorHandler(untilTheDatabaseAnswers())
                .bean(worker, "failTask(${exchangeProperty.task}, ${exception})");
    }

    /**
     * Redelivers on errors that say the database could not be reached (0.2 s, doubling up to 5 s, about 80 s in all);
     * any other error goes back to the caller at once.
     */
    private DefaultErrorHandlerDefinition untilTheDatabaseAnswers() {
        DefaultErrorHandlerDefinition handler = defaultErrorHandler()
                .redeliveryDelay(200)
                .useExponentialBackOff()
                .backOffMultiplier(2)
                .maximumRedeliveryDelay(5000)
                .retryAttemptedLogLevel(LoggingLevel.WARN);
        handler.setRetryWhilePredicate(exchange -> isDatabaseUnreachable(exchange.getException())
                && exchange.getIn().getHeader(Exchange.REDELIVERY_COUNTER, 0, Integer.class) < END_TASK_REDELIVERIES);
        return handler;
    }

    /** Whether an error says the database was unreachable (no connection, or one lost mid-call). */
    static boolean isDatabaseUnreachable(Throwable error) {
        return error instanceof DataAccessResourceFailureException || error instanceof TransientDataAccessException
                || error instanceof RecoverableDataAccessException;
    }
}
