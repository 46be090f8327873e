package io.github.pgflowchat.support;

import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The chat page as a test sees it: its elements by {@code data-testid}, and waits that poll the DOM (React replaces
 * elements as parts stream in, so a stale element is simply looked up again).
 */
public final class ChatPage {

    private final WebDriver browser;
    private final String url;

    public ChatPage(WebDriver browser, int port) {
        this.browser = browser;
        this.url = "http://127.0.0.1:" + port + "/";
    }

    public static By testId(String id) {
        return By.cssSelector("[data-testid='" + id + "']");
    }

    /** Opens the page and waits until it knows whether sign-in is needed (it shows either the chat or the form). */
    public void open() {
        browser.get(url);
        waitUntil(Duration.ofSeconds(20), () -> !browser.findElements(testId("question-input")).isEmpty()
                || !browser.findElements(testId("sign-in")).isEmpty());
    }

    public void startNewChat() {
        browser.findElement(testId("new-chat")).click();
        waitUntil(Duration.ofSeconds(5), () -> browser.findElements(testId("assistant-message")).isEmpty());
    }

    public void ask(String question) {
        browser.findElement(testId("question-input")).sendKeys(question);
        browser.findElement(testId("send")).click();
        waitUntil(Duration.ofSeconds(10), () -> browser.findElements(testId("user-message")).stream()
                .anyMatch(message -> question.equals(message.getText())));
    }

    /** useChat's status as the page shows it: submitted, streaming, ready or error. */
    public String status() {
        return attribute(testId("chat-status"), "data-status");
    }

    /** Waits until no answer is streaming and the last one is complete. */
    public void waitForFinishedAnswer(Duration timeout) {
        waitUntil(timeout, () -> "ready".equals(status()) && "done".equals(attribute(lastAssistant(), testId("answer"), "data-state")));
    }

    /** The streaming answer's length once it is longer than {@code than}, or null until then. */
    public Integer streamingAnswerLength(int than) {
        List<WebElement> answers = browser.findElements(testId("answer"));
        if (answers.isEmpty() || !"streaming".equals(answers.get(answers.size() - 1).getAttribute("data-state"))) {
            return null;
        }
        int length = answers.get(answers.size() - 1).getDomProperty("textContent").length();
        return length > than ? length : null;
    }

    public WebElement lastAssistant() {
        List<WebElement> messages = browser.findElements(testId("assistant-message"));
        return messages.get(messages.size() - 1);
    }

    public String answerText() {
        return lastAssistant().findElement(testId("answer")).getDomProperty("textContent");
    }

    public String attribute(By element, String name) {
        List<WebElement> found = browser.findElements(element);
        return found.isEmpty() ? null : found.get(0).getAttribute(name);
    }

    public static String attribute(WebElement within, By element, String name) {
        List<WebElement> found = within.findElements(element);
        return found.isEmpty() ? null : found.get(0).getAttribute(name);
    }

    public static String text(WebElement within, By element, By child) {
        List<WebElement> found = within.findElements(element);
        return found.isEmpty() ? null : found.get(0).findElement(child).getText();
    }

    public <T> T waitFor(Duration timeout, Supplier<T> value) {
        return newWait(timeout).until(driver -> value.get());
    }

    public void waitUntil(Duration timeout, BooleanSupplier condition) {
        newWait(timeout).until(driver -> condition.getAsBoolean());
    }

    private WebDriverWait newWait(Duration timeout) {
        WebDriverWait wait = new WebDriverWait(browser, timeout, Duration.ofMillis(50));
        wait.ignoring(StaleElementReferenceException.class).ignoring(IndexOutOfBoundsException.class);
        return wait;
    }
}
