package io.github.pgflowchat.documents;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import org.springframework.stereotype.Component;

/**
 * Sentence embeddings computed in this process by LangChain4j's quantized all-MiniLM-L6-v2 (its ONNX weights and
 * tokenizer ship inside the Maven artifact; nothing is downloaded). Vectors are unit length, so their dot product is
 * their cosine similarity. Used for chunks when they are written and for the question of each search.
 */
@Component
public class Embeddings {

    /** The model's output size; the {@code documents.embedding} column holds vectors of this many values. */
    public static final int DIMENSIONS = 384;

    static {
        // The tokenizer's library (DJL) would otherwise try to report usage over the network on first load.
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("ai.djl.offline", "true");
    }

    // Loaded on a thread of its own (a few seconds) while the rest of the application starts; the first embedding
    // waits for it. Its default executor is a small pool of platform threads, one per core: inference is CPU-bound
    // native code, which would hold virtual threads' carriers.
    private final CompletableFuture<EmbeddingModel> model = new CompletableFuture<>();

    public Embeddings() {
        Thread.ofPlatform().daemon().name("embedding-model-load").start(() -> {
            try {
                model.complete(new AllMiniLmL6V2QuantizedEmbeddingModel());
            } catch (RuntimeException | Error e) {
                model.completeExceptionally(e);
            }
        });
    }

    private EmbeddingModel model() {
        try {
            return model.join();
        } catch (CompletionException e) {
            throw new IllegalStateException("The embedding model could not be loaded: " + e.getCause().getMessage(), e.getCause());
        }
    }

    public float[] embed(String text) {
        return unit(model().embed(text).content().vector());
    }

    /** One vector per text, in order. */
    public List<float[]> embedAll(List<String> texts) {
        if (texts.isEmpty()) {
            return List.of();
        }
        return model().embedAll(texts.stream().map(TextSegment::from).toList()).content().stream()
                .map(Embedding::vector).map(Embeddings::unit).toList();
    }

    /** The vector as a PostgreSQL array literal ({@code {0.1,-0.2,...}}), for a {@code real[]} parameter. */
    public static String sqlArray(float[] vector) {
        StringBuilder literal = new StringBuilder(vector.length * 12).append('{');
        for (int i = 0; i < vector.length; i++) {
            if (i > 0) {
                literal.append(',');
            }
            // Float.toString: the shortest decimal that reads back as the same float, whatever the locale.
            literal.append(vector[i]);
        }
        return literal.append('}').toString();
    }

    /** The text a chunk is embedded as: its title, then its plain text ({@link PlainText#of}). */
    static String chunkText(String title, String plainText) {
        return title + "\n" + plainText;
    }

    private static float[] unit(float[] vector) {
        double norm = 0;
        for (float value : vector) {
            norm += value * value;
        }
        if (norm == 0) {
            return vector;
        }
        float scale = (float) (1 / Math.sqrt(norm));
        float[] unit = new float[vector.length];
        for (int i = 0; i < vector.length; i++) {
            unit[i] = vector[i] * scale;
        }
        return unit;
    }
}
