package io.github.pgflowchat.documents;

import java.util.List;
import java.util.stream.IntStream;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Writes documents into {@code public.documents}, chunked, replacing an earlier version from the same source. Each
 * chunk is stored with its plain text and, unless the caller leaves it to {@link EmbeddingBackfill}, its embedding:
 * both are computed before the transaction opens, so no connection is held while the model runs.
 */
@Component
public class DocumentIndex {

    static final int MAX_CHUNK_CHARS = 1500;

    private final JdbcTemplate jdbc;
    private final TransactionTemplate transaction;
    private final Embeddings embeddings;
    private final MarkdownChunker chunker = new MarkdownChunker(MAX_CHUNK_CHARS);

    public DocumentIndex(JdbcTemplate jdbc, TransactionTemplate transaction, Embeddings embeddings) {
        this.jdbc = jdbc;
        this.transaction = transaction;
        this.embeddings = embeddings;
    }

    /** Stores the document with its embeddings; returns the number of chunks stored for the source. */
    public int index(String source, String title, String markdown) {
        return index(source, title, markdown, true);
    }

    /**
     * Stores the document; without {@code embed}, its chunks rank by full-text search only until the backfill has
     * embedded them. Returns the number of chunks stored for the source.
     */
    public int index(String source, String title, String markdown, boolean embed) {
        List<MarkdownChunker.Chunk> chunks = chunker.chunks(title, markdown);
        List<String> plain = chunks.stream().map(chunk -> PlainText.of(chunk.content())).toList();
        List<float[]> vectors = embed
                ? embeddings.embedAll(IntStream.range(0, chunks.size()).mapToObj(i -> Embeddings.chunkText(chunks.get(i).title(), plain.get(i))).toList())
                : null;
        transaction.executeWithoutResult(status -> {
            jdbc.update("delete from public.documents where source = ? and chunk >= ?", source, chunks.size());
            for (int i = 0; i < chunks.size(); i++) {
                MarkdownChunker.Chunk chunk = chunks.get(i);
                jdbc.update("""
                        insert into public.documents (source, chunk, title, content, plain_content, embedding)
                        values (?, ?, ?, ?, ?, ?::real[])
                        on conflict (source, chunk) do update
                           set title = excluded.title, content = excluded.content, plain_content = excluded.plain_content,
                               embedding = excluded.embedding, updated_at = now()
                        """, source, i, chunk.title(), chunk.content(), plain.get(i),
                        vectors == null ? null : Embeddings.sqlArray(vectors.get(i)));
            }
        });
        return chunks.size();
    }

    public long count() {
        Long count = jdbc.queryForObject("select count(*) from public.documents", Long.class);
        return count == null ? 0 : count;
    }
}
