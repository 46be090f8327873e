package io.github.pgflowchat.llm;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ResourceLoader;

/** The prompt templates, read once at start-up from {@code gateway.prompts.location} (see {@link Prompts}). */
@Configuration(proxyBeanMethods = false)
public class PromptsConfiguration {

    @Bean
    Prompts prompts(ResourceLoader resources, @Value("${gateway.prompts.location}") String location) {
        return Prompts.load(resources, location);
    }
}
