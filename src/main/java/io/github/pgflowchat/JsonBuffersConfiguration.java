package io.github.pgflowchat;

import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import org.springframework.boot.autoconfigure.jackson.Jackson2ObjectMapperBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The application's ObjectMapper takes its parsers' and generators' buffers from one bounded pool shared by all
 * threads. Jackson's default pool keeps them per thread, in a thread-local: each virtual thread that once parsed or
 * wrote JSON kept its own char buffers (about 8 KiB each) for as long as it lived, and an open chat stream has two
 * such threads for the whole answer, the request's and the respond task's (issue 13: 27.8 KiB of live heap per open
 * stream at 500 streams). A buffer is borrowed for one parse or write and handed back, so the pool holds about as
 * many as are in use at once, at most {@code JsonRecyclerPools.BoundedPool}'s default capacity.
 */
@Configuration(proxyBeanMethods = false)
class JsonBuffersConfiguration {

    @Bean
    Jackson2ObjectMapperBuilderCustomizer sharedJsonBuffers() {
        return builder -> builder.postConfigurer(mapper -> mapper.getFactory().setRecyclerPool(JsonRecyclerPools.sharedBoundedPool()));
    }
}
