package io.github.pgflowchat.support;

import java.net.URI;
import java.time.Duration;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;

/**
 * The Redis server the tests use: TEST_REDIS_URL, by default {@code redis://127.0.0.1:6379}. A URL without a database
 * number gives each test class the database it asks for (README, Run the tests); a URL with one puts every class in
 * that database. Tests touch only keys of their own (random user ids) and never flush a database.
 */
public final class LocalRedis {

    public static final String URL = System.getenv().getOrDefault("TEST_REDIS_URL", "redis://127.0.0.1:6379");

    private LocalRedis() {
    }

    /** The URL of the test class's database {@code database}, unless TEST_REDIS_URL names one. */
    public static String url(int database) {
        String path = URI.create(URL).getPath();
        if (path != null && path.length() > 1) {
            return URL;
        }
        return URL.replaceAll("/+$", "") + "/" + database;
    }

    /** A client of {@link #url(int)}, checked to answer; a clear failure when Redis is not there. */
    public static RedisClient client(int database, Duration timeout) {
        RedisURI uri = RedisURI.create(url(database));
        uri.setTimeout(timeout);
        RedisClient client = RedisClient.create(uri);
        try (var connection = client.connect()) {
            connection.sync().ping();
        } catch (RuntimeException e) {
            client.shutdown();
            throw new IllegalStateException("The tests need Redis at " + url(database) + " (TEST_REDIS_URL): " + e.getMessage(), e);
        }
        return client;
    }

    /** {@code url} with its host and port replaced by 127.0.0.1:{@code port} (a proxy in front of it). */
    public static String throughPort(String url, int port) {
        URI uri = URI.create(url);
        return uri.getScheme() + "://" + (uri.getUserInfo() == null ? "" : uri.getUserInfo() + "@") + "127.0.0.1:" + port
                + (uri.getPath() == null ? "" : uri.getPath());
    }

    public static int port() {
        int port = URI.create(URL).getPort();
        return port < 0 ? 6379 : port;
    }
}
