package io.github.pgflowchat.documents;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Fills in the plain text and embedding of chunks that lack them (the seeded corpus, rows written before embeddings
 * existed), a few at a time on one background thread, so start-up does not wait for the model. A chunk changed
 * meanwhile is left to the write that changed it. Until a chunk is embedded it ranks by full-text search only.
 */
@Component
@Order(Ordered.LOWEST_PRECEDENCE)
public class EmbeddingBackfill implements ApplicationRunner, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddingBackfill.class);
    private static final int BATCH = 16;
    private static final Duration RETRY_AFTER = Duration.ofSeconds(30);

    private record Pending(long id, String title, String content) {
    }

    private final JdbcTemplate jdbc;
    private final Embeddings embeddings;
    private volatile Thread thread;

    EmbeddingBackfill(JdbcTemplate jdbc, Embeddings embeddings) {
        this.jdbc = jdbc;
        this.embeddings = embeddings;
    }

    @Override
    public void run(ApplicationArguments args) {
        request();
    }

    /** Embeds what lacks an embedding now, on the background thread (started if it is not running). */
    synchronized void request() {
        Thread running = thread;
        if (running == null || !running.isAlive()) {
            thread = Thread.ofPlatform().daemon().name("document-embeddings").start(this::fill);
        }
    }

    private void fill() {
        long started = System.nanoTime();
        int filled = 0;
        while (!Thread.currentThread().isInterrupted()) {
            try {
                List<Pending> pending = jdbc.query("""
                        select id, title, content from public.documents
                         where embedding is null or plain_content is null
                         order by id limit ?
                        """, (row, n) -> new Pending(row.getLong(1), row.getString(2), row.getString(3)), BATCH);
                if (pending.isEmpty()) {
                    break;
                }
                List<String> plain = pending.stream().map(p -> PlainText.of(p.content())).toList();
                List<float[]> vectors = embeddings.embedAll(IntStream.range(0, pending.size())
                        .mapToObj(i -> Embeddings.chunkText(pending.get(i).title(), plain.get(i))).toList());
                for (int i = 0; i < pending.size(); i++) {
                    Pending chunk = pending.get(i);
                    jdbc.update("update public.documents set plain_content = ?, embedding = ?::real[] where id = ? and content = ?",
                            plain.get(i), Embeddings.sqlArray(vectors.get(i)), chunk.id(), chunk.content());
                }
                filled += pending.size();
            } catch (DataAccessException e) {
                log.warn("Embedding chunks paused for {} s: {}", RETRY_AFTER.toSeconds(), e.getMostSpecificCause().getMessage());
                try {
                    Thread.sleep(RETRY_AFTER);
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
        if (filled > 0) {
            log.info("Embedded {} chunks in {} ms", filled, (System.nanoTime() - started) / 1_000_000);
        }
    }

    /** Waits until the chunks that lacked an embedding when it was last requested have one (tests, benchmarks). */
    public boolean awaitDone(Duration timeout) throws InterruptedException {
        Thread running = thread;
        return running == null || running.join(timeout);
    }

    @Override
    public void close() {
        Thread running = thread;
        if (running != null) {
            running.interrupt();
        }
    }
}
