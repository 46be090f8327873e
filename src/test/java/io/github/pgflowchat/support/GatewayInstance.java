package io.github.pgflowchat.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * One gateway instance in the test's JVM, a Spring context of its own on a given database: several of them on one
 * database (and one Redis) are instances behind a load balancer, each with its worker, its streams and its port.
 */
public final class GatewayInstance implements AutoCloseable {

    /** The Redis the tests use: TEST_REDIS_URL, or the one at 127.0.0.1:6379. */
    public static final String REDIS_URL = System.getenv().getOrDefault("TEST_REDIS_URL", "redis://127.0.0.1:6379");

    private final ConfigurableApplicationContext context;

    private GatewayInstance(ConfigurableApplicationContext context) {
        this.context = context;
    }

    /** Starts an instance on {@code database} (of the tests' server, see {@link OwnDatabase}) with these properties. */
    public static GatewayInstance start(String database, Map<String, String> properties) {
        List<String> args = new ArrayList<>(List.of(
                "--server.port=0",
                // An inherited DATABASE_URL would replace the database under test.
                "--DATABASE_URL=",
                "--spring.datasource.url=" + OwnDatabase.url(database),
                "--spring.datasource.username=" + LocalPostgres.USER,
                "--spring.datasource.password=" + LocalPostgres.PASSWORD,
                "--gateway.chat.limits.requests-per-minute=100000"));
        properties.forEach((name, value) -> args.add("--" + name + "=" + value));
        return new GatewayInstance(new SpringApplication(io.github.pgflowchat.Application.class).run(args.toArray(String[]::new)));
    }

    /** The settings that point both models at a mock OpenAI-compatible server. */
    public static Map<String, String> providedBy(PacedOpenAi provider) {
        return Map.of("gateway.llm.provider", "openai", "gateway.llm.openai.api-key", "test-key",
                "gateway.llm.openai.base-url", provider.baseUrl(), "gateway.llm.openai.model", "paced");
    }

    /** A loopback port nothing listens on: a Redis URL with it is a Redis that is down. */
    public static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    public int port() {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    public ChatClient client() {
        return new ChatClient(port());
    }

    public <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    @Override
    public void close() {
        context.close();
    }
}
