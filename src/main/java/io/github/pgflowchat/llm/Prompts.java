package io.github.pgflowchat.llm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.input.PromptTemplate;
import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.core.io.Resource;
import org.springframework.core.io.ResourceLoader;

/**
 * The prompts both steps send, rendered with LangChain4j's {@link PromptTemplate} from template files that an engineer
 * edits without touching Java: {@code src/main/resources/prompts/} by default, or any folder named by
 * {@code gateway.prompts.location}. A template is its file's text without trailing whitespace; {@code {{name}}} is
 * replaced by a variable's value. The bundled user message reads:
 * <pre>
 * Question:
 * how do I run the tests?
 *
 * Sources:
 * [1] Quick start (README.md, score 0.412)
 * text of the source …
 * </pre>
 * Every template is loaded and tried at start-up, so a missing file, an unknown variable or a required one left out
 * stops the service with a message naming the file. The question and the sources also travel with the user message
 * as attributes (LangChain4j keeps them out of the provider's request); the offline models read those rather than
 * the text, so a prompt rewritten in another layout or language cannot break them.
 */
public final class Prompts {

    /** The analysis's intents, as the prompt names them and the JSON schema (ANALYSIS_RESPONSE_FORMAT) allows them. */
    public static final List<String> ANALYSIS_INTENTS = List.of("how-to", "explanation", "lookup", "comparison", "greeting", "other");

    /** The templates built into the jar. */
    public static final String BUNDLED_LOCATION = "classpath:prompts/";

