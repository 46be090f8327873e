package io.github.pgflowchat.bench;

import java.util.List;
import java.util.Locale;

import org.springframework.boot.SpringApplication;
import org.springframework.context.support.GenericApplicationContext;

import io.github.pgflowchat.documents.Embeddings;

/**
 * Embeddings whose work is negligible, for the throughput benchmark's pipeline-cost rows: each lower-cased word
 * hashed into one of the {@value Embeddings#DIMENSIONS} dimensions, the vector made unit length. Deterministic, so
 * the offline answer still picks sentences sharing the question's words; all-MiniLM-L6-v2 (some 20 ms of CPU per
 * question, more per answer's candidate sentences) is the steps' own work, which issue 13's item 6 leaves out.
 */
final class CheapEmbeddings extends Embeddings {

    /** Registers this as the primary {@link Embeddings} bean of the application, in place of the model's. */
    static void use(SpringApplication application) {
        application.addInitializers(context -> ((GenericApplicationContext) context)
                .registerBean("cheapEmbeddings", Embeddings.class, CheapEmbeddings::new, definition -> definition.setPrimary(true)));
    }

    @Override
    public float[] embed(String text) {
        float[] vector = new float[DIMENSIONS];
        for (String word : text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
            if (!word.isEmpty()) {
                vector[Math.floorMod(word.hashCode(), DIMENSIONS)] += 1;
            }
        }
        double norm = 0;
        for (float value : vector) {
            norm += value * value;
        }
        if (norm > 0) {
            float scale = (float) (1 / Math.sqrt(norm));
            for (int i = 0; i < vector.length; i++) {
                vector[i] *= scale;
            }
        }
        return vector;
    }

    @Override
    public List<float[]> embedAll(List<String> texts) {
        return texts.stream().map(this::embed).toList();
    }
}
