package io.github.pgflowchat.pgflow;

import org.apache.camel.ProducerTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.PgNotificationListener;

/**
 * Wakes the worker when the queue of one of the flow's versions gets messages (each version's installation puts a
 * statement trigger on its queue). A version this worker did not serve yet (an older one a peer still starts) is served from now on.
 */
@Component
public class QueueNotifications {

    static final String CHANNEL = "pgmq_queue";

    public QueueNotifications(PgNotificationListener listener, ProducerTemplate producer, PgflowWorker worker) {
        listener.listen(CHANNEL, queue -> {
            if (worker.isVersionOfFlow(queue)) {
                worker.queueNotified(queue);
                producer.sendBody(PgflowWorkerRoutes.WAKE_UP, null);
            }
        });
        listener.onReconnect(() -> producer.sendBody(PgflowWorkerRoutes.WAKE_UP, null));
    }
}
