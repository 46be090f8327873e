package io.github.pgflowchat.component.pgflow;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.DefaultProducer;

import io.github.pgflowchat.events.RunEvent;
import io.github.pgflowchat.events.RunEventSource;
import io.github.pgflowchat.pgflow.CommittedSteps;
import io.github.pgflowchat.pgflow.PgflowSqlClient;
import io.github.pgflowchat.pgflow.PgflowWorkerRoutes;

/**
 * Starts a run of the flow ({@code pgflow.start_flow}) with the body as its input: a JSON object, as a Map, a JSON
 * string or a JsonNode. The run id is the {@code pgflowRunId} header when the caller chose one, a new one otherwise;
 * the run id is the body and the {@code pgflowRunId} header afterwards. With {@code follow} (the default) the run is
 * followed from before it starts until it ends: its events go to the flow's {@code pgflow:<flow>} consumer, and its
 * streamed steps run on this instance.
 */
public class PgflowProducer extends DefaultProducer {

    private ProducerTemplate claims;
    private PgflowRuntime runtime;

    public PgflowProducer(PgflowEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    public PgflowEndpoint getEndpoint() {
        return (PgflowEndpoint) super.getEndpoint();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        runtime = getEndpoint().getComponent().runtime(getEndpoint().getFlow());
        claims = getEndpoint().getCamelContext().createProducerTemplate();
    }

    @Override
    protected void doStop() throws Exception {
        if (claims != null) {
            claims.stop();
        }
        super.doStop();
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        PgflowComponent component = getEndpoint().getComponent();
        JsonNode input = input(exchange, component);
        UUID runId = exchange.getIn().getHeader(PgflowConstants.RUN_ID, UUID.class);
        if (runId == null) {
            runId = UUID.randomUUID();
        }
        String flowSlug = component.currentVersion(getEndpoint().getFlow());
        // Followed before it starts: its first events may come before start_flow returns.
        RunEventSource.Subscription followed = getEndpoint().isFollow() ? follow(runId) : null;
        try {
            if (followed == null) {
                runtime.sqlClient().startFlow(flowSlug, input, runId);
            } else {
                start(flowSlug, input, runId);
            }
        } catch (RuntimeException e) {
            if (followed != null) {
                followed.close();
            }
            throw e;
        }
        exchange.getMessage().setHeader(PgflowConstants.RUN_ID, runId);
        exchange.getMessage().setHeader(PgflowConstants.FLOW_SLUG, flowSlug);
        exchange.getMessage().setBody(runId.toString());
    }

    /** Starts a followed run and hands on the steps the start started, without a reading of the run. */
    private void start(String flowSlug, JsonNode input, UUID runId) {
        CommittedSteps reports = runtime.runEvents().committedSteps();
        try (CommittedSteps.Commit commit = reports.committing(runId)) {
            List<PgflowSqlClient.StepStart> roots = runtime.sqlClient().startFlowReadingStartedSteps(flowSlug, input, runId);
            // Started by start_flow itself: steps that depend on none.
            reports.stepsStarted(runId, roots.stream()
                    .map(step -> new CommittedSteps.StartedStep(step.stepSlug(), step.startedAt(), List.of())).toList());
        }
    }

    private static JsonNode input(Exchange exchange, PgflowComponent component) throws Exception {
        Object body = exchange.getIn().getBody();
        JsonNode input = body instanceof String text ? component.objectMapper().readTree(text)
                : component.objectMapper().valueToTree(body);
        if (input == null || !input.isObject()) {
            throw new IllegalArgumentException("a run's input must be a JSON object, not " + (input == null ? "nothing" : input.getNodeType()));
        }
        return input;
    }

    /** Follows the run until its last event was handed on. */
    private RunEventSource.Subscription follow(UUID runId) {
        PgflowComponent component = getEndpoint().getComponent();
        String flow = getEndpoint().getFlow();
        AtomicReference<RunEventSource.Subscription> subscription = new AtomicReference<>();
        subscription.set(runtime.runEvents().subscribe(runId, event -> {
            PgflowEventConsumer consumer = component.eventConsumer(flow);
            if (consumer != null) {
                consumer.deliver(event);
            }
            // Only a streamed step's start is claimed here; the other events would only crowd the claims' queue.
            if ("step:started".equals(event.eventType()) && runtime.stepHandlers().isStreamed(event.stepSlug())) {
                claims.sendBody(PgflowWorkerRoutes.CLAIM_FOR_STREAM, event);
            }
            if (isTerminal(event)) {
                subscription.get().close();
            }
        }));
        return subscription.get();
    }

    private static boolean isTerminal(RunEvent event) {
        return "run:completed".equals(event.eventType()) || "run:failed".equals(event.eventType());
    }
}
