package io.github.pgflowchat.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The PostgreSQL server the tests share (127.0.0.1:5432, database {@code test}, user postgres; override with
 * TEST_DATABASE_URL / TEST_DATABASE_USER). Before a test context migrates it, everything this project installs is
 * dropped, so every run starts from the same empty state whatever an earlier run left behind.
 */
public final class LocalPostgres {

    public static final String URL = System.getenv().getOrDefault("TEST_DATABASE_URL", "jdbc:postgresql://127.0.0.1:5432/test");
    public static final String USER = System.getenv().getOrDefault("TEST_DATABASE_USER", "postgres");
    public static final String PASSWORD = System.getenv().getOrDefault("TEST_DATABASE_PASSWORD", "");

    private LocalPostgres() {
    }

    public static void reset() {
        try (Connection connection = DriverManager.getConnection(URL, USER, PASSWORD);
             Statement statement = connection.createStatement()) {
            statement.execute("drop schema if exists pgflow, pgmq, realtime cascade");
            statement.execute("drop table if exists public.documents, public.gateway_worker_locks, public.gateway_rate_buckets, "
                    + "public.gateway_user_slots, public.gateway_chat_messages, public.gateway_chats, public.flyway_schema_history cascade");
            statement.execute("drop function if exists public.match_document_embeddings(real[], int)");
            statement.execute("drop function if exists public.notify_pgmq_queue(), public.notify_realtime_broadcast(), "
                    + "public.gateway_worker_lock_held(uuid), public.gateway_hold_worker_lock(uuid), "
                    + "public.gateway_take_slot(text, text, integer, uuid, uuid, bigint), "
                    + "public.gateway_record_question(text, text, text, text, jsonb, integer) cascade");
        } catch (SQLException e) {
            throw new IllegalStateException("The tests need PostgreSQL at " + URL + " (user " + USER + "): " + e.getMessage(), e);
        }
    }
}
