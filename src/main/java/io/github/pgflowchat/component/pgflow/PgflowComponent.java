package io.github.pgflowchat.component.pgflow;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import org.apache.camel.Endpoint;
import org.apache.camel.Route;
import org.apache.camel.spi.Metadata;
import org.apache.camel.support.DefaultComponent;
import org.apache.camel.util.ObjectHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.github.pgflowchat.events.RunEventSource;
import io.github.pgflowchat.pgflow.PgflowSqlClient;
import io.github.pgflowchat.pgflow.PgflowWorker;
import io.github.pgflowchat.pgflow.StepHandlers;

/**
 * The {@code pgflow} component: pgflow's flows as Camel endpoints.
 * <ul>
 * <li>{@code from: pgflow:<flow>/<step>} is the worker of one step: each task of the step is one exchange whose body is
 * the task input and whose result is the step's output.</li>
 * <li>{@code to: pgflow:<flow>} starts a run with the body as its input and follows its events.</li>
 * <li>{@code from: pgflow:<flow>} receives, one exchange per event and in order per run, the events of the runs this
 * instance follows.</li>
 * </ul>
 * The worker's mechanics (claims with a lease, heartbeat, lock, stalled-task sweep, timeouts, redelivery through a
 * database outage, streamed-step affinity) are a {@link PgflowWorker}'s: the one in the registry when the application
 * has one (the chat gateway's Spring bean), else one the component builds from the {@code DataSource}, with run
 * events from PostgreSQL NOTIFY.
 */
@org.apache.camel.spi.annotations.Component("pgflow")
public class PgflowComponent extends DefaultComponent {

    @Metadata(autowired = true, description = "The database holding pgflow (autowired by type)")
    private DataSource dataSource;
    @Metadata(description = "Reads bodies into run inputs and step outputs into JSON (from the registry, or a default one)")
    private ObjectMapper objectMapper;
    @Metadata(label = "advanced", defaultValue = "16", description = "Without a worker in the registry: the tasks it runs at once"
            + " of the steps without a concurrency of their own that are not streamed (they share this pool)")
    private int concurrency = 16;
    @Metadata(label = "advanced", defaultValue = "1000", description = "Without a worker in the registry: the tasks of each"
            + " streamed step it runs at once (unless the step's endpoint sets its own concurrency)")
    private int streamedConcurrency = 1000;
    @Metadata(label = "advanced", defaultValue = "1s", description = "Without a worker in the registry: how often it polls for retries whose delay has passed")
    private Duration pollInterval = Duration.ofSeconds(1);
    @Metadata(label = "advanced", defaultValue = "5s", description = "Without a worker in the registry: its heartbeat")
    private Duration heartbeatInterval = Duration.ofSeconds(5);
    @Metadata(label = "advanced", defaultValue = "30s", description = "Without a worker in the registry: a started task whose"
            + " worker sent no heartbeat for this long goes back to pgflow")
    private Duration deadWorkerAfter = Duration.ofSeconds(30);
    @Metadata(label = "advanced", defaultValue = "2s", description = "Without a worker in the registry: how often every followed run is read again")
    private Duration reconcileInterval = Duration.ofSeconds(2);
    @Metadata(defaultValue = "notify", enums = "notify,realtime", description = "Without a worker in the registry: what wakes"
            + " the reading of followed runs: PostgreSQL NOTIFY, or Supabase Realtime broadcasts (realtimeUrl, realtimeApiKey)")
    private String transport = "notify";
    @Metadata(description = "With transport realtime: the Supabase project URL or the Realtime websocket URL")
    private String realtimeUrl;
    @Metadata(secret = true, description = "With transport realtime: the project's anon (or publishable) key")
    private String realtimeApiKey;
    @Metadata(secret = true, description = "With transport realtime: the JWT sent with each channel join; the API key when empty")
    private String realtimeAccessToken;

    /** How long after the last reloaded step route started its flow's shape is installed. */
    static final Duration RELOAD_SETTLE = Duration.ofSeconds(1);
    private static final Logger log = LoggerFactory.getLogger(PgflowComponent.class);

