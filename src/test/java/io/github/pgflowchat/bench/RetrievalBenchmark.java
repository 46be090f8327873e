package io.github.pgflowchat.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.github.pgflowchat.documents.EmbeddingBackfill;
import io.github.pgflowchat.documents.Embeddings;
import io.github.pgflowchat.pipeline.SearchStep;
import io.github.pgflowchat.support.RetrievalSet;

/**
 * Retrieval quality of the search step on the labelled set (src/test/resources/retrieval: 40 paraphrased questions
 * over 20 documents posted beside the seeded corpus), for full text alone (the baseline, what the search did before
 * issue 14), similarity alone and the hybrid default; and what each costs per search, on the embedded default.
 */
final class RetrievalBenchmark {

    private static final int ROUNDS = 5;

    private RetrievalBenchmark() {
    }

    static Table run() throws Exception {
        try (BenchGateway gateway = BenchGateway.start(BenchGateway.offlineWithoutTokenDelay())) {
            int port = gateway.port();
            long chunksBefore = gateway.jdbc().queryForObject("select count(*) from public.documents", Long.class);
            long posting = System.nanoTime();
            RetrievalSet.post(port);
            double postMs = (System.nanoTime() - posting) / 1e6;
            long posted = gateway.jdbc().queryForObject("select count(*) from public.documents", Long.class) - chunksBefore;
            gateway.bean(EmbeddingBackfill.class).awaitDone(Duration.ofMinutes(5));

            Embeddings embeddings = gateway.bean(Embeddings.class);
            SearchStep.Properties defaults = gateway.bean(SearchStep.Properties.class);
            List<RetrievalSet.Question> questions = RetrievalSet.questions();
            Table table = new Table("Retrieval: paraphrased questions, full text vs similarity vs hybrid (issue 14)")
                    .note("%d questions over %d documents (%d chunks) posted beside the seeded corpus (%d chunks); recall@k: the "
                            + "answering document among the first k results; MRR over the first 10. Baseline: full text alone.",
                            questions.size(), RetrievalSet.documents().size(), posted, chunksBefore)
                    .note("Defaults: mode %s, candidates %d, rrf-k %d, text weight %.2f, vector weight %.2f.",
                            defaults.mode(), defaults.candidates(), defaults.rrfK(), defaults.textWeight(), defaults.vectorWeight());
            RetrievalSet.Scores text = null;
            double textMs = 0;
            for (SearchStep.Mode mode : List.of(SearchStep.Mode.TEXT, SearchStep.Mode.VECTOR, SearchStep.Mode.HYBRID)) {
                SearchStep.Properties properties = new SearchStep.Properties(10, mode, defaults.candidates(), defaults.rrfK(),
                        defaults.textWeight(), defaults.vectorWeight(), true);
                RetrievalSet.Scores scores = RetrievalSet.score(questions,
                        question -> RetrievalSet.sources(RetrievalSet.search(gateway.camel(), embeddings, properties, question)));
                List<Double> millis = new ArrayList<>();
                for (int round = 0; round < ROUNDS; round++) {
                    for (RetrievalSet.Question question : questions) {
                        long start = System.nanoTime();
                        RetrievalSet.search(gateway.camel(), embeddings, properties, question.text());
                        millis.add((System.nanoTime() - start) / 1e6);
                    }
                }
                double median = Table.percentile(millis, 50);
                if (mode == SearchStep.Mode.TEXT) {
                    text = scores;
                    textMs = median;
                }
                String name = mode.name().toLowerCase(Locale.ROOT);
                boolean isDefault = mode == defaults.mode();
                table.row(name + " recall@1", fmt(text.recallAt1()), fmt(scores.recallAt1()), diff(scores.recallAt1() - text.recallAt1()), "", null);
                table.row(name + " recall@3", fmt(text.recallAt3()), fmt(scores.recallAt3()), diff(scores.recallAt3() - text.recallAt3()),
                        isDefault ? "≥ 0.85" : "", isDefault ? scores.recallAt3() >= 0.85 : null);
                table.row(name + " MRR", fmt(text.mrr()), fmt(scores.mrr()), diff(scores.mrr() - text.mrr()), "", null);
                table.row(name + " search, median", Table.ms(textMs), Table.ms(median), Table.times(median / textMs), "", null);
            }
            List<Double> embedMillis = new ArrayList<>();
            for (RetrievalSet.Question question : questions) {
                long start = System.nanoTime();
                embeddings.embed(question.text());
                embedMillis.add((System.nanoTime() - start) / 1e6);
            }
            table.row("question embedding, median", "", Table.ms(Table.percentile(embedMillis, 50)), "", "", null);
            table.row("POST /api/documents, per chunk (embedding included)", "", Table.ms(postMs / posted), "", "", null);
            return table;
        }
    }

    private static String fmt(double value) {
        return String.format(Locale.ROOT, "%.2f", value);
    }

    private static String diff(double value) {
        return String.format(Locale.ROOT, "%+.2f", value);
    }
}
