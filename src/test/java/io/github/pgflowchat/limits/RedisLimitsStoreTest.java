package io.github.pgflowchat.limits;

import java.time.Duration;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;

import io.github.pgflowchat.support.LocalRedis;

/** The Redis limit store on the tests' Redis server (database 12 unless TEST_REDIS_URL names one). */
class RedisLimitsStoreTest extends LimitsStoreContract {

    static final int DATABASE = 12;
    private static final Duration TIMEOUT = Duration.ofMillis(500);

    @Override
    SharedLimitsStore open(int port) {
        RedisClient client;
        if (port == 0) {
            client = LocalRedis.client(DATABASE, TIMEOUT);
        } else {
            RedisURI uri = RedisURI.create(LocalRedis.throughPort(LocalRedis.url(DATABASE), port));
            uri.setTimeout(TIMEOUT);
            client = RedisClient.create(uri);
        }
        closeAfter(client::shutdown);
        return new RedisLimitsStore(client, TIMEOUT);
    }

    @Override
    int serverPort() {
        return LocalRedis.port();
    }
}
