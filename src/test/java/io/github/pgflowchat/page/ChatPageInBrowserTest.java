package io.github.pgflowchat.page;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.CamelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.github.pgflowchat.Application;
import io.github.pgflowchat.support.ChatClient;
import io.github.pgflowchat.support.EmbeddedPostgresDirectory;
import io.github.pgflowchat.support.HeadlessChromium;
import io.github.pgflowchat.support.QuestionAdvice;

/**
 * The chat page served by the gateway at /, in Debian's headless Chromium against the real service on the embedded
 * PostgreSQL: useChat's stream, progress, citations, resume after a reload, and a step failure with its retry, all
 * read from the DOM. The offline model is slowed down so that a reload lands in the middle of an answer.
 */
@SpringBootTest(classes = Application.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "gateway.llm.provider=offline",
        "gateway.llm.offline.token-delay=100ms",
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
    void openTheChatPage() {
        api = new ChatClient(port);
        browser.get("http://127.0.0.1:" + port + "/");
        waitUntil(Duration.ofSeconds(20), () -> !browser.findElements(testId("new-chat")).isEmpty());
        browser.findElement(testId("new-chat")).click();
        waitUntil(Duration.ofSeconds(5), () -> browser.findElements(testId("assistant-message")).isEmpty());
    }

    @Test
    void aQuestionStreamsItsProgressAndAnswerWithCitationsAndResumesAfterAReload() throws Exception {
        ask("How do I run the tests?");

        // The answer grows while it streams: seen at two different lengths before it is done.
        int first = waitFor(() -> streamingAnswerLength(0));
        int second = waitFor(() -> streamingAnswerLength(first));
        assertThat(second).isGreaterThan(first);
        String runId = lastAssistant().getAttribute("data-run-id");
        assertThat(api.get("/api/runs/" + runId).body().path("status").asText()).as("reloaded mid-answer").isEqualTo("started");

        browser.navigate().refresh();

        // The reloaded page has only what it saved, a partial answer; useChat's resume replays the stream and follows it.
        assertThat(waitFor(() -> streamingAnswerLength(0))).as("streaming again after the reload").isPositive();
        waitUntil(Duration.ofSeconds(30), () -> "ready".equals(attribute(testId("chat-status"), "data-status"))
                && "done".equals(attribute(lastAssistant(), testId("answer"), "data-state")));
        assertThat(lastAssistant().getAttribute("data-run-id")).as("the same run, resumed").isEqualTo(runId);
        JsonNode run = api.get("/api/runs/" + runId).body();
        assertThat(run.path("status").asText()).isEqualTo("completed");
        String answer = lastAssistant().findElement(testId("answer")).getDomProperty("textContent");
        assertThat(answer).hasSizeGreaterThan(second).isEqualTo(run.path("output").path("respond").path("answer").asText());
        assertThat(browser.findElements(testId("chat-error"))).isEmpty();

        for (String step : STEPS) {
            WebElement shown = lastAssistant().findElement(testId("step-" + step));
            assertThat(shown.getAttribute("data-state")).as(step).isEqualTo("done");
            assertThat(shown.findElement(testId("step-duration")).getText()).as(step).matches("\\d+(\\.\\d)? m?s");
        }
        assertThat(lastAssistant().findElement(testId("analysis-summary")).getText()).isNotBlank();

        List<WebElement> sources = lastAssistant().findElements(testId("source-link"));
        assertThat(sources).isNotEmpty();
        for (WebElement source : sources) {
            HttpResponse<String> opened = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(source.getDomProperty("href"))).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(opened.statusCode()).isEqualTo(200);
            String title = source.getText().replaceFirst("^\\[\\d+] ", "");
            assertThat(opened.body()).as("the text of %s", source.getText()).contains(" — " + title + "\n\n");
        }
        List<WebElement> citations = lastAssistant().findElements(testId("citation"));
        assertThat(citations).as("the answer cites its sources").isNotEmpty();
        for (WebElement citation : citations) {
            String target = citation.getDomProperty("hash").substring(1);
            assertThat(browser.findElement(By.id(target)).findElement(testId("source-link")).getText())
                    .startsWith(citation.getText());
        }

        Files.createDirectories(SCREENSHOT.getParent());
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), SCREENSHOT, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void aFailedStepShowsItsErrorAndRetryStreamsASuccessfulAnswer() throws Exception {
        ask(FAILING_QUESTION);

        waitUntil(Duration.ofSeconds(20), () -> "retrying 2/3".equals(text(lastAssistant(), testId("step-analyze"), testId("step-state"))));
        waitUntil(Duration.ofSeconds(30), () -> "error".equals(attribute(testId("chat-status"), "data-status")));
        String failedRunId = lastAssistant().getAttribute("data-run-id");
        assertThat(browser.findElement(testId("chat-error")).getText())
                .contains("Step 'analyze' failed").contains("analysis backend unavailable").contains(failedRunId);
        assertThat(lastAssistant().findElement(testId("step-search")).getAttribute("data-state")).isEqualTo("done");
        assertThat(lastAssistant().findElement(testId("step-analyze")).getAttribute("data-state")).isEqualTo("failed");
        // The run as stored, read from GET /api/runs/{id}: the step that completed and the one that failed.
        waitUntil(Duration.ofSeconds(10), () -> "failed".equals(attribute(testId("stored-run"), "data-status")));
        assertThat(attribute(testId("stored-step-search"), "data-state")).isEqualTo("done");
        assertThat(attribute(testId("stored-step-analyze"), "data-state")).isEqualTo("failed");

        browser.findElement(testId("retry")).click();

        waitUntil(Duration.ofSeconds(30), () -> "ready".equals(attribute(testId("chat-status"), "data-status"))
                && !failedRunId.equals(lastAssistant().getAttribute("data-run-id"))
                && "done".equals(attribute(lastAssistant(), testId("answer"), "data-state")));
        assertThat(browser.findElements(testId("chat-error"))).isEmpty();
        assertThat(browser.findElements(testId("assistant-message"))).as("the failed answer was replaced").hasSize(1);
        String retriedRunId = lastAssistant().getAttribute("data-run-id");
        JsonNode retried = api.get("/api/runs/" + retriedRunId).body();
        assertThat(retried.path("status").asText()).isEqualTo("completed");
        assertThat(lastAssistant().findElement(testId("answer")).getDomProperty("textContent"))
                .isEqualTo(retried.path("output").path("respond").path("answer").asText());
        for (String step : STEPS) {
            assertThat(lastAssistant().findElement(testId("step-" + step)).getAttribute("data-state")).as(step).isEqualTo("done");
        }
        assertThat(api.get("/api/runs/" + failedRunId).body().path("status").asText()).isEqualTo("failed");
    }

    private void ask(String question) {
        browser.findElement(testId("question-input")).sendKeys(question);
        browser.findElement(testId("send")).click();
        waitUntil(Duration.ofSeconds(10), () -> !browser.findElements(testId("user-message")).isEmpty()
                && question.equals(browser.findElements(testId("user-message")).get(0).getText()));
    }

    /** The answer's length once it is longer than {@code than} and still streaming, or null until then. */
    private Integer streamingAnswerLength(int than) {
        List<WebElement> answers = browser.findElements(testId("answer"));
        if (answers.isEmpty() || !"streaming".equals(answers.get(0).getAttribute("data-state"))) {
            return null;
        }
        int length = answers.get(0).getDomProperty("textContent").length();
        return length > than ? length : null;
    }

    private WebElement lastAssistant() {
        List<WebElement> messages = browser.findElements(testId("assistant-message"));
        return messages.get(messages.size() - 1);
    }

    private String attribute(By element, String name) {
        List<WebElement> found = browser.findElements(element);
        return found.isEmpty() ? null : found.get(0).getAttribute(name);
    }

    private static String attribute(WebElement within, By element, String name) {
        List<WebElement> found = within.findElements(element);
        return found.isEmpty() ? null : found.get(0).getAttribute(name);
    }

    private static String text(WebElement within, By element, By child) {
        List<WebElement> found = within.findElements(element);
        return found.isEmpty() ? null : found.get(0).findElement(child).getText();
    }

    private <T> T waitFor(Supplier<T> value) {
        return newWait(Duration.ofSeconds(20)).until(driver -> value.get());
    }

    private void waitUntil(Duration timeout, BooleanSupplier condition) {
        newWait(timeout).until(driver -> condition.getAsBoolean());
    }

    private WebDriverWait newWait(Duration timeout) {
        WebDriverWait wait = new WebDriverWait(browser, timeout, Duration.ofMillis(50));
        wait.ignoring(StaleElementReferenceException.class).ignoring(IndexOutOfBoundsException.class);
        return wait;
    }

    private static By testId(String id) {
        return By.cssSelector("[data-testid='" + id + "']");
    }
}
