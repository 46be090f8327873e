package io.github.pgflowchat.pgflow;

import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.PgNotificationListener;

/**
 * The worker is healthy while it is registered with pgflow, holds its lock (without it peers take this instance for
 * gone) and hears about new tasks.
 */
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
        boolean healthy = worker.isRegistered() && worker.holdsLock() && listener.isConnected();
        return (healthy ? Health.up() : Health.down()).withDetail("workerId", worker.workerId())
                .withDetail("registered", worker.isRegistered())
                .withDetail("lock", worker.holdsLock() ? "held" : "lost")
                .withDetail("notificationsConnected", listener.isConnected())
                .withDetail("tasksInFlight", worker.inFlight())
                .build();
    }
}
