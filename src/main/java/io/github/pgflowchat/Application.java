package io.github.pgflowchat;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class Application {

    /**
     * Bytes of each read buffer of the JDK HTTP client (the model provider's client) unless the JVM was given
     * {@code -Djdk.httpclient.bufsize}: the JDK's default is 16 KiB, kept by each connection while its answer is
     * awaited, one connection per answer in flight (issue 13). The client reads it once, when first used.
     */
    static final String MODEL_CLIENT_BUFFER_BYTES = "4096";

    public static void main(String[] args) {
        if (System.getProperty("jdk.httpclient.bufsize") == null) {
            System.setProperty("jdk.httpclient.bufsize", MODEL_CLIENT_BUFFER_BYTES);
        }
        SpringApplication.run(Application.class, args);
    }
}
