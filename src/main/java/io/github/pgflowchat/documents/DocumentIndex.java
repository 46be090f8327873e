package io.github.pgflowchat.documents;

import java.util.List;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

/** Writes documents into {@code public.documents}, chunked, replacing an earlier version from the same source. */
@Component
public class DocumentIndex {

    static final int MAX_CHUNK_CHARS = 1500;

    private final JdbcTemplate jdbc;
    private final MarkdownChunker chunker = new MarkdownChunker(MAX_CHUNK_CHARS);

    public DocumentIndex(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** Returns the number of chunks stored for the source. */
    @Transactional
    public int index(String source, String title, String markdown) {
        List<MarkdownChunker.Chunk> chunks = chunker.chunks(title, markdown);
        jdbc.update("delete from public.documents where source = ? and chunk >= ?", source, chunks.size());
        for (int i = 0; i < chunks.size(); i++) {
            MarkdownChunker.Chunk chunk = chunks.get(i);
            jdbc.update("""
                    insert into public.documents (source, chunk, title, content) values (?, ?, ?, ?)
                    on conflict (source, chunk) do update
                       set title = excluded.title, content = excluded.content, updated_at = now()
                    """, source, i, chunk.title(), chunk.content());
        }
        return chunks.size();
    }

    public long count() {
        Long count = jdbc.queryForObject("select count(*) from public.documents", Long.class);
        return count == null ? 0 : count;
    }
}
