package io.github.pgflowchat.dev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.component.pgflow.PgflowComponent;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;

/**
 * The dev profile's route reload: the service runs on copies of the route files in a folder it watches, a saved
 * change to one of them takes effect while it runs, and the routes of the other files and the Java routes stay.
 */
@ActiveProfiles("dev")
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms"
})
class RouteReloadInDevProfileTest {

    static Path routes;

    @DynamicPropertySource
    static void watchedCopiesOfTheRoutes(DynamicPropertyRegistry registry) throws IOException {
        EmbeddedPostgresDirectory.register(registry);
        routes = Files.createTempDirectory("routes-reload");
        for (Resource route : new PathMatchingResourcePatternResolver().getResources("classpath:routes/*.yaml")) {
            try (InputStream in = route.getInputStream()) {
                Files.copy(in, routes.resolve(route.getFilename()));
            }
        }
        registry.add("camel.main.routes-include-pattern", () -> "file:" + routes + "/*.yaml");
        registry.add("ROUTES_RELOAD_DIRECTORY", routes::toString);
    }

    @LocalServerPort
    int port;

    @Autowired
    CamelContext camel;

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void aSavedRouteFileIsLoadedAgainWhileTheServiceRuns() throws Exception {
        ChatClient client = new ChatClient(port);
        assertThat(client.postChat(ChatClient.chatBody("chat-before-reload", "How do I run the tests?")).headers())
                .doesNotContainKey("x-route-edited");
        List<String> routeIds = camel.getRoutes().stream().map(Route::getId).sorted().toList();

        // sse.yaml's route is called by the chat routes (the REST DSL's operations are folded into theirs, see README).
        Path sse = routes.resolve("sse.yaml");
        String lastStep = "            constant: \"no\"\n";
        String edited = Files.readString(sse).replace(lastStep, lastStep
                + "        - setHeader:\n"
                + "            name: X-Route-Edited\n"
                + "            constant: \"yes\"\n");
        assertThat(edited).as("the edit applies to sse.yaml as it is").contains("X-Route-Edited");
        Files.writeString(sse, edited);

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(client.postChat(ChatClient.chatBody("chat-during-reload", "How do I run the tests?"))
                        .headers().get("x-route-edited")).containsExactly("yes"));
        assertThat(camel.getRoutes().stream().map(Route::getId).sorted().toList())
                .as("the routes of the other files and the Java routes are all still there").isEqualTo(routeIds);
        assertThat(camel.getRoutes()).allSatisfy(route ->
                assertThat(camel.getRouteController().getRouteStatus(route.getId())).isEqualTo(ServiceStatus.Started));
        CompletedChat.assertCompleted(client.postChat(ChatClient.chatBody("chat-after-reload", "How do I run the tests?")),
                client, jdbc);
    }

    @Test
    void aChangedStepShapeIsInstalledAsANewFlowVersionOnReload() throws Exception {
        PgflowComponent pgflow = camel.getComponent("pgflow", PgflowComponent.class);
        String before = pgflow.currentVersion("chat_pipeline");
        Path pipeline = routes.resolve("pipeline.yaml");
        String searchOptions = "        maxAttempts: 3\n        baseDelay: 1\n        timeout: 10\n";
        assertThat(Files.readString(pipeline)).as("the edit applies to pipeline.yaml as it is").contains(searchOptions);
        Files.writeString(pipeline, Files.readString(pipeline).replace(searchOptions, searchOptions.replace("timeout: 10", "timeout: 12")));

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> !pgflow.currentVersion("chat_pipeline").equals(before));
        String after = pgflow.currentVersion("chat_pipeline");
        assertThat(jdbc.queryForObject("select opt_timeout from pgflow.steps where flow_slug = ? and step_slug = 'search'",
                Integer.class, after)).isEqualTo(12);
        ChatClient client = new ChatClient(port);
        ChatClient.StreamResponse chat = client.postChat(ChatClient.chatBody("chat-after-shape-reload", "How do I run the tests?"));
        CompletedChat.assertCompleted(chat, client, jdbc);
        assertThat(client.get("/api/runs/" + chat.runId()).body().path("flowSlug").asText()).isEqualTo(after);
    }
}
