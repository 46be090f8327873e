package io.github.pgflowchat.component.pgflow;

import java.util.Arrays;
import java.util.List;

import org.apache.camel.Category;
import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.spi.Metadata;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.spi.UriParam;
import org.apache.camel.spi.UriPath;
import org.apache.camel.support.DefaultEndpoint;

/**
 * A pgflow flow ({@code pgflow:<flow>}) or one of its steps ({@code pgflow:<flow>/<step>}).
 * <p>
 * As a consumer, {@code pgflow:<flow>/<step>} runs the step's tasks: the exchange's body is the task input (a JSON object
 * with {@code run}, the run's input, and one field per dependency named by its step slug, holding that step's output),
 * and the body the route ends with is the step's output. An exception fails the attempt; pgflow retries it after
 * {@code baseDelay * 2^attempt} seconds while attempts remain. The step's options are the flow's shape as pgflow stores
 * it: dependencies, attempts, base delay and timeout.
 * <p>
 * As a consumer, {@code pgflow:<flow>} receives the events of the runs this instance follows: one exchange per event,
 * in order per run. As a producer, it starts a run of the flow with the body as its input.
 */
@UriEndpoint(firstVersion = "0.1.0", scheme = "pgflow", title = "pgflow", syntax = "pgflow:flow/step",
        category = {Category.DATABASE, Category.WORKFLOW}, headersClass = PgflowConstants.class)
public class PgflowEndpoint extends DefaultEndpoint {

    @UriPath(description = "The flow's slug")
    @Metadata(required = true)
    private final String flow;
    @UriPath(description = "The step's slug. Without it the consumer receives run events and the producer starts runs")
    private final String step;

    @UriParam(label = "consumer", description = "The steps whose outputs this step takes, comma separated; none for a root step")
    private String dependsOn;
    @UriParam(label = "consumer", defaultValue = "3", description = "Attempts of each task, the first included")
    private int maxAttempts = 3;
    @UriParam(label = "consumer", defaultValue = "1", description = "Seconds; a retry waits baseDelay * 2^attempts")
    private int baseDelay = 1;
    @UriParam(label = "consumer", defaultValue = "60", description = "Seconds an attempt may run before it is interrupted and fails")
    private int timeout = 60;
    @UriParam(label = "consumer", defaultValue = "false", description = "Whether the step writes into the stream of the"
            + " instance that started the run; its tasks then run on that instance while it is alive")
    private boolean streamed;
    @UriParam(label = "consumer", description = "How many of the step's tasks may run at once on this instance, in a pool of"
            + " the step's own (for a step that waits on something else, e.g. a model); unset, the step shares the worker's"
            + " concurrency with the other steps without one, or, when streamed, gets the worker's streamed concurrency")
    private int concurrency;
    @UriParam(label = "producer", defaultValue = "true", description = "Whether the run's events go to this instance's"
            + " pgflow:<flow> consumer (and its streamed steps run here) until the run ends")
    private boolean follow = true;

    PgflowEndpoint(String uri, PgflowComponent component, String flow, String step) {
        super(uri, component);
        this.flow = flow;
        this.step = step;
    }

    @Override
    public PgflowComponent getComponent() {
        return (PgflowComponent) super.getComponent();
    }

    @Override
    public Producer createProducer() {
        if (step != null) {
            throw new IllegalArgumentException("pgflow:" + flow + "/" + step + " is a step: its tasks are consumed (from:);"
                    + " a run is started with to: pgflow:" + flow);
        }
        return new PgflowProducer(this);
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        Consumer consumer = step == null ? new PgflowEventConsumer(this, processor) : new PgflowStepConsumer(this, processor);
        configureConsumer(consumer);
        return consumer;
    }

    @Override
    public boolean isLenientProperties() {
        return false;
    }

    public String getFlow() {
        return flow;
    }

    public String getStep() {
        return step;
    }

    public String getDependsOn() {
        return dependsOn;
    }

    public List<String> dependencies() {
        return dependsOn == null || dependsOn.isBlank() ? List.of()
                : Arrays.stream(dependsOn.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    public void setDependsOn(String dependsOn) {
        this.dependsOn = dependsOn;
    }

    public int getMaxAttempts() {
        return maxAttempts;
    }

    public void setMaxAttempts(int maxAttempts) {
        this.maxAttempts = maxAttempts;
    }

    public int getBaseDelay() {
        return baseDelay;
    }

    public void setBaseDelay(int baseDelay) {
        this.baseDelay = baseDelay;
    }

    public int getTimeout() {
        return timeout;
    }

    public void setTimeout(int timeout) {
        this.timeout = timeout;
    }

    public boolean isStreamed() {
        return streamed;
    }

    public void setStreamed(boolean streamed) {
        this.streamed = streamed;
    }

    /** The step's own pool, or 0 when it has none (it shares the worker's, or gets the streamed pool when streamed). */
    public int getConcurrency() {
        return concurrency;
    }

    public void setConcurrency(int concurrency) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, not " + concurrency);
        }
        this.concurrency = concurrency;
    }

    public boolean isFollow() {
        return follow;
    }

    public void setFollow(boolean follow) {
        this.follow = follow;
    }
}
