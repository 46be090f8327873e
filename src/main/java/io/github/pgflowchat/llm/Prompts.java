package io.github.pgflowchat.llm;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text of the prompts both steps send, and its reading back by the offline models, kept side by side so the
 * format has one definition. A prompt's user message is a question followed by numbered sources:
 * <pre>
 * Question:
 * how do I run the tests?
 *
 * Sources:
 * [1] Quick start (README.md, score 0.412)
 * text of the source …
 * </pre>
 */
public final class Prompts {

    /** The analysis's intents, as the prompt names them and the JSON schema (ANALYSIS_RESPONSE_FORMAT) allows them. */
    public static final List<String> ANALYSIS_INTENTS = List.of("how-to", "explanation", "lookup", "comparison", "greeting", "other");

    public static final String ANALYSIS_SYSTEM = """
            You analyse a user's question before it is answered from retrieved documents.
            Reply with one JSON object and nothing else, with these fields:
              "intent": one of %s;
              "keyTerms": up to 8 lowercase key terms of the question;
              "sources": the numbers of the sources worth using to answer, best first (may be empty);
              "summary": one sentence saying what the user wants.""".formatted(
            String.join(", ", ANALYSIS_INTENTS.stream().map(intent -> '"' + intent + '"').toList()));

    public static final String ANSWER_SYSTEM = """
            You answer the user's question using only the numbered sources given with it.
            Cite every statement with the number of its source in square brackets, like [1].
            If the sources do not contain the answer, say so plainly instead of guessing. Be concise.""";

    private static final String QUESTION_HEADER = "Question:\n";
    private static final String SOURCES_HEADER = "\n\nSources:\n";
    private static final Pattern SOURCE_LINE = Pattern.compile("(?m)^\\[(\\d+)] (.*) \\((.+?), score ([0-9.]+)\\)$");

    private Prompts() {
    }

    public record Source(int number, String title, String origin, double score, String text) {
    }

    /** Blank lines in the question are folded so it cannot contain the sources header and pass for sources. */
    public static String userMessage(String question, List<Source> sources) {
        String oneBlock = question.strip().replaceAll("\\n\\s*\\n", "\n");
        StringBuilder message = new StringBuilder(QUESTION_HEADER).append(oneBlock).append(SOURCES_HEADER);
        if (sources.isEmpty()) {
            message.append("(no matching documents)\n");
        }
        for (Source source : sources) {
            message.append('[').append(source.number()).append("] ").append(source.title().replace('\n', ' '))
                    .append(" (").append(source.origin()).append(", score ")
                    .append(String.format(Locale.ROOT, "%.3f", source.score())).append(")\n")
                    .append(source.text().strip()).append("\n\n");
        }
        return message.toString();
    }

    static String question(String userMessage) {
        int start = userMessage.indexOf(QUESTION_HEADER);
        int end = userMessage.indexOf(SOURCES_HEADER);
        if (start < 0 || end < start) {
            return userMessage.strip();
        }
        return userMessage.substring(start + QUESTION_HEADER.length(), end).strip();
    }

    static List<Source> sources(String userMessage) {
        int at = userMessage.indexOf(SOURCES_HEADER);
        List<Source> sources = new ArrayList<>();
        if (at < 0) {
            return sources;
        }
        String block = userMessage.substring(at + SOURCES_HEADER.length());
        Matcher matcher = SOURCE_LINE.matcher(block);
        List<int[]> bounds = new ArrayList<>();
        while (matcher.find()) {
            bounds.add(new int[] {matcher.start(), matcher.end()});
            sources.add(new Source(Integer.parseInt(matcher.group(1)), matcher.group(2), matcher.group(3),
                    Double.parseDouble(matcher.group(4)), ""));
        }
        for (int i = 0; i < sources.size(); i++) {
            int textEnd = i + 1 < bounds.size() ? bounds.get(i + 1)[0] : block.length();
            Source head = sources.get(i);
            sources.set(i, new Source(head.number(), head.title(), head.origin(), head.score(),
                    block.substring(bounds.get(i)[1], textEnd).strip()));
        }
        return sources;
    }
}