    private FlowInstaller installer;
    private ScheduledExecutorService reloads;
    private final Map<String, ScheduledFuture<?>> pendingInstalls = new HashMap<>();
    private PgflowRuntime runtime;
    private final Map<String, PgflowEventConsumer> eventConsumers = new ConcurrentHashMap<>();
    /** The version of each flow installed from its step routes: its shape and slug (a hash: every run starts on it). */
    private final Map<String, Installed> installed = new ConcurrentHashMap<>();

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        String[] path = remaining.split("/", -1);
        if (path.length > 2 || ObjectHelper.isEmpty(path[0]) || path.length == 2 && ObjectHelper.isEmpty(path[1])) {
            throw new IllegalArgumentException("pgflow endpoints are pgflow:<flow> or pgflow:<flow>/<step>, not pgflow:" + remaining);
        }
        PgflowEndpoint endpoint = new PgflowEndpoint(uri, this, path[0], path.length == 2 ? path[1] : null);
        setProperties(endpoint, parameters);
        return endpoint;
    }

    /**
     * The worker, SQL client, step handlers and run events serving a flow, found or built when the first consumer or
     * producer starts, not before: endpoints can be created and read without a database ({@link PgflowCompile} does).
     * One flow per application has a worker.
     */
    synchronized PgflowRuntime runtime(String flow) throws Exception {
        if (runtime == null) {
            if (objectMapper == null) {
                objectMapper = getCamelContext().getRegistry().findSingleByType(ObjectMapper.class);
                objectMapper = objectMapper != null ? objectMapper : new ObjectMapper();
            }
            if (dataSource == null) {
                dataSource = required(DataSource.class);
            }
            installer = new FlowInstaller(dataSource);
            PgflowWorker worker = getCamelContext().getRegistry().findSingleByType(PgflowWorker.class);
            if (worker != null) {
                runtime = new PgflowRuntime(worker, required(PgflowSqlClient.class), required(StepHandlers.class),
                        required(RunEventSource.class));
            } else {
                MeterRegistry meters = getCamelContext().getRegistry().findSingleByType(MeterRegistry.class);
                runtime = new PgflowRuntime(getCamelContext(), dataSource, flow, objectMapper, meters != null ? meters : Metrics.globalRegistry, this);
                runtime.start();
            }
        }
        if (!runtime.worker().flow().equals(flow)) {
            throw new IllegalArgumentException("this application's pgflow worker serves flow '" + runtime.worker().flow()
                    + "', not '" + flow + "': one flow per application");
        }
        return runtime;
    }

    @Override
    protected synchronized void doStop() throws Exception {
        if (reloads != null) {
            getCamelContext().getExecutorServiceManager().shutdownNow(reloads);
            reloads = null;
        }
        if (runtime != null) {
            runtime.stop();
            runtime = null;
        }
        super.doStop();
    }

    private <T> T required(Class<T> type) {
        T found = getCamelContext().getRegistry().findSingleByType(type);
        if (found == null) {
            throw new IllegalStateException("the pgflow component needs a " + type.getSimpleName() + " in the registry");
        }
        return found;
    }

    /**
     * A step consumer of the flow starts. While Camel starts, every route is set up before any consumer starts, so the
     * flow's shape is whole and is installed at once (a mistake in it stops start-up). Routes reloaded at run time are
     * started one by one, so their shape is installed once they have all started: {@link #RELOAD_SETTLE} after the
     * last of them; until then new runs start on the version before.
     */
    void stepStarted(String flow) throws Exception {
        if (!getCamelContext().isStarted()) {
            install(flow);
            return;
        }
        synchronized (pendingInstalls) {
            ScheduledFuture<?> pending = pendingInstalls.remove(flow);
            if (pending != null) {
                pending.cancel(false);
            }
            pendingInstalls.put(flow, reloads().schedule(() -> {
                try {
                    install(flow);
                } catch (Exception e) {
                    log.error("The reloaded step routes of flow '{}' were not installed; new runs stay on {}: {}", flow,
                            currentVersion(flow), e.getMessage());
                }
            }, RELOAD_SETTLE.toMillis(), TimeUnit.MILLISECONDS));
        }
    }

    private synchronized ScheduledExecutorService reloads() {
        if (reloads == null) {
            reloads = getCamelContext().getExecutorServiceManager().newSingleThreadScheduledExecutor(this, "pgflow-reloaded-shapes");
        }
        return reloads;
    }

    /**
     * Installs the flow's shape as its started step routes declare it. A new shape is a new pgflow flow version; new
     * runs start on it, and the worker goes on serving older versions while they have runs (decision record 0016).
     */
    synchronized FlowShape install(String flow) throws Exception {
        List<Route> routes = new ArrayList<>();
        List<StepShape> steps = new ArrayList<>();
        for (Route route : getCamelContext().getRoutes()) {
            if (route.getConsumer() instanceof PgflowStepConsumer consumer && consumer.getEndpoint().getFlow().equals(flow)) {
                PgflowEndpoint step = consumer.getEndpoint();
                routes.add(route);
                steps.add(new StepShape(step.getStep(), step.dependencies(), step.getMaxAttempts(), step.getBaseDelay(), step.getTimeout()));
            }
        }
        FlowShape shape;
        try {
            shape = new FlowShape(flow, steps);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("The step routes of flow '" + flow + "' (" + describe(routes)
                    + ") do not make a pgflow flow: " + e.getMessage(), e);
        }
        PgflowRuntime serving = runtime(flow);
        Installed current = installed.get(flow);
        String version = shape.versionSlug();
        if (current == null || !current.version().equals(version)) {
            installer.install(shape);
            installed.put(flow, new Installed(shape, version));
        }
        serving.worker().serveCurrentVersion(version);
        return shape;
    }

    private static String describe(List<Route> routes) {
        return routes.stream().map(route -> "route " + route.getRouteId()
                + (route.getSourceResource() != null ? " in " + route.getSourceResource().getLocation() : ""))
                .collect(Collectors.joining(", "));
    }

    /** The version of the flow new runs start on: the one installed from this instance's step routes, else the flow's slug. */
    public String currentVersion(String flow) {
        Installed version = installed.get(flow);
        return version == null ? flow : version.version();
    }

    /** The flow's steps in the order pgflow runs them, as this instance's step routes declare them (none if it has none). */
    public List<String> steps(String flow) {
        Installed version = installed.get(flow);
        return version == null ? List.of() : version.shape().steps().stream().map(StepShape::slug).toList();
    }

    private record Installed(FlowShape shape, String version) {
    }

    void addEventConsumer(PgflowEventConsumer consumer) {
        PgflowEventConsumer previous = eventConsumers.putIfAbsent(consumer.getEndpoint().getFlow(), consumer);
        if (previous != null && previous != consumer) {
            throw new IllegalStateException("the events of flow '" + consumer.getEndpoint().getFlow()
                    + "' are consumed by two routes; one route per flow");
        }
    }

    void removeEventConsumer(PgflowEventConsumer consumer) {
        eventConsumers.remove(consumer.getEndpoint().getFlow(), consumer);
    }

    PgflowEventConsumer eventConsumer(String flow) {
        return eventConsumers.get(flow);
    }

    ObjectMapper objectMapper() {
        return objectMapper;
    }

    public DataSource getDataSource() {
        return dataSource;
    }

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public ObjectMapper getObjectMapper() {
        return objectMapper;
    }

    public void setObjectMapper(ObjectMapper objectMapper) {
        this.objectMapper = objectMapper;
    }

    public int getConcurrency() {
        return concurrency;
    }

    public void setConcurrency(int concurrency) {
        this.concurrency = concurrency;
    }

    public int getStreamedConcurrency() {
        return streamedConcurrency;
    }

    public void setStreamedConcurrency(int streamedConcurrency) {
        this.streamedConcurrency = streamedConcurrency;
    }

    public Duration getPollInterval() {
        return pollInterval;
    }

    public void setPollInterval(Duration pollInterval) {
        this.pollInterval = pollInterval;
    }

    public Duration getHeartbeatInterval() {
        return heartbeatInterval;
    }

    public void setHeartbeatInterval(Duration heartbeatInterval) {
        this.heartbeatInterval = heartbeatInterval;
    }

    public Duration getDeadWorkerAfter() {
        return deadWorkerAfter;
    }

    public void setDeadWorkerAfter(Duration deadWorkerAfter) {
        this.deadWorkerAfter = deadWorkerAfter;
    }

    public String getTransport() {
        return transport;
    }

    public void setTransport(String transport) {
        if (!"notify".equals(transport) && !"realtime".equals(transport)) {
            throw new IllegalArgumentException("transport is notify or realtime, not " + transport);
        }
        this.transport = transport;
    }

    public String getRealtimeUrl() {
        return realtimeUrl;
    }

    public void setRealtimeUrl(String realtimeUrl) {
        this.realtimeUrl = realtimeUrl;
    }

    public String getRealtimeApiKey() {
        return realtimeApiKey;
    }

    public void setRealtimeApiKey(String realtimeApiKey) {
        this.realtimeApiKey = realtimeApiKey;
    }

    public String getRealtimeAccessToken() {
        return realtimeAccessToken;
    }

    public void setRealtimeAccessToken(String realtimeAccessToken) {
        this.realtimeAccessToken = realtimeAccessToken;
    }

    public Duration getReconcileInterval() {
        return reconcileInterval;
    }

    public void setReconcileInterval(Duration reconcileInterval) {
        this.reconcileInterval = reconcileInterval;
    }
}
