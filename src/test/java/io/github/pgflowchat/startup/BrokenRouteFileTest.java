package io.github.pgflowchat.startup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.apache.camel.spring.boot.CamelAutoConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * A broken YAML route stops start-up with a report naming its file and its route: Camel alone names only one of the
 * two (src/test/resources/broken-routes holds one broken file per kind of mistake).
 */
@ExtendWith(OutputCaptureExtension.class)
class BrokenRouteFileTest {

    @Test
    void aMisspelledKeyNamesTheFileTheLineAndTheRoute(CapturedOutput output) {
        startWithRoutesOf("misspelled-key");

        assertThat(failureReport(output))
                .contains("Route 'broken-greeting' in file:")
                .contains("/broken-routes/misspelled-key/greeting.yaml, line 6, column 9 cannot be read: Unsupported field: stpes")
                .contains("Correct route 'broken-greeting' in file:");
    }

    @Test
    void aBeanMethodThatDoesNotExistNamesTheRouteAndItsFile(CapturedOutput output) {
        startWithRoutesOf("unknown-bean-method");

        assertThat(failureReport(output))
                .containsPattern("Route 'broken-greeting' in file:\\S*/broken-routes/unknown-bean-method/greeting.yaml \\(line 1\\) could not be created:")
                .contains("Method with name: greetLoudly not found on bean");
    }

    @Test
    void anUnknownEndpointSchemeNamesTheRouteAndItsFile(CapturedOutput output) {
        startWithRoutesOf("unknown-scheme");

        assertThat(failureReport(output))
                .containsPattern("Route 'broken-greeting' in file:\\S*/broken-routes/unknown-scheme/greeting.yaml \\(line 1\\) could not be created:")
                .contains("No endpoint could be found for: nosuchscheme://somewhere");
    }

    @Test
    void aPgflowStepDependingOnAStepNoRouteDeclaresNamesTheStepsAndTheirFiles(CapturedOutput output) {
        startWithRoutesOf("pgflow-unknown-dependency");

        // The component's own message says it all (the failure analyzer leaves it as Camel reports it).
        assertThat(output.getAll())
                .containsPattern("The step routes of flow 'broken_flow' \\(route broken-summary in \\S*broken-routes/"
                        + "pgflow-unknown-dependency/steps.yaml, route broken-search in \\S*steps.yaml\\) do not make a pgflow flow")
                .contains("step summary: depends on \"serach\", which is not a step of this flow");
    }

    @Test
    void theBundledRoutesAreFoundByTheirIds() {
        RouteFiles files = new RouteFiles("classpath:routes/*.yaml");

        assertThat(files.declaring("page-config")).hasValueSatisfying(d -> assertThat(d.describe())
                .endsWith("/routes/page.yaml (line 3)").startsWith("route 'page-config' in "));
        assertThat(files.declaring("api-errors")).hasValueSatisfying(d -> assertThat(d.kind()).isEqualTo("routeConfiguration"));
        assertThat(files.declaring("no-such-route")).isEmpty();
    }

    private static void startWithRoutesOf(String folder) {
        // Arguments, not default properties: those would lose to the application's own application.yaml.
        assertThatThrownBy(() -> new SpringApplicationBuilder(GreeterApplication.class).web(WebApplicationType.NONE)
                .run("--camel.main.routes-include-pattern=classpath:broken-routes/" + folder + "/*.yaml").close())
                .isNotNull();
    }

    private static String failureReport(CapturedOutput output) {
        String all = output.getAll();
        assertThat(all).contains("APPLICATION FAILED TO START");
        return all.substring(all.lastIndexOf("APPLICATION FAILED TO START"));
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(CamelAutoConfiguration.class)
    static class GreeterApplication {

        @Bean
        Greeter greeter() {
            return new Greeter();
        }
    }

    public static class Greeter {

        public String greet() {
            return "hello";
        }
    }
}
