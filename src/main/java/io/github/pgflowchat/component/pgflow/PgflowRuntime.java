package io.github.pgflowchat.component.pgflow;

import java.time.Duration;

import javax.sql.DataSource;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.StartupListener;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import io.github.pgflowchat.db.PgNotificationListener;
import io.github.pgflowchat.events.FollowedRuns;
import io.github.pgflowchat.events.NotifyRunEventSource;
import io.github.pgflowchat.events.RunEventSource;
import io.github.pgflowchat.events.RunStates;
import io.github.pgflowchat.pgflow.PgflowSqlClient;
import io.github.pgflowchat.pgflow.PgflowWorker;
import io.github.pgflowchat.pgflow.PgflowWorkerRoutes;
import io.github.pgflowchat.pgflow.QueueNotifications;
import io.github.pgflowchat.pgflow.StepHandlers;
import io.github.pgflowchat.pgflow.StepInvoker;
import io.github.pgflowchat.pgflow.WorkerProperties;
import io.github.pgflowchat.realtime.RealtimeProperties;
import io.github.pgflowchat.realtime.RealtimeRunEventSource;

/**
 * The worker and the run events of one flow, built from a {@code DataSource} for an application that has no worker of
 * its own in the registry (a plain Camel application, say). The same parts as the chat gateway's Spring wiring: the
 * worker with its lock, heartbeat and sweep, its routes, the LISTEN connection that wakes it, and run events read
 * from pgflow's tables on each hint (a NOTIFY, or a Supabase Realtime broadcast with transport realtime) and on a
 * reconcile timer.
 */
final class PgflowRuntime {

    private final PgNotificationListener listener;
    private final FollowedRuns followedRuns;
    private final PgflowWorker worker;
    private final PgflowSqlClient sqlClient;
    private final StepHandlers stepHandlers;
    private final RunEventSource runEvents;
    private final ProducerTemplate wakeUps;

    /** The parts an application already has (the chat gateway's Spring beans): nothing to start or stop here. */
    PgflowRuntime(PgflowWorker worker, PgflowSqlClient sqlClient, StepHandlers stepHandlers, RunEventSource runEvents) {
        this.worker = worker;
        this.sqlClient = sqlClient;
        this.stepHandlers = stepHandlers;
        this.runEvents = runEvents;
        worker.reportCommittedSteps(runEvents.committedSteps());
        this.listener = null;
        this.followedRuns = null;
        this.wakeUps = null;
    }

    PgflowRuntime(CamelContext camel, DataSource dataSource, String flow, ObjectMapper json, MeterRegistry meters,
                  PgflowComponent options) throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(dataSource);
        TransactionTemplate transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        WorkerProperties properties = new WorkerProperties(options.getConcurrency(), options.getStreamedConcurrency(), 5, options.getPollInterval(),
                options.getHeartbeatInterval(), Duration.ofSeconds(30), options.getDeadWorkerAfter(), Duration.ofSeconds(2),
                Duration.ofSeconds(2));
        sqlClient = new PgflowSqlClient(jdbc, json, transactions);
        stepHandlers = new StepHandlers();
        StepInvoker invoker = new StepInvoker(stepHandlers, json);
        worker = new PgflowWorker(sqlClient, jdbc, dataSource, properties, flow, invoker, stepHandlers, meters);
        listener = new PgNotificationListener(dataSource, Duration.ofSeconds(5));
        followedRuns = new FollowedRuns(new RunStates(jdbc, json), options.getReconcileInterval());
        if ("realtime".equals(options.getTransport())) {
            if (options.getRealtimeUrl() == null || options.getRealtimeApiKey() == null) {
                throw new IllegalArgumentException("the pgflow component's transport realtime needs realtimeUrl and realtimeApiKey");
            }
            runEvents = new RealtimeRunEventSource(followedRuns, json, new RealtimeProperties(options.getRealtimeUrl(),
                    options.getRealtimeApiKey(), options.getRealtimeAccessToken(), "2.0.0", Duration.ofSeconds(25),
                    Duration.ofSeconds(10)), meters);
        } else {
            runEvents = new NotifyRunEventSource(jdbc, json, listener, followedRuns);
        }
        worker.reportCommittedSteps(runEvents.committedSteps());
        wakeUps = camel.createProducerTemplate();
        new QueueNotifications(listener, wakeUps, worker);
        // The worker's own routes: while Camel starts (a step consumer is starting now) routes added are not started,
        // so they are added once Camel has started.
        PgflowWorkerRoutes routes = new PgflowWorkerRoutes(properties, worker, invoker);
        if (camel.isStarted()) {
            camel.addRoutes(routes);
        } else {
            camel.addStartupListener(new StartupListener() {
                @Override
                public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
                }

                @Override
                public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) throws Exception {
                    context.addRoutes(routes);
                }
            });
        }
        // Before Camel stops the step routes: their tasks go back to pgflow at once, without using up an attempt.
        camel.getManagementStrategy().addEventNotifier(new EventNotifierSupport() {
            @Override
            public boolean isEnabled(CamelEvent event) {
                return event instanceof CamelEvent.CamelContextStoppingEvent;
            }

            @Override
            public void notify(CamelEvent event) {
                worker.stop();
            }
        });
    }

    void start() throws Exception {
        if (listener == null) {
            return;
        }
        listener.start();
        worker.afterPropertiesSet();
    }

    void stop() {
        if (listener == null) {
            return;
        }
        worker.destroy();
        if (runEvents instanceof RealtimeRunEventSource realtime) {
            realtime.destroy();
        }
        listener.stop();
        followedRuns.destroy();
        wakeUps.stop();
    }

    PgflowWorker worker() {
        return worker;
    }

    PgflowSqlClient sqlClient() {
        return sqlClient;
    }

    StepHandlers stepHandlers() {
        return stepHandlers;
    }

    RunEventSource runEvents() {
        return runEvents;
    }
}
