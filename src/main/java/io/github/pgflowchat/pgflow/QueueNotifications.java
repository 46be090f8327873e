package io.github.pgflowchat.pgflow;

import org.apache.camel.ProducerTemplate;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.db.PgNotificationListener;

/** Wakes the worker when the flow's queue gets messages (the trigger from the chat_pipeline flow migration). */
@Component
class QueueNotifications {

    static final String CHANNEL = "pgmq_queue";

    QueueNotifications(PgNotificationListener listener, ProducerTemplate producer, @Value("${gateway.flow-slug}") String flowSlug) {
        listener.listen(CHANNEL, queue -> {
            if (flowSlug.equals(queue)) {
                producer.sendBody(PgflowWorkerRoutes.WAKE_UP, null);
            }
        });
        listener.onReconnect(() -> producer.sendBody(PgflowWorkerRoutes.WAKE_UP, null));
    }
}
