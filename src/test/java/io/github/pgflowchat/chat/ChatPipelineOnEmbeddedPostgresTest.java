package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;

/** The embedded default, as `mvn spring-boot:run` starts it: no database configured, the offline model. */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms"
})
class ChatPipelineOnEmbeddedPostgresTest {

    static Path dataDir;

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        dataDir = EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void chatRunsOnTheEmbeddedPostgresWithItsDataInTheConfiguredFolder() throws Exception {
        ChatClient client = new ChatClient(port);

        ChatClient.StreamResponse response = client.postChat(ChatClient.chatBody("chat-embedded-1", "What does the search step do?"));

        CompletedChat.assertCompleted(response, client, jdbc);
        assertThat(jdbc.queryForObject("show server_version", String.class)).startsWith("17.");
        assertThat(Files.exists(dataDir.resolve("PG_VERSION"))).isTrue();
        assertThat(jdbc.queryForObject("select count(*) from public.documents where source = 'README.md'", Long.class)).isPositive();
    }
}
