package io.github.pgflowchat.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import io.github.pgflowchat.chat.ChatRequest.ChatTurn;
import io.github.pgflowchat.web.ApiException;

class ChatRequestParserTest {

    private static final String JSON = "application/json";

    private final ChatRequestParser parser = new ChatRequestParser(new ObjectMapper(), 100, 250, 50);

    @Test
    void lastUserMessageIsTheQuestionEvenWhenAnAssistantMessageFollowsIt() {
        ChatRequest request = parser.parse(JSON, body(
                message("m1", "user", "first question"),
                message("m2", "assistant", "first answer"),
                message("m3", "user", "second question"),
                message("m4", "assistant", "answer in progress")));

        assertThat(request.question()).isEqualTo(new ChatTurn("m3", "user", "second question"));
        assertThat(request.chatId()).isEqualTo("chat-1");
    }

    @Test
    void textPartsAreConcatenatedAndOtherPartsAndUnknownFieldsIgnored() {
        String body = """
                {"id":"chat-1","unknown":{"nested":true},"metadata":{"x":1},
                 "messages":[{"id":"m1","role":"user","metadata":{"y":2},"parts":[
                   {"type":"text","text":"How do I "},
                   {"type":"file","mediaType":"image/png","url":"data:,"},
                   {"type":"reasoning","text":"not the question"},
                   {"type":"data-note","data":{"text":"nor this"}},
                   {"type":"text","text":"run the tests?","state":"done"}]}]}
                """;

        ChatRequest request = parser.parse(JSON, body);

        assertThat(request.question().text()).isEqualTo("How do I run the tests?");
    }

    @Test
    void triggerDefaultsToSubmitMessageAndRegenerateMessageIsAccepted() {
        ChatRequest submitted = parser.parse(JSON, body(message("m1", "user", "hi")));
        ChatRequest regenerated = parser.parse(JSON,
                "{\"id\":\"chat-1\",\"trigger\":\"regenerate-message\",\"messageId\":\"m9\",\"messages\":["
                        + message("m1", "user", "hi") + "]}");

        assertThat(submitted.trigger()).isEqualTo("submit-message");
        assertThat(submitted.messageId()).isNull();
        assertThat(regenerated.trigger()).isEqualTo("regenerate-message");
        assertThat(regenerated.messageId()).isEqualTo("m9");
    }

    @Test
    void historyKeepsTheTenNonBlankTurnsBeforeTheQuestionInOrder() {
        List<String> messages = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            messages.add(message("h" + i, i % 2 == 1 ? "user" : "assistant", "turn " + i));
        }
        messages.add(message("q", "user", "the question"));
        messages.add(message("late", "assistant", "after the question"));

        ChatRequest request = parser.parse(JSON, body(messages.toArray(String[]::new)));

