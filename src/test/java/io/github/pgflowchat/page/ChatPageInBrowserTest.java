package io.github.pgflowchat.page;

import static io.github.pgflowchat.support.ChatPage.attribute;
import static io.github.pgflowchat.support.ChatPage.testId;
import static io.github.pgflowchat.support.ChatPage.text;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.ChatPage;
import io.github.pgflowchat.support.DroppableTcpProxy;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.HeadlessChromium;
import io.github.pgflowchat.support.QuestionAdvice;

/**
 * The chat page served by the gateway at /, in Debian's headless Chromium against the real service on the embedded
 * PostgreSQL: useChat's stream, progress, citations, resume after a reload, a lost connection, stop, and a step
 * failure with its retry, all read from the DOM. The offline model is slowed down so that a reload or a stop lands in the middle of an answer.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline",
        "gateway.llm.offline.token-delay=50ms",
        "gateway.worker.fallback-poll-interval=200ms",
        "gateway.chat.limits.requests-per-minute=1000"
})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatPageInBrowserTest {

    private static final List<String> STEPS = List.of("search", "analyze", "respond");
    private static final String FAILING_QUESTION = "Which step fails first in the browser test, and can it be retried?";
    /** Analyses of FAILING_QUESTION fail while this is positive: every attempt of its first run (3). */
    private static final AtomicInteger ANALYSIS_FAILURES_LEFT = new AtomicInteger(3);
    private static final Path SCREENSHOT = Path.of("target", "chat-page.png");
    private static final Duration STEP = Duration.ofSeconds(20);
    private static final Duration ANSWER = Duration.ofSeconds(30);

    @DynamicPropertySource
    static void embeddedPostgres(DynamicPropertyRegistry registry) {
        EmbeddedPostgresDirectory.register(registry);
    }

    @LocalServerPort
    int port;

    @Autowired
    CamelContext camel;

    HeadlessChromium chromium;
    ChromeDriver browser;
    ChatPage page;
    ChatClient api;

    @BeforeAll
    void startBrowserAndFailTheAnalysisOfOneQuestion() throws Exception {
        QuestionAdvice.adviseStep(camel, "step-analyze", Map.of(FAILING_QUESTION, exchange -> {
            if (ANALYSIS_FAILURES_LEFT.getAndDecrement() > 0) {
                throw new IllegalStateException("analysis backend unavailable");
            }
        }));
        chromium = new HeadlessChromium();
        browser = chromium.driver();
    }

    @AfterAll
    void stopBrowser() {
        chromium.close();
    }

    @BeforeEach
    void openANewChat() {
        api = new ChatClient(port);
        page = new ChatPage(browser, port);
        page.open();
        page.startNewChat();
    }

    @Test
    void aQuestionStreamsItsProgressAndAnswerWithCitationsAndResumesAfterAReload() throws Exception {
        page.ask("How do I run the tests?");

        // The answer grows while it streams: seen at two different lengths before it is done.
        int first = page.waitFor(STEP, () -> page.streamingAnswerLength(0));
        int second = page.waitFor(STEP, () -> page.streamingAnswerLength(first));
        assertThat(second).isGreaterThan(first);
        String runId = page.lastAssistant().getAttribute("data-run-id");
        assertThat(api.get("/api/runs/" + runId).body().path("status").asText()).as("reloaded mid-answer").isEqualTo("started");

        browser.navigate().refresh();

        // The reloaded page starts from what it saved, a partial answer that only useChat's resume can take further.
        int afterReload = page.waitFor(STEP, () -> page.streamingAnswerLength(0));
        assertThat(page.waitFor(STEP, () -> page.streamingAnswerLength(afterReload))).as("growing again after the reload")
                .isGreaterThan(afterReload);
        page.waitForFinishedAnswer(ANSWER);
        assertThat(page.lastAssistant().getAttribute("data-run-id")).as("the same run, resumed").isEqualTo(runId);
        JsonNode run = api.get("/api/runs/" + runId).body();
        assertThat(run.path("status").asText()).isEqualTo("completed");
        assertThat(page.answerText()).hasSizeGreaterThan(second).isEqualTo(run.path("output").path("respond").path("answer").asText());
        assertThat(browser.findElements(testId("chat-error"))).isEmpty();

        for (String step : STEPS) {
            WebElement shown = page.lastAssistant().findElement(testId("step-" + step));
            assertThat(shown.getAttribute("data-state")).as(step).isEqualTo("done");
            assertThat(shown.findElement(testId("step-duration")).getText()).as(step).matches("\\d+(\\.\\d)? m?s");
        }
        assertThat(page.lastAssistant().findElement(testId("analysis-summary")).getText()).isNotBlank();

        List<WebElement> sources = page.lastAssistant().findElements(testId("source-link"));
        assertThat(sources).isNotEmpty();
        for (WebElement listed : page.lastAssistant().findElement(testId("sources")).findElements(By.tagName("li"))) {
            // Rendered from the AI SDK's source-document parts, which carry the sourceId; data-search has none.
            String documentId = listed.findElement(testId("source-link")).getDomProperty("pathname").replace("/api/documents/", "");
            assertThat(listed.getAttribute("data-source-id")).isEqualTo("document-" + documentId);
            assertThat(listed.findElement(By.className("snippet")).getText()).doesNotContain("**", "|");
        }
        for (WebElement source : sources) {
            String path = source.getDomProperty("pathname");
            ChatClient.TextResponse opened = api.getText(path);
            assertThat(opened.status()).as(path).isEqualTo(200);
            String title = source.getText().replaceFirst("^\\[\\d+] ", "");
            assertThat(opened.body()).as("the text of %s", source.getText()).contains(" — " + title + "\n\n");
        }
        List<WebElement> citations = page.lastAssistant().findElements(testId("citation"));
        assertThat(citations).as("the answer cites its sources").isNotEmpty();
        for (WebElement citation : citations) {
            String target = citation.getDomProperty("hash").substring(1);
            assertThat(browser.findElement(By.id(target)).findElement(testId("source-link")).getText()).startsWith(citation.getText());
        }

        Files.createDirectories(SCREENSHOT.getParent());
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), SCREENSHOT, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void afterALostConnectionThePageShowsTheRunAsStoredWithItsAnswerOnceDone() throws Exception {
        try (DroppableTcpProxy network = new DroppableTcpProxy(port)) {
            ChatPage throughProxy = new ChatPage(browser, network.port());
            throughProxy.open();
            throughProxy.ask("How are steps retried?");
            throughProxy.waitFor(STEP, () -> throughProxy.streamingAnswerLength(0));
            String runId = throughProxy.lastAssistant().getAttribute("data-run-id");

            network.dropConnections();

            throughProxy.waitUntil(STEP, () -> "error".equals(throughProxy.status()));
            // The gateway goes on with the answer (the client may still resume); the page reads the run as stored.
            throughProxy.waitUntil(ANSWER, () -> "completed".equals(throughProxy.attribute(testId("stored-run"), "data-status")));
            JsonNode run = api.get("/api/runs/" + runId).body();
            assertThat(browser.findElement(testId("stored-answer")).getText())
                    .isEqualTo(run.path("output").path("respond").path("answer").asText());
            for (String step : STEPS) {
                assertThat(throughProxy.attribute(testId("stored-step-" + step), "data-state")).as(step).isEqualTo("done");
            }
        }
    }

    @Test
    void theServersChatsAreListedNewestFirstAndOneOpensFromTheServerWithoutItsCachedCopy() {
        page.ask("What is pgflow?");
        page.waitForFinishedAnswer(ANSWER);
        String firstChat = (String) browser.executeScript("return localStorage.getItem('pgflow-chat:current-chat')");
        String firstAnswer = page.answerText();
        page.startNewChat();
        page.ask("How are steps retried?");
        page.waitForFinishedAnswer(ANSWER);
        String secondChat = (String) browser.executeScript("return localStorage.getItem('pgflow-chat:current-chat')");

        page.waitUntil(STEP, () -> {
            List<String> listed = browser.findElements(testId("chat-list-item")).stream().map(item -> item.getAttribute("data-chat-id")).toList();
            return listed.size() >= 2 && listed.get(0).equals(secondChat) && listed.get(1).equals(firstChat);
        });
        WebElement first = browser.findElements(testId("chat-list-item")).get(1);
        assertThat(first.getText()).startsWith("What is pgflow?");
        // Only the server has the first chat now: the page's cached copy is gone.
        browser.executeScript("localStorage.removeItem('pgflow-chat:messages:' + arguments[0])", firstChat);
        first.findElement(By.className("open")).click();

        // The cached copy is gone, so what the page shows came from GET /api/chats/{chatId}.
        page.waitUntil(STEP, () -> !browser.findElements(testId("answer")).isEmpty() && firstAnswer.equals(page.answerText())
                && browser.findElements(testId("user-message")).stream().map(WebElement::getText).toList().equals(List.of("What is pgflow?")));
        assertThat(page.lastAssistant().findElements(testId("source-link"))).isNotEmpty();
    }

    @Test
    void stopEndsTheAnswerOnTheServerAndTheStoredRunSaysSo() throws Exception {
        page.ask("What does the respond step stream?");
        page.waitFor(STEP, () -> page.streamingAnswerLength(0));
        String runId = page.lastAssistant().getAttribute("data-run-id");

        browser.findElement(testId("stop")).click();

        page.waitUntil(STEP, () -> "failed".equals(page.attribute(testId("stored-run"), "data-status")));
        assertThat(browser.findElement(testId("chat-status")).getText()).isEqualTo("stopped");
        JsonNode run = api.get("/api/runs/" + runId).body();
        assertThat(run.path("status").asText()).isEqualTo("failed");
        assertThat(run.path("steps").get(2).path("error").asText()).contains("stopped by the user");
        assertThat(page.attribute(testId("stored-step-respond"), "data-state")).isEqualTo("failed");
        assertThat(page.attribute(testId("stored-step-analyze"), "data-state")).isEqualTo("done");
        assertThat(browser.findElements(testId("retry"))).hasSize(1);
    }

    @Test
    void aFailedStepShowsItsErrorAndRetryStreamsASuccessfulAnswer() throws Exception {
        page.ask(FAILING_QUESTION);

        page.waitUntil(STEP, () -> "retrying 2/3".equals(text(page.lastAssistant(), testId("step-analyze"), testId("step-state"))));
        page.waitUntil(ANSWER, () -> "error".equals(page.status()));
        String failedRunId = page.lastAssistant().getAttribute("data-run-id");
        assertThat(browser.findElement(testId("chat-error")).getText())
                .contains("Step 'analyze' failed").contains("analysis backend unavailable").contains(failedRunId);
        assertThat(attribute(page.lastAssistant(), testId("step-search"), "data-state")).isEqualTo("done");
        assertThat(attribute(page.lastAssistant(), testId("step-analyze"), "data-state")).isEqualTo("failed");
        // The run as stored, read from GET /api/runs/{id}: the step that completed and the one that failed.
        page.waitUntil(STEP, () -> "failed".equals(page.attribute(testId("stored-run"), "data-status")));
        assertThat(page.attribute(testId("stored-step-search"), "data-state")).isEqualTo("done");
        assertThat(page.attribute(testId("stored-step-analyze"), "data-state")).isEqualTo("failed");

        browser.findElement(testId("retry")).click();

        page.waitUntil(ANSWER, () -> !failedRunId.equals(page.lastAssistant().getAttribute("data-run-id")));
        page.waitForFinishedAnswer(ANSWER);
        assertThat(browser.findElements(testId("chat-error"))).isEmpty();
        assertThat(browser.findElements(testId("assistant-message"))).as("the failed answer was replaced").hasSize(1);
        String retriedRunId = page.lastAssistant().getAttribute("data-run-id");
        JsonNode retried = api.get("/api/runs/" + retriedRunId).body();
        assertThat(retried.path("status").asText()).isEqualTo("completed");
        assertThat(page.answerText()).isEqualTo(retried.path("output").path("respond").path("answer").asText());
        assertThat(page.lastAssistant().findElement(testId("retry-of")).getText()).isEqualTo(failedRunId);
        for (String step : STEPS) {
            assertThat(attribute(page.lastAssistant(), testId("step-" + step), "data-state")).as(step).isEqualTo("done");
        }
        assertThat(api.get("/api/runs/" + failedRunId).body().path("status").asText()).isEqualTo("failed");
    }
}
