package io.github.pgflowchat.llm;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.langchain4j.model.output.FinishReason;

import io.github.pgflowchat.documents.Embeddings;
import io.github.pgflowchat.documents.PlainText;

/**
 * The offline built-in models, used when no LLM is configured. They are not generative: they read the question and the
 * sources of the prompt a real model gets ({@link Prompts}) and answer deterministically — the analysis by simple
 * rules, the answer by quoting the source sentences nearest in meaning to the question (by embedding, redundancy
 * removed), each cited with its source number. It is labelled extractive: the model's name says so.
 */
public final class OfflineModels {

    public static final String MODEL_NAME = "offline-extractive";

    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N}_'-]*");
    private static final Pattern TOKEN = Pattern.compile("\\s*\\S+");
    private static final Set<String> STOPWORDS = Set.of("a", "about", "an", "and", "are", "as", "at", "be", "by", "can",
            "do", "does", "for", "from", "how", "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "should",
            "so", "that", "the", "this", "to", "was", "what", "when", "where", "which", "who", "why", "will", "with",
            "you", "your", "we", "our", "there", "their", "they", "them", "tell", "please", "explain", "show", "give");
    private static final int MAX_SENTENCES = 3;
    private static final int MAX_SOURCES_USED = 3;

    private OfflineModels() {
    }

    /** Lower-cased words of the text without stopwords, in order of first appearance. */
    static List<String> terms(String text) {
        Set<String> terms = new LinkedHashSet<>();
        Matcher matcher = WORD.matcher(text.toLowerCase(Locale.ROOT));
        while (matcher.find()) {
            String word = matcher.group();
            if (word.length() > 1 && !STOPWORDS.contains(word)) {
                terms.add(word);
            }
        }
        return new ArrayList<>(terms);
    }

    /** The last user message is the prompt; the earlier ones are the conversation's history. */
    private static Optional<UserMessage> prompt(List<ChatMessage> messages) {
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i) instanceof UserMessage user) {
                return Optional.of(user);
            }
        }
        return Optional.empty();
    }

    private static String question(List<ChatMessage> messages) {
        return prompt(messages).map(Prompts::question).orElse("");
    }

    private static List<Prompts.Source> sources(List<ChatMessage> messages) {
        return prompt(messages).map(Prompts::sources).orElse(List.of());
    }

    static String intent(String question) {
        String q = question.strip().toLowerCase(Locale.ROOT);
        if (q.matches("^(hi|hello|hey|good (morning|afternoon|evening))\\b.*") && q.length() < 40) {
            return "greeting";
        }
        if (q.startsWith("how")) {
            return "how-to";
        }
        if (q.startsWith("why") || q.startsWith("explain")) {
            return "explanation";
        }
        if (q.contains(" vs ") || q.contains(" versus ") || q.startsWith("compare") || q.contains("difference between")) {
            return "comparison";
        }
        if (q.matches("^(what|which|who|where|when|is|are|does|do|can)\\b.*")) {
            return "lookup";
        }
        return "other";
    }

    /** Rule-based analysis returning the JSON object the analysis prompt ({@link Prompts#analysisSystem()}) asks for. */
    static final class Analysis implements ChatModel {

        private final ObjectMapper json = new ObjectMapper();

        @Override
        public ChatResponse doChat(ChatRequest request) {
            String question = question(request.messages());
            List<Prompts.Source> sources = sources(request.messages());
            double best = sources.stream().mapToDouble(Prompts.Source::score).max().orElse(0);
            List<Integer> useful = sources.stream()
                    .filter(s -> s.score() > 0 && s.score() >= best * 0.25)
                    .sorted(Comparator.comparingDouble(Prompts.Source::score).reversed())
                    .limit(MAX_SOURCES_USED)
                    .map(Prompts.Source::number)
                    .toList();
            List<String> keyTerms = terms(question).stream().limit(8).toList();
            String intent = intent(question);
            Map<String, Object> analysis = new LinkedHashMap<>();
            analysis.put("intent", intent);
            analysis.put("keyTerms", keyTerms);
            analysis.put("sources", useful);
            analysis.put("summary", useful.isEmpty()
                    ? "No indexed document matches " + String.join(", ", keyTerms) + "."
                    : "The user asks (" + intent + ") about " + String.join(", ", keyTerms) + "; " + useful.size() + " source(s) match.");
            try {
                return ChatResponse.builder()
                        .aiMessage(AiMessage.from(json.writeValueAsString(analysis)))
                        .modelName(MODEL_NAME)
                        .finishReason(FinishReason.STOP)
                        .build();
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Extractive answer streamed a word at a time, with a pause between words like a model's token stream. */
    static final class Answer implements StreamingChatModel {

        /** Sentences shorter than this are headings' leftovers or fragments, longer ones are not worth quoting whole. */
        private static final int MIN_SENTENCE_CHARS = 20;
        private static final int MAX_SENTENCE_CHARS = 400;
        /** Sentences embedded per answer, in source order: bounds the cost of one answer (a few ms each). */
        private static final int MAX_CANDIDATES = 60;
        /** Below this cosine similarity to the question a sentence is not about it (all-MiniLM-L6-v2). */
        private static final double MIN_SIMILARITY = 0.2;
        /** Nor is a sentence much further from the question than the nearest one: this share of the best similarity. */
        private static final double MIN_SHARE_OF_BEST = 0.5;
        /** Maximal marginal relevance: the weight of relevance against redundancy with the sentences already chosen. */
        private static final double MMR_LAMBDA = 0.7;
        /** A sentence this close to a chosen one says the same thing again. */
        private static final double MAX_REDUNDANCY = 0.9;

        private final Duration tokenDelay;
        private final Embeddings embeddings;

        Answer(Duration tokenDelay, Embeddings embeddings) {
            this.tokenDelay = tokenDelay;
            this.embeddings = embeddings;
        }

        @Override
        public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
            String answer = compose(question(request.messages()), sources(request.messages()));
            Cancellation cancellation = new Cancellation();
            PartialResponseContext context = new PartialResponseContext(cancellation);
            try {
                Matcher tokens = TOKEN.matcher(answer);
                boolean first = true;
                while (tokens.find()) {
                    if (!first && !tokenDelay.isZero()) {
                        Thread.sleep(tokenDelay.toMillis());
                    }
                    first = false;
                    if (Thread.currentThread().isInterrupted()) {
                        throw new InterruptedException("answer interrupted");
                    }
                    if (cancellation.isCancelled()) {
                        handler.onError(new CancellationException("answer cancelled"));
                        return;
                    }
                    handler.onPartialResponse(new PartialResponse(tokens.group()), context);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                handler.onError(e);
                return;
            } catch (RuntimeException e) {
                handler.onError(e);
                return;
            }
            handler.onCompleteResponse(ChatResponse.builder()
                    .aiMessage(AiMessage.from(answer))
                    .modelName(MODEL_NAME)
                    .finishReason(FinishReason.STOP)
                    .build());
        }

        /**
         * The answer: up to {@value #MAX_SENTENCES} sentences of the sources, in plain text, chosen by their embedding's
         * similarity to the question's and kept apart from each other by maximal marginal relevance (a sentence close
         * to one already chosen scores less), the best first, each cited with its source number.
         */
        String compose(String question, List<Prompts.Source> sources) {
            record Candidate(int source, String sentence) {
            }
            List<Candidate> candidates = new ArrayList<>();
            for (Prompts.Source source : sources) {
                for (String sentence : PlainText.sentences(source.text())) {
                    if (isWholeSentence(sentence) && sentence.length() >= MIN_SENTENCE_CHARS && sentence.length() <= MAX_SENTENCE_CHARS
                            && candidates.size() < MAX_CANDIDATES
                            && candidates.stream().noneMatch(c -> c.sentence().equalsIgnoreCase(sentence))) {
                        candidates.add(new Candidate(source.number(), sentence));
                    }
                }
            }
            List<Integer> chosen = new ArrayList<>();
            if (!candidates.isEmpty()) {
                List<String> texts = new ArrayList<>();
                texts.add(question);
                candidates.forEach(candidate -> texts.add(candidate.sentence()));
                List<float[]> vectors = embeddings.embedAll(texts);
                float[] asked = vectors.get(0);
                List<float[]> sentences = vectors.subList(1, vectors.size());
                double nearest = sentences.stream().mapToDouble(sentence -> dot(asked, sentence)).max().orElse(0);
                double floor = Math.max(MIN_SIMILARITY, MIN_SHARE_OF_BEST * nearest);
                while (chosen.size() < MAX_SENTENCES) {
                    int best = -1;
                    double bestScore = Double.NEGATIVE_INFINITY;
                    for (int i = 0; i < sentences.size(); i++) {
                        double relevance = dot(asked, sentences.get(i));
                        if (chosen.contains(i) || relevance < floor) {
                            continue;
                        }
                        double redundancy = 0;
                        for (int j : chosen) {
                            redundancy = Math.max(redundancy, dot(sentences.get(i), sentences.get(j)));
                        }
                        double score = MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * redundancy;
                        if (redundancy < MAX_REDUNDANCY && score > bestScore) {
                            best = i;
                            bestScore = score;
                        }
                    }
                    if (best < 0) {
                        break;
                    }
                    chosen.add(best);
                }
            }
            if (chosen.isEmpty()) {
                return sources.isEmpty()
                        ? "I could not find anything about that in the indexed documents."
                        : "The indexed documents do not say that directly. The closest match is \"" + sources.get(0).title()
                                + "\" [" + sources.get(0).number() + "].";
            }
            StringBuilder answer = new StringBuilder("From the indexed documents: ");
            for (int i : chosen) {
                String sentence = candidates.get(i).sentence();
                boolean endsSentence = sentence.endsWith(".") || sentence.endsWith("!") || sentence.endsWith("?");
                String body = endsSentence ? sentence.substring(0, sentence.length() - 1) : sentence;
                answer.append(body).append(" [").append(candidates.get(i).source()).append("]. ");
            }
            return answer.toString().strip();
        }

        /**
         * A long section is chunked at a paragraph or word boundary, so a chunk may start or end inside a sentence:
         * such a piece starts in lower case or with a number glued to what follows ("2/3, then"), or ends with a
         * comma or semicolon. A sentence ending with a colon introduces what follows it (a list, a command). None of
         * these is quoted.
         */
        private static boolean isWholeSentence(String sentence) {
            char first = sentence.charAt(0);
            char last = sentence.charAt(sentence.length() - 1);
            boolean starts = Character.isUpperCase(first) || first == '"' || (Character.isDigit(first) && sentence.matches("\\d[\\d,.]*\\s.*"));
            return starts && last != ',' && last != ';' && last != ':';
        }

        private static double dot(float[] a, float[] b) {
            double sum = 0;
            for (int i = 0; i < a.length; i++) {
                sum += a[i] * b[i];
            }
            return sum;
        }
    }

    private static final class Cancellation implements StreamingHandle {
        private volatile boolean cancelled;

        @Override
        public void cancel() {
            cancelled = true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }
    }
}
