package io.github.pgflowchat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.core.util.RecyclerPool;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

class JsonBuffersConfigurationTest {

    private final ApplicationContextRunner context = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(JacksonAutoConfiguration.class))
            .withUserConfiguration(JsonBuffersConfiguration.class);

    @Test
    void theApplicationsObjectMapperBorrowsItsBuffersFromOneSharedPool() {
        context.run(app -> {
            ObjectMapper json = app.getBean(ObjectMapper.class);
            RecyclerPool<BufferRecycler> pool = json.getFactory()._getRecyclerPool();
            assertThat(pool).isSameAs(JsonRecyclerPools.sharedBoundedPool());

            // The buffers a virtual thread parsed with are back in the pool once it is done (a thread-local pool,
            // Jackson's default, counts none: -1).
            Thread.ofVirtual().start(() -> {
                try {
                    json.readTree("{\"question\": \"what does it cost?\"}");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).join();
            assertThat(pool.pooledCount()).isPositive();
        });
    }
}
