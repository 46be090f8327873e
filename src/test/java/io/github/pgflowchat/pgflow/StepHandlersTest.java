package io.github.pgflowchat.pgflow;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Which streamed steps a completion surely made ready, from the steps' dependsOn alone. */
class StepHandlersTest {

    private static StepHandler step(boolean streamed, String... dependsOn) {
        return new StepHandler() {
            @Override
            public Object handle(StepTask task) {
                return null;
            }

            @Override
            public boolean streamed() {
                return streamed;
            }

            @Override
            public int concurrency() {
                return 0;
            }

            @Override
            public List<String> dependsOn() {
                return List.of(dependsOn);
            }
        };
    }

    @Test
    void aStreamedStepIsReadyAfterItsLastDependencyOnly() {
        StepHandlers handlers = new StepHandlers();
        handlers.register("search", step(false));
        handlers.register("analyze", step(false, "search"));
        handlers.register("respond", step(true, "search", "analyze"));

        // analyze depends on search, so once analyze completed both of respond's dependencies have.
        assertThat(handlers.streamedStepsReadyAfter("analyze")).containsExactly("respond");
        // search completed says nothing of analyze: respond may not be ready yet.
        assertThat(handlers.streamedStepsReadyAfter("search")).isEmpty();
        assertThat(handlers.streamedStepsReadyAfter("respond")).isEmpty();
    }

    @Test
    void stepsThatDoNotStreamAreNotClaimedThisWay() {
        StepHandlers handlers = new StepHandlers();
        handlers.register("search", step(false));
        handlers.register("analyze", step(false, "search"));
        handlers.register("tell", step(true, "analyze"));
        handlers.register("other", step(true, "search", "unknown"));

        assertThat(handlers.streamedStepsReadyAfter("search")).isEmpty();
        assertThat(handlers.streamedStepsReadyAfter("analyze")).containsExactly("tell");
    }
}
