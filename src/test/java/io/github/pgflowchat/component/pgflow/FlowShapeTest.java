package io.github.pgflowchat.component.pgflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FlowShapeTest {

    /** The chat pipeline as supabase/migrations/20251125120100_chat_pipeline_flow.sql creates it. */
    static FlowShape chatPipeline() {
        return new FlowShape("chat_pipeline", List.of(
                new StepShape("search", List.of(), 3, 1, 10),
                new StepShape("analyze", List.of("search"), 3, 1, 60),
                new StepShape("respond", List.of("search", "analyze"), 2, 1, 300)));
    }

    @Test
    void theCanonicalFormListsStepsAndDependenciesSortedWithEveryOption() {
        assertThat(chatPipeline().canonicalForm()).isEqualTo("""
                flow chat_pipeline
                step analyze dependsOn=search maxAttempts=3 baseDelay=1 timeout=60
                step respond dependsOn=analyze,search maxAttempts=2 baseDelay=1 timeout=300
                step search dependsOn= maxAttempts=3 baseDelay=1 timeout=10""");
    }

    @Test
    void theVersionSlugIsTheFlowAndEightHexDigitsOfTheCanonicalFormsSha256() {
        // Pinned: a change here gives every deployed shape a new version, so it must be deliberate.
        assertThat(chatPipeline().versionSlug()).isEqualTo("chat_pipeline_1d6b6613");
    }

    @Test
    void declarationOrderOfStepsAndOfDependenciesDoesNotChangeTheVersion() {
        FlowShape reordered = new FlowShape("chat_pipeline", List.of(
                new StepShape("respond", List.of("analyze", "search"), 2, 1, 300),
                new StepShape("analyze", List.of("search"), 3, 1, 60),
                new StepShape("search", List.of(), 3, 1, 10)));

        assertThat(reordered.versionSlug()).isEqualTo(chatPipeline().versionSlug());
        assertThat(reordered.canonicalForm()).isEqualTo(chatPipeline().canonicalForm());
    }

    static Stream<Arguments> changedShapes() {
        return Stream.of(
                Arguments.of("maxAttempts of respond", withRespond(new StepShape("respond", List.of("search", "analyze"), 3, 1, 300))),
                Arguments.of("baseDelay of respond", withRespond(new StepShape("respond", List.of("search", "analyze"), 2, 2, 300))),
                Arguments.of("timeout of respond", withRespond(new StepShape("respond", List.of("search", "analyze"), 2, 1, 301))),
                Arguments.of("a dependency removed", withRespond(new StepShape("respond", List.of("analyze"), 2, 1, 300))),
                Arguments.of("a step renamed", withRespond(new StepShape("answer", List.of("search", "analyze"), 2, 1, 300))),
                Arguments.of("a step added", new FlowShape("chat_pipeline", List.of(
                        new StepShape("search", List.of(), 3, 1, 10),
                        new StepShape("analyze", List.of("search"), 3, 1, 60),
                        new StepShape("respond", List.of("search", "analyze"), 2, 1, 300),
                        new StepShape("audit", List.of("respond"), 1, 0, 5)))),
                Arguments.of("a step removed", new FlowShape("chat_pipeline", List.of(
                        new StepShape("search", List.of(), 3, 1, 10),
                        new StepShape("respond", List.of("search"), 2, 1, 300)))),
                Arguments.of("another base flow", new FlowShape("chat_pipeline2", chatPipeline().steps())));
    }

    private static FlowShape withRespond(StepShape respond) {
        return new FlowShape("chat_pipeline", List.of(
                new StepShape("search", List.of(), 3, 1, 10),
                new StepShape("analyze", List.of("search"), 3, 1, 60),
                respond));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("changedShapes")
    void everyChangeOfTheShapeGivesAnotherVersion(String change, FlowShape changed) {
        assertThat(changed.versionSlug())
                .matches("chat_pipeline2?_[0-9a-f]{8}")
                .isNotEqualTo(chatPipeline().versionSlug());
    }

    @Test
    void stepsComeAfterTheirDependenciesAndOtherwiseInDeclarationOrder() {
        FlowShape shape = new FlowShape("ordered", List.of(
                new StepShape("respond", List.of("search", "analyze"), 2, 1, 300),
                new StepShape("search", List.of(), 3, 1, 10),
                new StepShape("audit", List.of(), 1, 0, 5),
                new StepShape("analyze", List.of("search"), 3, 1, 60)));

        assertThat(shape.steps()).extracting(StepShape::slug).containsExactly("search", "audit", "analyze", "respond");
    }

    static Stream<Arguments> invalidShapes() {
        return Stream.of(
                Arguments.of(flow(new StepShape("analyze step", List.of(), 3, 1, 60)),
                        "step \"analyze step\": the slug is not valid for pgflow"),
                Arguments.of(flow(new StepShape("run", List.of(), 3, 1, 60)),
                        "step \"run\": the slug is not valid for pgflow"),
                Arguments.of(flow(new StepShape("1st", List.of(), 3, 1, 60)),
                        "step \"1st\": the slug is not valid for pgflow"),
                Arguments.of(flow(new StepShape("s".repeat(129), List.of(), 3, 1, 60)),
                        "step \"" + "s".repeat(129) + "\": the slug is not valid for pgflow"),
                Arguments.of(flow(new StepShape("search", List.of(), 3, 1, 10), new StepShape("search", List.of(), 3, 1, 60)),
                        "step search: declared twice"),
                Arguments.of(flow(new StepShape("search", List.of(), 3, 1, 10), new StepShape("analyze", List.of("serch"), 3, 1, 60)),
                        "step analyze: depends on \"serch\", which is not a step of this flow (its steps: search, analyze)"),
                Arguments.of(flow(new StepShape("search", List.of("search"), 3, 1, 10)),
                        "step search: depends on itself"),
                Arguments.of(flow(new StepShape("search", List.of(), 3, 1, 10), new StepShape("analyze", List.of("search", "search"), 3, 1, 60)),
                        "step analyze: lists the dependency search twice"),
                Arguments.of(flow(new StepShape("search", List.of(), 3, 1, 10),
                                new StepShape("a", List.of("search", "c"), 3, 1, 60),
                                new StepShape("b", List.of("a"), 3, 1, 60),
                                new StepShape("c", List.of("b"), 3, 1, 60)),
                        "the dependencies form a cycle: step a depends on c, which depends on b, which depends on a"),
                Arguments.of(flow(new StepShape("search", List.of(), 0, 1, 10)),
                        "step search: maxAttempts is 0, it must be at least 1"),
                Arguments.of(flow(new StepShape("search", List.of(), 3, -1, 10)),
                        "step search: baseDelay is -1 s, it must be 0 or more"),
                Arguments.of(flow(new StepShape("search", List.of(), 3, 1, 0)),
                        "step search: timeout is 0 s, it must be at least 1"),
                Arguments.of(new OneStepFlow("chat-pipeline"), "the flow slug is not valid for pgflow"),
                Arguments.of(new OneStepFlow("Chat_pipeline"), "the flow slug has upper-case letters"),
                Arguments.of(new OneStepFlow("f".repeat(39)), "the flow slug has 39 characters, at most 38"),
                Arguments.of((Runnable) () -> new FlowShape("chat_pipeline", List.of()), "it declares no steps"));
    }

    private static Runnable flow(StepShape... steps) {
        return () -> new FlowShape("chat_pipeline", List.of(steps));
    }

    /** A flow of one valid step under the given base slug. */
    private record OneStepFlow(String flow) implements Runnable {
        @Override
        public void run() {
            new FlowShape(flow, List.of(new StepShape("search", List.of(), 3, 1, 10)));
        }
    }

    @ParameterizedTest
    @MethodSource("invalidShapes")
    void anInvalidShapeIsRefusedWithWhatIsWrong(Runnable construction, String problem) {
        assertThatThrownBy(construction::run)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Flow ")
                .hasMessageContaining("cannot be installed in pgflow: ")
                .hasMessageContaining(problem);
    }

    @Test
    void aFlowSlugOfThirtyEightCharactersGivesAVersionThatFitsAPgmqQueueName() {
        FlowShape shape = new FlowShape("f".repeat(38), List.of(new StepShape("search", List.of(), 3, 1, 10)));

        assertThat(shape.versionSlug()).hasSize(47);
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> new FlowShape("chat_pipeline", List.of(
                new StepShape("search", List.of(), 0, 1, 10),
                new StepShape("analyze", List.of("serch"), 3, 1, 0))))
                .hasMessageContaining("step search: maxAttempts is 0")
                .hasMessageContaining("step analyze: depends on \"serch\"")
                .hasMessageContaining("step analyze: timeout is 0 s");
    }

    @Test
    void theBaseFlowOfAVersionIsItsSlugWithoutTheHashSuffix() {
        assertThat(FlowShape.baseFlowOf(chatPipeline().versionSlug())).isEqualTo("chat_pipeline");
        assertThat(FlowShape.baseFlowOf("chat_pipeline")).isEqualTo("chat_pipeline");
        assertThat(FlowShape.baseFlowOf("chat_pipeline_v2")).isEqualTo("chat_pipeline_v2");
    }
}
