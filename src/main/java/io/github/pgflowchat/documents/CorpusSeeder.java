package io.github.pgflowchat.documents;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import org.springframework.stereotype.Component;

/**
 * Gives an empty database something to search: the project's own documentation (README and docs/, packaged under
 * {@code corpus/} by the build), chunked by section. Runs once, when {@code public.documents} is empty; the chunks are embedded afterwards, in the
 * background ({@link EmbeddingBackfill}).
 */
@Component
@ConditionalOnProperty(name = "gateway.search.seed-corpus", havingValue = "true", matchIfMissing = true)
class CorpusSeeder implements ApplicationRunner {

    private static final Logger log = LoggerFactory.getLogger(CorpusSeeder.class);
    private static final String CORPUS = "classpath*:corpus/**/*.md";

    private final DocumentIndex index;
    private final EmbeddingBackfill embeddings;

    CorpusSeeder(DocumentIndex index, EmbeddingBackfill embeddings) {
        this.index = index;
        this.embeddings = embeddings;
    }

    @Override
    public void run(ApplicationArguments args) throws IOException {
        if (index.count() > 0) {
            return;
        }
        int chunks = 0;
        Resource[] documents = new PathMatchingResourcePatternResolver().getResources(CORPUS);
        for (Resource document : documents) {
            String path = document.getURL().toString();
            String source = path.substring(path.lastIndexOf("corpus/") + "corpus/".length());
            try (InputStream in = document.getInputStream()) {
                String markdown = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                chunks += index.index(source, source, markdown, false);
            }
        }
        log.info("Seeded the search corpus with {} chunks from {} documents; embedding them in the background", chunks, documents.length);
        embeddings.request();
    }
}
