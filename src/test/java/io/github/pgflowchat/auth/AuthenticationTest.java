package io.github.pgflowchat.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.ChatPage;
import io.github.pgflowchat.support.CompletedChat;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.HeadlessChromium;

/**
 * Supabase Auth JWTs through Spring Security's resource server: HS256 with the project secret and RS256 from the
 * project's JWKS (served on a local socket), exp/aud/iss checked; runs belong to the token's subject.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.offline.token-delay=1ms",
        "gateway.auth.enabled=true",
        "gateway.auth.jwt-secret=" + AuthenticationTest.SECRET,
        "gateway.auth.issuer=" + AuthenticationTest.ISSUER,
        "gateway.auth.audience=authenticated"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public class AuthenticationTest {

    public static final String SECRET = "a-test-project-jwt-secret-of-at-least-32-bytes";
    public static final String ISSUER = "https://test-project.supabase.co/auth/v1";
    static final RSAKey SIGNING_KEY = rsaKey();
    static final MockWebServer JWKS = new MockWebServer();

    @DynamicPropertySource
    static void supabaseProject(DynamicPropertyRegistry registry) throws Exception {
        EmbeddedPostgresDirectory.register(registry);
        JWKS.enqueue(new MockResponse().setHeader("Content-Type", "application/json")
                .setBody(new JWKSet(SIGNING_KEY.toPublicJWK()).toString()));
        JWKS.start();
        registry.add("gateway.auth.jwks-uri", () -> JWKS.url("/auth/v1/.well-known/jwks.json").toString());
    }

    @AfterAll
    void stopJwks() throws Exception {
        JWKS.shutdown();
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    static RSAKey rsaKey() {
        try {
            return new RSAKeyGenerator(2048).keyID("test-key").generate();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static JWTClaimsSet.Builder claims(String subject) {
        return new JWTClaimsSet.Builder().subject(subject).issuer(ISSUER).audience("authenticated")
                .claim("role", "authenticated").issueTime(new Date()).expirationTime(Date.from(Instant.now().plusSeconds(600)));
    }

    public static String hs256(JWTClaimsSet claims, String secret) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims);
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String rs256(JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(SIGNING_KEY.getKeyID()).build(), claims);
            jwt.sign(new RSASSASigner(SIGNING_KEY));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Stream<Arguments> rejectedTokens() {
        UnaryOperator<JWTClaimsSet.Builder> same = b -> b;
        return Stream.of(
                Arguments.of("no token", null),
                Arguments.of("not a JWT", "abc.def"),
                Arguments.of("wrong secret", hs256(claims("user-a").build(), "another-secret-another-secret-another-secret")),
                Arguments.of("expired", hs256(claims("user-a").expirationTime(Date.from(Instant.now().minusSeconds(600))).build(), SECRET)),
                Arguments.of("no exp", hs256(claims("user-a").expirationTime(null).build(), SECRET)),
                Arguments.of("wrong audience", hs256(claims("user-a").audience("anon-service").build(), SECRET)),
                Arguments.of("wrong issuer", hs256(claims("user-a").issuer("https://evil.example/auth/v1").build(), SECRET)),
                Arguments.of("unsigned (alg none)", new PlainJWT(same.apply(claims("user-a")).build()).serialize()),
                Arguments.of("RS256 signed by an unknown key", rs256WithUnknownKey()),
                Arguments.of("empty subject", hs256(claims("").build(), SECRET)),
                Arguments.of("blank subject", hs256(claims(" ").build(), SECRET)),
                Arguments.of("no subject", hs256(claims(null).build(), SECRET)),
                Arguments.of("empty subject, RS256", rs256(claims("").build())));
    }

    static String rs256WithUnknownKey() {
        try {
            RSAKey other = new RSAKeyGenerator(2048).keyID("test-key").generate();
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("test-key").build(), claims("user-a").build());
            jwt.sign(new RSASSASigner(other));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedTokens")
    void requestWithoutAValidTokenGets401JsonAndStartsNoRun(String what, String token) throws Exception {
        long runsBefore = jdbc.queryForObject("select count(*) from pgflow.runs", Long.class);

        ChatClient.JsonResponse chat = new ChatClient(port, token).postChatExpectingError("application/json",
                ChatClient.chatBody("chat-auth-refused", "Who am I?"));
        ChatClient.JsonResponse status = new ChatClient(port, token).get("/api/runs/00000000-0000-0000-0000-000000000000");

        for (ChatClient.JsonResponse response : List.of(chat, status)) {
            assertThat(response.status()).isEqualTo(401);
            assertThat(response.body().path("error").path("code").asText()).isEqualTo("unauthorized");
            assertThat(response.headers().get("www-authenticate")).anySatisfy(value -> assertThat(value).startsWith("Bearer"));
        }
        assertThat(jdbc.queryForObject("select count(*) from pgflow.runs", Long.class)).isEqualTo(runsBefore);
    }

    @Test
    void runBelongsToTheTokensSubjectNotToAnythingInTheBody() throws Exception {
        ChatClient alice = new ChatClient(port, hs256(claims("user-alice").build(), SECRET));
        String body = ChatClient.chatBody("chat-auth-alice", "How do I run the tests?").replaceFirst("\\{", "{\"userId\":\"user-mallory\",");

        ChatClient.StreamResponse response = alice.postChat(body);

        CompletedChat.assertCompleted(response, alice, jdbc);
        assertThat(jdbc.queryForObject("select input ->> 'userId' from pgflow.runs where run_id = ?::uuid", String.class, response.runId()))
                .isEqualTo("user-alice");
        ChatClient bob = new ChatClient(port, hs256(claims("user-bob").build(), SECRET));
        ChatClient.JsonResponse asBob = bob.get("/api/runs/" + response.runId());
        assertThat(asBob.status()).isEqualTo(404);
        assertThat(asBob.body().path("error").path("code").asText()).isEqualTo("run_not_found");
        assertThat(bob.resume("chat-auth-alice", null).status()).as("another user's chat has nothing to resume").isEqualTo(204);
        assertThat(alice.resume("chat-auth-alice", null).events()).isEqualTo(response.events());
    }

    @Test
    void tokenSignedWithTheProjectsAsymmetricKeyIsAccepted() throws Exception {
        ChatClient carol = new ChatClient(port, rs256(claims("user-carol").build()));

        ChatClient.StreamResponse response = carol.postChat(ChatClient.chatBody("chat-auth-carol", "What does the search step do?"));

        CompletedChat.assertCompleted(response, carol, jdbc);
        assertThat(jdbc.queryForObject("select input ->> 'userId' from pgflow.runs where run_id = ?::uuid", String.class, response.runId()))
                .isEqualTo("user-carol");
    }

    @Test
    void theChatPageItsSettingsAndTheApiDocumentNeedNoTokenWhileDocumentsDo() throws Exception {
        ChatClient anonymous = new ChatClient(port);
        ChatClient.TextResponse page = anonymous.getText("/");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.header("content-type")).startsWith("text/html");
        Matcher script = Pattern.compile("src=\"(/assets/[^\"]+\\.js)\"").matcher(page.body());
        assertThat(script.find()).as("the page's script in %s", page.body()).isTrue();
        assertThat(anonymous.getText(script.group(1)).status()).isEqualTo(200);
        ChatClient.JsonResponse settings = anonymous.get("/api/config");
        assertThat(settings.status()).isEqualTo(200);
        assertThat(settings.body().path("authEnabled").asBoolean()).isTrue();
        ChatClient.JsonResponse apiDocument = anonymous.get("/api/openapi.json");
        assertThat(apiDocument.status()).isEqualTo(200);
        assertThat(apiDocument.body().path("paths").has("/chat")).isTrue();

        long documentId = jdbc.queryForObject("select min(id) from public.documents", Long.class);
        assertThat(anonymous.get("/api/documents/" + documentId).status()).isEqualTo(401);
        assertThat(new ChatClient(port, hs256(claims("user-dora").build(), SECRET)).getText("/api/documents/" + documentId).status())
                .isEqualTo(200);
    }

    @Test
    void theChatPageAsksForATokenAndSendsItWithItsRequests() throws Exception {
        try (HeadlessChromium chromium = new HeadlessChromium()) {
            ChatPage page = new ChatPage(chromium.driver(), port);
            page.open();
            assertThat(chromium.driver().findElements(ChatPage.testId("question-input"))).as("no chat before sign-in").isEmpty();

            chromium.driver().findElement(ChatPage.testId("token-input")).sendKeys(hs256(claims("user-erin").build(), SECRET));
            chromium.driver().findElement(ChatPage.testId("use-token")).click();
            page.waitUntil(Duration.ofSeconds(10), () -> !chromium.driver().findElements(ChatPage.testId("question-input")).isEmpty());
            page.ask("How do I run the tests?");
            page.waitForFinishedAnswer(Duration.ofSeconds(30));

            String runId = page.lastAssistant().getAttribute("data-run-id");
            assertThat(jdbc.queryForObject("select input ->> 'userId' from pgflow.runs where run_id = ?::uuid", String.class, runId))
                    .isEqualTo("user-erin");
        }
    }

    @Test
    void healthNeedsNoToken() throws Exception {
        assertThat(new ChatClient(port).get("/actuator/health").body().path("status").asText()).isEqualTo("UP");
    }
}
