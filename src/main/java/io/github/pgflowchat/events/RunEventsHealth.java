package io.github.pgflowchat.events;

import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.stereotype.Component;

/** Whether run events currently reach this instance; while they do not, chat streams fall behind. */
@Component("runEventsHealthIndicator")
class RunEventsHealth implements HealthIndicator {

    private final RunEventSource source;

    RunEventsHealth(RunEventSource source) {
        this.source = source;
    }

    @Override
    public Health health() {
        return (source.isConnected() ? Health.up() : Health.down())
                .withDetail("source", source.getClass().getSimpleName())
                .build();
    }
}
