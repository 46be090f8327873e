package io.github.pgflowchat.db;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Turns {@code DATABASE_URL} (the {@code postgres://user:pass@host:port/db?sslmode=…} form that Supabase, Heroku and
 * most PaaS print, or a plain {@code jdbc:postgresql:} URL) into Spring datasource properties. Explicit
 * {@code spring.datasource.*} settings win. Without either, the embedded PostgreSQL is used.
 */
public class DatabaseUrlEnvironmentPostProcessor implements EnvironmentPostProcessor {

    static final String DATABASE_URL = "DATABASE_URL";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        String databaseUrl = environment.getProperty(DATABASE_URL, "").trim();
        if (databaseUrl.isEmpty() || environment.containsProperty("spring.datasource.url")) {
            return;
        }
        environment.getPropertySources().addLast(new MapPropertySource("databaseUrl", toDatasourceProperties(databaseUrl)));
    }

    static Map<String, Object> toDatasourceProperties(String databaseUrl) {
        Map<String, Object> properties = new HashMap<>();
        if (databaseUrl.startsWith("jdbc:")) {
            properties.put("spring.datasource.url", databaseUrl);
            return properties;
        }
        URI uri = URI.create(databaseUrl);
        if (!"postgres".equals(uri.getScheme()) && !"postgresql".equals(uri.getScheme())) {
            throw new IllegalArgumentException("DATABASE_URL must start with postgres://, postgresql:// or jdbc:postgresql:");
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("DATABASE_URL has no host name this driver can use (host names may not contain '_'): "
                    + uri.getScheme() + "://…@" + uri.getRawAuthority().replaceFirst("^.*@", ""));
        }
        int port = uri.getPort() == -1 ? 5432 : uri.getPort();
        String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        properties.put("spring.datasource.url", "jdbc:postgresql://" + uri.getHost() + ":" + port + uri.getRawPath() + query);
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null) {
            String[] parts = userInfo.split(":", 2);
            properties.put("spring.datasource.username", decode(parts[0]));
            if (parts.length == 2) {
                properties.put("spring.datasource.password", decode(parts[1]));
            }
        }
        return properties;
    }

    /** Percent-decoding only: URLDecoder alone would turn a literal '+' (legal in a password) into a space. */
    private static String decode(String userInfoPart) {
        return URLDecoder.decode(userInfoPart.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