    private static final String QUESTION_ATTRIBUTE = "gateway.prompt.question";
    private static final String SOURCES_ATTRIBUTE = "gateway.prompt.sources";
    private static final String SOURCES_SEPARATOR = "\n\n";
    /** What the library leaves in place when it has no value for it, such as {@code {{ question }}} with spaces. */
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{.*?}}");

    /** Each template file, with the variables it may use and those it must use for the prompt to make sense. */
    enum Template {
        ANALYZE_SYSTEM("analyze-system.txt", List.of("intents"), List.of()),
        ANALYZE_USER("analyze-user.txt", List.of("question", "sources"), List.of("question", "sources")),
        RESPOND_SYSTEM("respond-system.txt", List.of(), List.of()),
        RESPOND_USER("respond-user.txt", List.of("question", "sources"), List.of("question", "sources")),
        SOURCE("source.txt", List.of("number", "title", "origin", "score", "text"), List.of("number", "text")),
        NO_SOURCES("no-sources.txt", List.of(), List.of());

        final String file;
        final List<String> variables;
        final List<String> required;

        Template(String file, List<String> variables, List<String> required) {
            this.file = file;
            this.variables = variables;
            this.required = required;
        }
    }

    public record Source(int number, String title, String origin, double score, String text) {

        /** As the prompt writes it: the title on one line, the text stripped, the score to three decimals. */
        Source asWritten() {
            return new Source(number, title.replace('\n', ' '), origin, Double.parseDouble(scoreText(score)), text.strip());
        }
    }

    private final Map<Template, PromptTemplate> templates;

    private Prompts(Map<Template, PromptTemplate> templates) {
        this.templates = templates;
    }

    /**
     * Reads and tries every template in {@code location} (a Spring resource location such as {@code classpath:prompts/}
     * or {@code file:/etc/gateway/prompts/}), which must hold all of them.
     *
     * @throws PromptTemplateException naming the file that is missing or wrong
     */
    public static Prompts load(ResourceLoader resources, String location) {
        String folder = location.endsWith("/") ? location : location + "/";
        Map<Template, PromptTemplate> templates = new EnumMap<>(Template.class);
        for (Template template : Template.values()) {
            templates.put(template, read(resources, folder, template));
        }
        return new Prompts(templates);
    }

    /** The templates built into the jar. */
    public static Prompts bundled() {
        return load(new DefaultResourceLoader(), BUNDLED_LOCATION);
    }

    public SystemMessage analysisSystem() {
        String intents = ANALYSIS_INTENTS.stream().map(intent -> '"' + intent + '"').collect(Collectors.joining(", "));
        return SystemMessage.from(render(Template.ANALYZE_SYSTEM, Map.of("intents", intents)));
    }

    public UserMessage analysisUser(String question, List<Source> sources) {
        return userMessage(Template.ANALYZE_USER, question, sources);
    }

    public SystemMessage answerSystem() {
        return SystemMessage.from(render(Template.RESPOND_SYSTEM, Map.of()));
    }

    public UserMessage answerUser(String question, List<Source> sources) {
        return userMessage(Template.RESPOND_USER, question, sources);
    }

    /** The question a user message built here carries; the whole text for any other message. */
    static String question(UserMessage message) {
        return message.attributes().get(QUESTION_ATTRIBUTE) instanceof String question ? question : message.singleText().strip();
    }

    /** The sources a user message built here carries, as written in it; none for any other message. */
    @SuppressWarnings("unchecked")
    static List<Source> sources(UserMessage message) {
        return message.attributes().get(SOURCES_ATTRIBUTE) instanceof List<?> sources ? (List<Source>) sources : List.of();
    }

    /** Blank lines in the question are folded so it cannot contain a blank line and a header and pass for sources. */
    private UserMessage userMessage(Template template, String question, List<Source> sources) {
        String oneBlock = question.strip().replaceAll("\\n\\s*\\n", "\n");
        List<Source> written = sources.stream().map(Source::asWritten).toList();
        String sourcesText = written.isEmpty() ? render(Template.NO_SOURCES, Map.of())
                : written.stream().map(this::sourceText).collect(Collectors.joining(SOURCES_SEPARATOR));
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("question", oneBlock);
        values.put("sources", sourcesText);
        return UserMessage.builder()
                .addContent(TextContent.from(render(template, values)))
                .attributes(Map.of(QUESTION_ATTRIBUTE, oneBlock, SOURCES_ATTRIBUTE, written))
                .build();
    }

    private String sourceText(Source source) {
        return render(Template.SOURCE, Map.of("number", source.number(), "title", source.title(), "origin", source.origin(),
                "score", scoreText(source.score()), "text", source.text()));
    }

    private static String scoreText(double score) {
        return String.format(Locale.ROOT, "%.3f", score);
    }

    private String render(Template template, Map<String, Object> values) {
        return templates.get(template).apply(values).text();
    }

    private static PromptTemplate read(ResourceLoader resources, String folder, Template template) {
        Resource resource = resources.getResource(folder + template.file);
        if (!resource.exists()) {
            throw new PromptTemplateException(template.file, folder, "is missing", template);
        }
        String text;
        try {
            text = resource.getContentAsString(StandardCharsets.UTF_8).stripTrailing();
        } catch (IOException e) {
            throw new PromptTemplateException(template.file, folder, "cannot be read (" + e.getMessage() + ")", template);
        }
        if (text.isBlank()) {
            throw new PromptTemplateException(template.file, folder, "is empty", template);
        }
        for (String variable : template.required) {
            if (!text.contains("{{" + variable + "}}")) {
                throw new PromptTemplateException(template.file, folder, "does not use {{" + variable + "}}", template);
            }
        }
        PromptTemplate prompt = PromptTemplate.from(text, template.file);
        String tried;
        try {
            tried = prompt.apply(template.variables.stream().collect(Collectors.toMap(v -> v, v -> (Object) "x"))).text();
        } catch (IllegalArgumentException e) {
            // LangChain4j names the variable it has no value for: "Value for the variable 'foo' is missing".
            throw new PromptTemplateException(template.file, folder, "uses an unknown variable (" + e.getMessage() + ")", template);
        }
        Matcher unfilled = PLACEHOLDER.matcher(tried);
        if (unfilled.find()) {
            throw new PromptTemplateException(template.file, folder, "has " + unfilled.group()
                    + ", which is not filled in (write a variable without spaces inside the braces)", template);
        }
        return prompt;
    }

    /** A prompt template that is missing or wrong; the message names the file and what it may use. */
    public static final class PromptTemplateException extends IllegalStateException {

        private final String file;

        PromptTemplateException(String file, String folder, String problem, Template template) {
            super("Prompt template " + folder + file + " " + problem + ". "
                    + (template.variables.isEmpty() ? "It takes no variables"
                            : "Its variables are " + template.variables.stream().map(v -> "{{" + v + "}}").collect(Collectors.joining(", ")))
                    + "; gateway.prompts.location (PROMPTS_LOCATION) must name a folder holding every template: "
                    + Arrays.stream(Template.values()).map(t -> t.file).collect(Collectors.joining(", ")) + ".");
            this.file = file;
        }

        public String file() {
            return file;
        }
    }
}
