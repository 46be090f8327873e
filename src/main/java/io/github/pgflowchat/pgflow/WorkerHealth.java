package io.github.pgflowchat.pgflow;

import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.PgNotificationListener;

/** The worker is healthy while it is registered with pgflow and hears about new tasks. */
@Component("pgflowWorkerHealthIndicator")
class WorkerHealth implements HealthIndicator {

    private final PgflowWorker worker;
    private final PgNotificationListener listener;

    WorkerHealth(PgflowWorker worker, PgNotificationListener listener) {
        this.worker = worker;
        this.listener = listener;
    }

    @Override
    public Health health() {
        Health.Builder health = worker.isRegistered() && listener.isConnected() ? Health.up() : Health.down();
        return health.withDetail("workerId", worker.workerId())
                .withDetail("registered", worker.isRegistered())
                .withDetail("notificationsConnected", listener.isConnected())
                .withDetail("tasksInFlight", worker.inFlight())
                .build();
    }
}
