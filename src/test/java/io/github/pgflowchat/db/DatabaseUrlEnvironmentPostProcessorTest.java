package io.github.pgflowchat.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.entry;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

class DatabaseUrlEnvironmentPostProcessorTest {

    @Test
    void postgresUrlBecomesJdbcUrlWithDecodedCredentials() {
        Map<String, Object> properties = DatabaseUrlEnvironmentPostProcessor.toDatasourceProperties(
                "postgres://user:p%40ss@db.example.com:6543/app?sslmode=require");

        assertThat(properties).containsOnly(
                entry("spring.datasource.url", "jdbc:postgresql://db.example.com:6543/app?sslmode=require"),
                entry("spring.datasource.username", "user"),
                entry("spring.datasource.password", "p@ss"));
    }

    @Test
    void postgresqlSchemeIsAcceptedAndPortDefaultsTo5432() {
        Map<String, Object> properties = DatabaseUrlEnvironmentPostProcessor.toDatasourceProperties(
                "postgresql://admin:secret@localhost/chat");

        assertThat(properties).containsOnly(
                entry("spring.datasource.url", "jdbc:postgresql://localhost:5432/chat"),
                entry("spring.datasource.username", "admin"),
                entry("spring.datasource.password", "secret"));
    }

    @Test
    void urlWithoutCredentialsSetsOnlyTheJdbcUrl() {
        assertThat(DatabaseUrlEnvironmentPostProcessor.toDatasourceProperties("postgres://db:5433/app"))
                .containsOnly(entry("spring.datasource.url", "jdbc:postgresql://db:5433/app"));
    }

    @Test
    void jdbcUrlPassesThroughUnchanged() {
        String jdbcUrl = "jdbc:postgresql://db.example.com:5432/app?user=u&password=p";

        assertThat(DatabaseUrlEnvironmentPostProcessor.toDatasourceProperties(jdbcUrl))
                .containsOnly(entry("spring.datasource.url", jdbcUrl));
    }

    @Test
    void plusInThePasswordStaysAPlus() {
        Map<String, Object> properties = DatabaseUrlEnvironmentPostProcessor.toDatasourceProperties("postgres://u:pa+ss@db:5432/app");

        assertThat(properties).containsEntry("spring.datasource.password", "pa+ss");
    }

    @Test
    void hostNameTheDriverCannotUseIsRefusedInsteadOfBecomingNull() {
        assertThatThrownBy(() -> DatabaseUrlEnvironmentPostProcessor.toDatasourceProperties("postgres://u:secret@db_1:5432/app"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("db_1")
                .hasMessageNotContaining("secret");
    }

    @Test
    void otherSchemesAreRefused() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> DatabaseUrlEnvironmentPostProcessor.toDatasourceProperties("mysql://u:p@db:3306/app"))
                .withMessageContaining("postgres://");
    }

    @Test
    void databaseUrlInTheEnvironmentAddsDatasourceProperties() {
        StandardEnvironment environment = environmentWith(Map.of("DATABASE_URL", " postgres://u:p@db:6543/app "));

        new DatabaseUrlEnvironmentPostProcessor().postProcessEnvironment(environment, new SpringApplication());

        assertThat(environment.getProperty("spring.datasource.url")).isEqualTo("jdbc:postgresql://db:6543/app");
        assertThat(environment.getProperty("spring.datasource.username")).isEqualTo("u");
        assertThat(environment.getProperty("spring.datasource.password")).isEqualTo("p");
    }

    @Test
    void explicitDatasourceUrlWinsOverDatabaseUrl() {
        StandardEnvironment environment = environmentWith(Map.of(
                "DATABASE_URL", "postgres://u:p@db:6543/app",
                "spring.datasource.url", "jdbc:postgresql://explicit:5432/app"));

        new DatabaseUrlEnvironmentPostProcessor().postProcessEnvironment(environment, new SpringApplication());

        assertThat(environment.getProperty("spring.datasource.url")).isEqualTo("jdbc:postgresql://explicit:5432/app");
        assertThat(environment.getProperty("spring.datasource.username")).isNull();
        assertThat(environment.getPropertySources().contains("databaseUrl")).isFalse();
    }

    @Test
    void emptyDatabaseUrlAddsNothing() {
        StandardEnvironment environment = environmentWith(Map.of("DATABASE_URL", "  "));

        new DatabaseUrlEnvironmentPostProcessor().postProcessEnvironment(environment, new SpringApplication());

        assertThat(environment.getPropertySources().contains("databaseUrl")).isFalse();
        assertThat(environment.getProperty("spring.datasource.url")).isNull();
    }

    private static StandardEnvironment environmentWith(Map<String, Object> values) {
        // Only the given values: the real process environment may hold a DATABASE_URL of its own.
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME);
        environment.getPropertySources().remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        environment.getPropertySources().addFirst(new MapPropertySource("test", new HashMap<>(values)));
        return environment;
    }
}
