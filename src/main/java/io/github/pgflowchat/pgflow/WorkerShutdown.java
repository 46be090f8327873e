package io.github.pgflowchat.pgflow;

import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationListener;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.stereotype.Component;

/**
 * Spring publishes the closed event before it stops anything: the web server still drains its requests, Camel's
 * routes still run and the pool is open, so the worker hands its tasks back before the step routes are stopped.
 */
@Component
class WorkerShutdown implements ApplicationListener<ContextClosedEvent> {

    private final PgflowWorker worker;
    private final ApplicationContext context;

    WorkerShutdown(PgflowWorker worker, ApplicationContext context) {
        this.worker = worker;
        this.context = context;
    }

    @Override
    public void onApplicationEvent(ContextClosedEvent event) {
        if (event.getApplicationContext() == context) {
            worker.stop();
        }
    }
}