        assertThat(request.history()).extracting(ChatTurn::text)
                .containsExactly("turn 3", "turn 4", "turn 5", "turn 6", "turn 7", "turn 8", "turn 9", "turn 10",
                        "turn 11", "turn 12");
        assertThat(request.history()).extracting(ChatTurn::role).startsWith("user", "assistant");
    }

    @Test
    void historyLeavesOutBlankTurnsAndTheQuestionItself() {
        ChatRequest request = parser.parse(JSON, body(
                message("m1", "user", "earlier"),
                message("m2", "assistant", "   "),
                "{\"id\":\"m3\",\"role\":\"assistant\",\"parts\":[{\"type\":\"step-start\"}]}",
                message("m4", "user", "the question")));

        assertThat(request.history()).containsExactly(new ChatTurn("m1", "user", "earlier"));
    }

    @Test
    void contentTypeOtherThanJsonIsRefusedWith415() {
        ApiException error = refused("text/plain", body(message("m1", "user", "hi")));

        assertThat(error.status()).isEqualTo(415);
        assertThat(error.code()).isEqualTo("unsupported_media_type");
    }

    @Test
    void contentTypeWithCharsetIsAccepted() {
        ChatRequest request = parser.parse("application/json; charset=utf-8", body(message("m1", "user", "hi")));

        assertThat(request.question().text()).isEqualTo("hi");
    }

    @Test
    void lookAlikeContentTypesAreRefused() {
        for (String contentType : List.of("application/jsonp", "application/json-patch+json", "not a media type")) {
            ApiException refused = catchThrowableOfType(ApiException.class, () -> parser.parse(contentType, "{}"));
            assertThat(refused).as(contentType).isNotNull();
            assertThat(refused.status()).isEqualTo(415);
        }
        assertThat(parser.parse("APPLICATION/JSON", body(message("m1", "user", "hello"))).question().text()).isEqualTo("hello");
    }

    @Test
    void blankBodyIsRefusedAsInvalidJson() {
        ApiException error = refused(JSON, "  \n ");

        assertThat(error.status()).isEqualTo(400);
        assertThat(error.code()).isEqualTo("invalid_json");
    }

    @Test
    void messageLengthIsMeasuredInCodePoints() {
        // 100 emoji are 200 UTF-16 chars but 100 characters for the user, so exactly at the limit.
        String hundredEmoji = "\uD83D\uDE00".repeat(100);

        ChatRequest atLimit = parser.parse(JSON, body(message("m1", "user", hundredEmoji)));
        ApiException overLimit = refused(JSON, body(message("m1", "user", hundredEmoji + "x")));

        assertThat(atLimit.question().text()).isEqualTo(hundredEmoji);
        assertThat(overLimit.status()).isEqualTo(413);
        assertThat(overLimit.code()).isEqualTo("message_too_long");
    }

    @Test
    void chatIdWithAControlCharacterIsRefused() {
        ApiException error = refused(JSON,
                "{\"id\":\"chat\\u0007one\",\"messages\":[" + message("m1", "user", "hi") + "]}");

        assertThat(error.status()).isEqualTo(400);
        assertThat(error.code()).isEqualTo("invalid_id");
    }

    @Test
    void everyMessageCountsTowardTheMessageLimitAndTheRefusalNamesIt() {
        ApiException error = refused(JSON, body(
                message("m1", "user", "x".repeat(101)),
                message("m2", "assistant", "an answer"),
                message("m3", "user", "a short question")));

        assertThat(error.status()).isEqualTo(413);
        assertThat(error.code()).isEqualTo("message_too_long");
        assertThat(error.getMessage()).startsWith("messages[0] ");
    }

    @Test
    void historyIsCutOldestFirstSoTheQuestionAndHistoryFitTheContextLimit() {
        // Context limit 250: a 50-character question leaves 200, room for the latest three turns of 60.
        List<String> messages = new ArrayList<>();
        for (int i = 1; i <= 8; i++) {
            messages.add(message("h" + i, i % 2 == 1 ? "user" : "assistant", (char) ('a' + i) + "x".repeat(59)));
        }
        messages.add(message("q", "user", "q".repeat(50)));

        ChatRequest request = parser.parse(JSON, body(messages.toArray(String[]::new)));

        assertThat(request.history()).extracting(ChatTurn::id).containsExactly("h6", "h7", "h8");
        int total = request.question().text().length() + request.history().stream().mapToInt(t -> t.text().length()).sum();
        assertThat(total).isLessThanOrEqualTo(250);
    }

    @Test
    void aContextLimitBelowTheMessageLimitIsRefusedAtStartUp() {
        IllegalArgumentException error = catchThrowableOfType(IllegalArgumentException.class,
                () -> new ChatRequestParser(new ObjectMapper(), 100, 99, 50));

        assertThat(error).hasMessageContaining("gateway.chat.max-context-chars");
    }

    @Test
    void messageIdsWithNulOrOtherControlCharactersAreRefused() {
        for (String id : List.of("m\\u0000", "m\\u001b[31m", "m\\n1")) {
            ApiException error = refused(JSON, body(message(id, "user", "hi")));

            assertThat(error.status()).as(id).isEqualTo(400);
            assertThat(error.code()).as(id).isEqualTo("invalid_message");
            assertThat(error.getMessage()).startsWith("messages[0].id ");
        }
    }

    @Test
    void unpairedSurrogatesInAnyIdAreRefused() {
        ApiException inChatId = refused(JSON, "{\"id\":\"chat\\ud800\",\"messages\":[" + message("m1", "user", "hi") + "]}");
        ApiException inMessageId = refused(JSON, "{\"id\":\"chat-1\",\"trigger\":\"regenerate-message\",\"messageId\":\"\\udc00m\","
                + "\"messages\":[" + message("m1", "user", "hi") + "]}");
        ApiException inMessagesId = refused(JSON, body(message("m\\udbff", "user", "hi")));

        assertThat(inChatId.code()).isEqualTo("invalid_id");
        assertThat(inMessageId.code()).isEqualTo("invalid_messageid");
        assertThat(inMessagesId.code()).isEqualTo("invalid_message");
        assertThat(List.of(inChatId, inMessageId, inMessagesId)).extracting(ApiException::status).containsOnly(400);
        assertThat(parser.parse(JSON, body(message("m\\ud83d\\ude00", "user", "a paired surrogate is text"))).question().id())
                .isEqualTo("m\uD83D\uDE00");
    }

    @Test
    void bytesAfterTheJsonObjectAreRefused() {
        String valid = body(message("m1", "user", "hi"));
        for (String trailing : List.of(" x", "{}", "{\"id\":\"chat-2\"}", "]")) {
            ApiException error = refused(JSON, valid + trailing);

            assertThat(error.status()).as(trailing).isEqualTo(400);
            assertThat(error.code()).as(trailing).isEqualTo("invalid_json");
        }
        assertThat(parser.parse(JSON, valid + " \n").chatId()).as("trailing whitespace is not content").isEqualTo("chat-1");
    }

    private ApiException refused(String contentType, String body) {
        ApiException error = catchThrowableOfType(ApiException.class, () -> parser.parse(contentType, body));
        assertThat(error).as("parse should refuse the request").isNotNull();
        return error;
    }

    private static String body(String... messages) {
        return "{\"id\":\"chat-1\",\"messages\":[" + String.join(",", messages) + "]}";
    }

    private static String message(String id, String role, String text) {
        return "{\"id\":\"" + id + "\",\"role\":\"" + role + "\",\"parts\":[{\"type\":\"text\",\"text\":\"" + text + "\"}]}";
    }
}
