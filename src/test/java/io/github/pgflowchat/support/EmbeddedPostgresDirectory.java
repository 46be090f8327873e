package io.github.pgflowchat.support;

import java.nio.file.Path;
import java.util.UUID;

import org.springframework.test.context.DynamicPropertyRegistry;

/** Points a test context at the embedded default with a data directory of its own under target/. */
public final class EmbeddedPostgresDirectory {

    private EmbeddedPostgresDirectory() {
    }

    public static Path register(DynamicPropertyRegistry registry) {
        Path dataDir = Path.of("target", "embedded-postgres", UUID.randomUUID().toString());
        // An inherited DATABASE_URL would silently replace the embedded server under test.
        registry.add("DATABASE_URL", () -> "");
        registry.add("gateway.embedded-postgres.data-dir", dataDir::toString);
        return dataDir;
    }
}
