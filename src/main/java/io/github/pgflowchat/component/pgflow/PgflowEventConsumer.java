package io.github.pgflowchat.component.pgflow;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.support.DefaultConsumer;

import io.github.pgflowchat.events.RunEvent;

/**
 * The events of the runs of one flow that this instance follows (started by a {@code to: pgflow:<flow>} producer with
 * {@code follow=true}), one exchange per event, in pgflow's order per run. The body is the event's JSON payload as
 * pgflow broadcasts it ({@code event_type}, {@code run_id}, {@code step_slug}, {@code status}, {@code output},
 * {@code error_message}, ...), the headers name its run, type and step; an exception from the route leaves the event
 * undelivered, and it is offered again with the run's next reading.
 */
public class PgflowEventConsumer extends DefaultConsumer {

    public PgflowEventConsumer(PgflowEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    @Override
    public PgflowEndpoint getEndpoint() {
        return (PgflowEndpoint) super.getEndpoint();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        getEndpoint().getComponent().runtime(getEndpoint().getFlow());
        getEndpoint().getComponent().addEventConsumer(this);
    }

    @Override
    protected void doStop() throws Exception {
        getEndpoint().getComponent().removeEventConsumer(this);
        super.doStop();
    }

    void deliver(RunEvent event) {
        Exchange exchange = createExchange(false);
        try {
            Message in = exchange.getIn();
            in.setBody(event.payload());
            in.setHeader(PgflowConstants.EVENT, event.event());
            in.setHeader(PgflowConstants.RUN_ID, event.runId());
            in.setHeader(PgflowConstants.EVENT_TYPE, event.eventType());
            if (event.stepSlug() != null) {
                in.setHeader(PgflowConstants.STEP_SLUG, event.stepSlug());
            }
            getProcessor().process(exchange);
            if (exchange.getException() != null) {
                throw new IllegalStateException("the route of " + getEndpoint().getEndpointUri() + " failed on "
                        + event.event() + ": " + exchange.getException().getMessage(), exchange.getException());
            }
        } catch (Exception e) {
            throw e instanceof RuntimeException runtime ? runtime : new IllegalStateException(e);
        } finally {
            releaseExchange(exchange, false);
        }
    }
}
