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
        assertThat(client.get("/api/config").headers()).doesNotContainKey("x-route-edited");
        List<String> routeIds = camel.getRoutes().stream().map(Route::getId).sorted().toList();

        Path page = routes.resolve("page.yaml");
        String lastStep = "            constant: no-store\n";
        String edited = Files.readString(page).replace(lastStep, lastStep
                + "        - setHeader:\n"
                + "            name: X-Route-Edited\n"
                + "            constant: \"yes\"\n");
        assertThat(edited).as("the edit applies to page.yaml as it is").contains("X-Route-Edited");
        Files.writeString(page, edited);

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
                assertThat(client.get("/api/config").headers().get("x-route-edited")).containsExactly("yes"));
        ChatClient.JsonResponse config = client.get("/api/config");
        assertThat(config.status()).isEqualTo(200);
        assertThat(config.body().path("authEnabled").asBoolean(true)).as("the route still answers as before").isFalse();
        assertThat(camel.getRoutes().stream().map(Route::getId).sorted().toList())
                .as("the routes of the other files and the Java routes are all still there").isEqualTo(routeIds);
        assertThat(camel.getRoutes()).allSatisfy(route ->
                assertThat(camel.getRouteController().getRouteStatus(route.getId())).isEqualTo(ServiceStatus.Started));
        CompletedChat.assertCompleted(client.postChat(ChatClient.chatBody("chat-after-reload", "How do I run the tests?")),
                client, jdbc);
    }
}
