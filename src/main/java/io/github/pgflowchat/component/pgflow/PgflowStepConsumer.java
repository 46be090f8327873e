package io.github.pgflowchat.component.pgflow;

import java.util.List;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.support.DefaultConsumer;

import io.github.pgflowchat.pgflow.StepHandler;
import io.github.pgflowchat.pgflow.StepHandlers;
import io.github.pgflowchat.pgflow.StepTask;

/**
 * The worker of one step. While its route runs, the step's tasks claimed by this instance run here, each as one
 * exchange: the body is the task input, the headers name the run, step and attempt, and the body the route ends with
 * is the output pgflow stores; an exception fails the attempt.
 */
public class PgflowStepConsumer extends DefaultConsumer implements StepHandler {

    private StepHandlers handlers;

    public PgflowStepConsumer(PgflowEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    @Override
    public PgflowEndpoint getEndpoint() {
        return (PgflowEndpoint) super.getEndpoint();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        PgflowComponent component = getEndpoint().getComponent();
        component.stepStarted(getEndpoint().getFlow());
        handlers = component.runtime(getEndpoint().getFlow()).stepHandlers();
        handlers.register(getEndpoint().getStep(), this);
    }

    @Override
    protected void doStop() throws Exception {
        if (handlers != null) {
            handlers.unregister(getEndpoint().getStep(), this);
        }
        super.doStop();
    }

    @Override
    public Object handle(StepTask task) throws Exception {
        Exchange exchange = createExchange(false);
        try {
            Message in = exchange.getIn();
            in.setBody(task.input());
            in.setHeader(PgflowConstants.RUN_ID, task.runId());
            in.setHeader(PgflowConstants.FLOW_SLUG, task.flowSlug());
            in.setHeader(PgflowConstants.STEP_SLUG, task.stepSlug());
            in.setHeader(PgflowConstants.ATTEMPT, task.attempt());
            in.setHeader(PgflowConstants.MAX_ATTEMPTS, task.maxAttempts());
            getProcessor().process(exchange);
            if (exchange.getException() != null) {
                throw exchange.getException();
            }
            return exchange.getMessage().getBody();
        } finally {
            releaseExchange(exchange, false);
        }
    }

    @Override
    public boolean streamed() {
        return getEndpoint().isStreamed();
    }

    @Override
    public int concurrency() {
        return getEndpoint().getConcurrency();
    }

    @Override
    public List<String> dependsOn() {
        return getEndpoint().dependencies();
    }
}
