package io.github.pgflowchat.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.io.ClassPathResource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.LocalPostgres;

/**
 * {@code EVENTS_SOURCE=notify} on a database whose {@code realtime.send} is Supabase's (a test double of its schema,
 * on a database of its own): the stand-in is not applied, Supabase's send NOTIFYs nothing, and the chat still
 * completes, woken by the trigger on {@code realtime.messages}. The reconciler's timer is off, so it cannot be what
 * saves the chat.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.events.source=notify",
        "gateway.llm.offline.token-delay=1ms",
        "gateway.events.reconcile-interval=10m"
})
class NotifyOnSupabaseRealtimeTest {

    private static final String URL = LocalPostgres.URL + "_supabase";

    @DynamicPropertySource
    static void supabaseShapedDatabase(DynamicPropertyRegistry registry) throws Exception {
        String database = URL.substring(URL.lastIndexOf('/') + 1);
        try (Connection connection = DriverManager.getConnection(LocalPostgres.URL, LocalPostgres.USER, LocalPostgres.PASSWORD);
             Statement statement = connection.createStatement()) {
            statement.execute("drop database if exists " + database + " with (force)");
            statement.execute("create database " + database);
        }
        String schema = new ClassPathResource("supabase/realtime-schema.sql").getContentAsString(StandardCharsets.UTF_8);
        try (Connection connection = DriverManager.getConnection(URL, LocalPostgres.USER, LocalPostgres.PASSWORD);
             Statement statement = connection.createStatement()) {
            statement.execute(schema);
        } catch (SQLException e) {
            throw new IllegalStateException("could not install the Supabase-shaped realtime schema", e);
        }
        registry.add("spring.datasource.url", () -> URL);
        registry.add("spring.datasource.username", () -> LocalPostgres.USER);
        registry.add("spring.datasource.password", () -> LocalPostgres.PASSWORD);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void aChatCompletesOverNotifyWhereRealtimeSendIsSupabases() throws Exception {
        assertThat(jdbc.queryForObject("select count(*) from flyway_schema_history where version = '20250429164901'", Integer.class))
                .as("the realtime.send stand-in is not applied").isZero();
        ChatClient client = new ChatClient(port);

        // Bounded: a stream that nothing wakes would stay open for its whole maximum duration.
        ChatClient.StreamResponse response = client.postChatAsync(ChatClient.chatBody("chat-supabase-notify", "How do I run the tests?"), event -> { })
                .get(60, TimeUnit.SECONDS);

        CompletedChat.assertCompleted(response, client, jdbc);
        assertThat(jdbc.queryForObject("select count(*) from realtime.messages where topic = ?", Integer.class, "pgflow:run:" + response.runId()))
                .as("pgflow's broadcasts went through Supabase's realtime.send").isPositive();
    }
}
